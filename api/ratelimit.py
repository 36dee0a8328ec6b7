"""A per-client token bucket in front of the API: over the limit, a 429 with Retry-After and a JSON reason."""

from __future__ import annotations

import math
import time
from typing import Callable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

# The docs and the schema are what a client reads to learn the API; they are never limited.
EXEMPT = ("/docs", "/redoc", "/openapi.json")


class TokenBucket:
    """`rate` tokens a second per client, at most `burst` saved up. One event loop calls it, so no lock."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000):
        self.rate, self.burst, self.clock, self.max_clients = rate, burst, clock, max_clients
        self.buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, at)

    def take(self, client: str) -> float:
        """0 when the request may go ahead, else the seconds until a token is back."""
        now = self.clock()
        tokens, at = self.buckets.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._put(client, tokens - 1.0, now)
            return 0.0
        self._put(client, tokens, now)
        return (1.0 - tokens) / self.rate

    def _put(self, client: str, tokens: float, now: float) -> None:
        if client not in self.buckets and len(self.buckets) >= self.max_clients:
            # Clients idle long enough to have refilled hold no state worth keeping.
            full = [c for c, (t, at) in self.buckets.items() if t + (now - at) * self.rate >= self.burst]
            for c in full:
                del self.buckets[c]
        self.buckets[client] = (tokens, now)


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, bucket: TokenBucket):
        self.app, self.bucket = app, bucket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.bucket.take(client[0] if client else "unknown")
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        response = JSONResponse(
            status_code=429,
            content={
                "detail": f"Too many requests: this API allows {self.bucket.rate:g} requests a second per client "
                          f"(bursts of {self.bucket.burst}). Retry in {retry_after} s.",
                "limit_per_s": self.bucket.rate,
                "burst": self.bucket.burst,
                "retry_after_s": retry_after,
            },
            headers={"Retry-After": str(retry_after)},
        )
        await response(scope, receive, send)
