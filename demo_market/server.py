"""Serve the two look-alike sites on 127.0.0.1, one HTTP server each so paths match the real sites."""

from __future__ import annotations

import random
import socket
import struct
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from demo_market import avito_site, moteur_site
from demo_market.market import Market
from demo_market.pages import Page, cloudflare_challenge


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it: when (monotonic and wall clock), what, and which fault it got."""

    at: float
    wall: float
    path: str
    user_agent: str
    outcome: str  # the status sent, or the fault: "reset", "truncated", "slow" (answered late)

SiteHandler = Callable[[Market, str, str], Page]


class _SiteServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows which site it renders."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], market: Market, site: SiteHandler, seed: str):
        self.market = market
        self.site = site
        self.requests: list[RequestRecord] = []
        self._recent: deque[float] = deque()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def draw_fault(self, path: str) -> str | None:
        """The transport fault this request gets, if any (robots.txt is always served)."""
        faults = self.market.config.faults
        if not faults.transport or path.startswith("/robots.txt"):
            return None
        with self._lock:
            now = time.monotonic()
            self._recent.append(now)
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if faults.rate_limit_per_s and len(self._recent) > faults.rate_limit_per_s:
                return "429"
            draw = self._rng.random()
        for name, share in (("429", faults.too_many_requests), ("cloudflare", faults.cloudflare),
                            ("5xx", faults.server_errors), ("slow", faults.slow), ("reset", faults.resets),
                            ("truncated", faults.truncated)):
            if draw < share:
                return name
            draw -= share
        return None

    def record(self, arrived: tuple[float, float], path: str, user_agent: str, outcome: str) -> None:
        with self._lock:
            self.requests.append(RequestRecord(arrived[0], arrived[1], path, user_agent, outcome))


class _RequestHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 handler delegating to the site renderer."""

    protocol_version = "HTTP/1.1"
    server_version = "DemoMarket/0.1"
    timeout = 30  # idle keep-alive connections give their thread back
    disable_nagle_algorithm = True  # headers and body go out in two writes; Nagle would delay the second

    def _answer(self, with_body: bool) -> None:
        server: _SiteServer = self.server  # type: ignore[assignment]
        base = f"http://{self.headers.get('Host') or '%s:%d' % server.server_address[:2]}"
        arrived = (time.monotonic(), time.time())  # arrival, not answer, time: rate limits are about arrivals
        fault = server.draw_fault(self.path)
        user_agent = self.headers.get("User-Agent", "")
        if fault == "reset":
            server.record(arrived, self.path, user_agent, "reset")
            # linger 0 makes close() send a TCP RST, as an overloaded proxy does
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if fault == "slow":
            server.record(arrived, self.path, user_agent, "slow")  # before sleeping: the client may give up first
            time.sleep(server.market.config.faults.slow_s)
        if fault == "429":
            retry_after = str(server.market.config.faults.retry_after_s)
            page = Page(429, "text/html; charset=utf-8", b"<html><body><h1>Too Many Requests</h1></body></html>",
                        (("Retry-After", retry_after),))
        elif fault == "cloudflare":
            page = cloudflare_challenge()
        elif fault == "5xx":
            status = (500, 502, 503)[len(server.requests) % 3]
            page = Page(status, "text/html; charset=utf-8", b"<html><body><h1>Server error</h1></body></html>")
        else:
            try:
                page = server.site(server.market, self.path, base)
            except Exception:  # a rendering bug must show up, but not kill the server
                traceback.print_exc(file=sys.stderr)
                page = Page(500, "text/plain; charset=utf-8", b"internal error")
        if fault != "slow":
            server.record(arrived, self.path, user_agent, "truncated" if fault == "truncated" else str(page.status))
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        self.send_header("Cache-Control", "no-cache")
        for name, value in page.headers:
            self.send_header(name, value)
        if fault == "truncated":
            self.end_headers()
            self.wfile.write(page.body[: len(page.body) // 2])
            self.close_connection = True
        else:
            # headers and body in one write: one send and one wake-up of the client per page instead of two
            self._headers_buffer.append(b"\r\n")
            self.wfile.write(b"".join([*self._headers_buffer, page.body if with_body else b""]))
            self._headers_buffer = []

    def date_time_string(self, timestamp=None) -> str:
        """The Date header follows the simulated clock, so relative dates on pages agree with it."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        server: _SiteServer = self.server  # type: ignore[assignment]
        return super().date_time_string(server.market.now().timestamp())

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        self._answer(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(with_body=False)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # quiet: scrapes make thousands of requests


class DemoMarketServer:
    """Both demo sites in daemon threads; port 0 picks a free port."""

    def __init__(self, market: Market, host: str = "127.0.0.1", avito_port: int = 0, moteur_port: int = 0,
                 fault_seed: int = 0):
        self.market = market
        self.fault_seed = fault_seed
        self.host = host
        self._ports = {"avito": avito_port, "moteur": moteur_port}
        self._servers: dict[str, _SiteServer] = {}
        self._threads: list[threading.Thread] = []

    def start(self) -> "DemoMarketServer":
        """Bind both ports and start serving."""
        if self._servers:
            return self
        for name, site in (("avito", avito_site.handle), ("moteur", moteur_site.handle)):
            server = _SiteServer((self.host, self._ports[name]), self.market, site, f"{self.fault_seed}:{name}")
            thread = threading.Thread(target=server.serve_forever, name=f"demo-{name}", daemon=True)
            thread.start()
            self._servers[name] = server
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving and release the ports."""
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def _url(self, name: str) -> str:
        if name not in self._servers:
            raise RuntimeError("DemoMarketServer is not started")
        host, port = self._servers[name].server_address[:2]
        return f"http://{host}:{port}"

    def requests(self, name: str) -> list[RequestRecord]:
        """Every request the site `name` received so far, in arrival order (for politeness tests)."""
        return list(self._servers[name].requests)

    @property
    def avito_url(self) -> str:
        """Base URL of the avito look-alike, without trailing slash."""
        return self._url("avito")

    @property
    def moteur_url(self) -> str:
        """Base URL of the moteur look-alike, without trailing slash."""
        return self._url("moteur")

    def __enter__(self) -> "DemoMarketServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
