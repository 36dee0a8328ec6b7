"""Price model speed: training on 1M rows, batch scoring throughput, and one `estimate` call's latency.

    uv run python bench/price_model.py [--rows 1000000]

Rows are the demo marketplace's ground truth (a known price process), enough days to reach --rows.
Last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from demo_market import Market, MarketConfig  # noqa: E402
from ml.price.estimate import estimate, load_model  # noqa: E402
from ml.price.registry import register  # noqa: E402
from ml.price.train import fit_price_model  # noqa: E402


def market_rows(rows: int) -> pd.DataFrame:
    days = 60
    per_day = max(1, rows // days)
    today = date(2026, 11, 1)
    market = Market(MarketConfig(seed=5, today=today, history_days=days, avito_per_day=per_day, moteur_per_day=1))
    truth = market.ground_truth("avito", today - timedelta(days=days - 1), today).head(rows)
    return truth.assign(listing_key="avito:" + truth["listing_id"].astype(str), model_year=truth["year"],
                        posted_date=pd.to_datetime(truth["posted_at"]).dt.date, scraped_at=truth["posted_at"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    listings = market_rows(args.rows)
    generate_s = time.perf_counter() - started

    started = time.perf_counter()
    model, valid = fit_price_model(listings, split="time")
    train_s = time.perf_counter() - started
    print(f"trained on {len(listings):,} rows in {train_s:.1f} s ({model.info['metrics']['rounds']} rounds)", flush=True)

    batch = listings.sample(200_000, random_state=1) if len(listings) > 200_000 else listings
    started = time.perf_counter()
    model.score(batch, explain=False)
    plain_rate = len(batch) / (time.perf_counter() - started)
    started = time.perf_counter()
    model.score(batch.head(20_000), explain=True)
    explained_rate = min(len(batch), 20_000) / (time.perf_counter() - started)

    with tempfile.TemporaryDirectory() as tmp:
        register(model, valid, listings[listings["listing_key"].isin(valid["listing_key"])], Path(tmp))
        load_model(Path(tmp))
        cars = listings.sample(500, random_state=2)
        fields = ["brand", "model", "model_year", "mileage_km", "fuel", "gearbox", "fiscal_power", "origin",
                  "condition", "first_owner", "doors", "city", "seller_type", "source", "price_dh"]
        requests = [{k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()} for row in cars[fields].to_dict("records")]
        estimate(requests[0], root=Path(tmp))  # warm-up
        latencies = []
        for request in requests:
            t = time.perf_counter()
            estimate(request, root=Path(tmp))
            latencies.append(time.perf_counter() - t)
    p50, p99 = np.percentile(latencies, [50, 99]) * 1000
    print(json.dumps({
        "rows": len(listings), "train_s": round(train_s, 1), "generate_s": round(generate_s, 1),
        "rounds": model.info["metrics"]["rounds"], "valid_median_ape": round(model.info["metrics"]["median_ape"], 4),
        "train_stages_s": model.info["metrics"]["stage_seconds"], "prior_weight": model.info["metrics"]["prior_weight"],
        "cross_fit_folds": model.info["metrics"]["cross_fit_folds"],
        "score_rows_per_s": round(plain_rate), "score_explained_rows_per_s": round(explained_rate),
        "estimate_p50_ms": round(p50, 2), "estimate_p99_ms": round(p99, 2),
    }))


if __name__ == "__main__":
    main()
