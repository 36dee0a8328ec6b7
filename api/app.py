"""The AutoList REST API: the serving snapshot's listings and marts, estimates and recommendations, as JSON.

    make api                      # http://127.0.0.1:8000/docs
    uvicorn api.app:app           # the same app

AUTOLIST_API_RATE_PER_S (default 20, 0 turns it off) and AUTOLIST_API_BURST (default twice the rate) set the
per-client rate limit.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse

from api import store
from api.ratelimit import RateLimitMiddleware, TokenBucket
from api.routes import router
from autolist_assets.snapshot import SnapshotMissing

DESCRIPTION = """Read-only access to AutoList's market intelligence on Morocco's used-car classifieds (Avito.ma,
Moteur.ma): listings with their estimates and deal ratings, price estimates for any car, recommendations, and the
market marts. Everything is read from the pipeline's latest serving snapshot; a new snapshot is picked up as soon
as it is published. Prices are in Moroccan dirhams (DH)."""


def _warm() -> None:
    """Load the models and open the snapshot before the first request, when they exist."""
    for load in (store.price_model, store.recommender, store.health):
        try:
            load()
        except (store.ModelMissing, SnapshotMissing):
            pass


def create_app(rate_per_s: float | None = None, burst: int | None = None, clock: Callable[[], float] | None = None,
               warm: bool = True) -> FastAPI:
    """The app; the rate limit comes from the arguments, else from the environment. `warm` loads the models
    and opens the snapshot at start-up rather than on the first request."""

    @asynccontextmanager
    async def _lifespan(app: FastAPI):
        if warm:
            _warm()
        yield

    rate = float(os.environ.get("AUTOLIST_API_RATE_PER_S", "20")) if rate_per_s is None else rate_per_s
    if burst is None:
        burst = int(os.environ.get("AUTOLIST_API_BURST") or max(1, round(2 * rate)))
    app = FastAPI(title="AutoList API", version="1.0.0", description=DESCRIPTION, lifespan=_lifespan)
    app.include_router(router)

    @app.exception_handler(SnapshotMissing)
    @app.exception_handler(store.ModelMissing)
    async def not_ready(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse(status_code=503, content={"detail": str(error)}, headers={"Retry-After": "60"})

    @app.get("/", include_in_schema=False)
    def root():
        return RedirectResponse("/docs")

    if rate > 0:
        app.add_middleware(RateLimitMiddleware, bucket=TokenBucket(rate, burst, **({"clock": clock} if clock else {})))
    return app


app = create_app()
