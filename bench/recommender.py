"""Recommender benchmark: quality against popularity, training time and memory, and serving latency.

Usage: uv run python bench/recommender.py [--listings 100000] [--users 50000]
The demo market generates the listings (30 days, both sites), the synthetic population interacts with
them, the evaluation holds out each user's last session, and latency is measured in process on the
model trained on everything. The last line printed is one JSON object of the figures.
"""

import argparse
import json
import resource
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

# this checkout's code, not the one the venv has installed (a git worktree of an older commit, say)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from demo_market import Market, MarketConfig  # noqa: E402
from ml.recommender import InteractionConfig, evaluate, generate_interactions, train_recommender  # noqa: E402

TODAY = date(2026, 11, 1)
DAYS = 30


def market_listings(n: int) -> pd.DataFrame:
    """About n listings over 30 days, shaped like fct_listings; a tenth are no longer active."""
    per_day = n / DAYS
    market = Market(MarketConfig(seed=17, today=TODAY, history_days=DAYS - 1, avito_per_day=int(per_day * 0.75), moteur_per_day=int(per_day * 0.25)))
    truth = pd.concat([market.ground_truth(s, TODAY - timedelta(days=DAYS - 1), TODAY) for s in ("avito", "moteur")], ignore_index=True)
    cities = truth["city"].value_counts().index
    regions = {city: f"region-{i % 12}" for i, city in enumerate(cities)}
    frame = truth.assign(
        listing_key=truth["source"] + ":" + truth["listing_id"],
        model_year=truth["year"],
        posted_date=pd.to_datetime(truth["posted_at"]).dt.date,
        region=truth["city"].map(regions),
    )
    frame["is_active"] = np.random.default_rng(1).random(len(frame)) > 0.1
    return frame


def latency_ms(call, requests: list) -> tuple[float, float]:
    timings = []
    for request in requests:
        started = time.perf_counter()
        call(request)
        timings.append((time.perf_counter() - started) * 1000)
    return float(np.percentile(timings, 50)), float(np.percentile(timings, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--eval-users", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()

    started = time.perf_counter()
    listings = market_listings(args.listings)
    personas, interactions = generate_interactions(listings, InteractionConfig(users=args.users, seed=11))
    generate_s = time.perf_counter() - started
    print(f"{len(listings)} listings, {len(personas)} users, {len(interactions)} events in {generate_s:.1f} s", flush=True)

    table = evaluate(listings, interactions, max_users=args.eval_users).set_index(["segment", "method"])
    print(table.round(4).to_string(), flush=True)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    model = train_recommender(listings, interactions)
    train_s = time.perf_counter() - started
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    rng = np.random.default_rng(0)
    users = rng.choice(personas["user_id"].to_numpy(), size=args.requests)
    filters = [None, {"max_price": 200_000}, {"city": "Casablanca"}, {"fuel": "Diesel", "max_price": 150_000}]
    user_requests = [(u, filters[i % len(filters)]) for i, u in enumerate(users)]
    active_keys = listings.loc[listings["is_active"], "listing_key"].to_numpy()
    items = rng.choice(active_keys, size=args.requests)
    model.recommend_for_user(users[0], 10)  # warm caches once
    p50_user, p99_user = latency_ms(lambda r: model.recommend_for_user(r[0], 10, r[1]), user_requests)
    p50_similar, p99_similar = latency_ms(lambda key: model.similar_listings(key, 10), items)

    def ndcg(segment: str, method: str) -> float:
        return round(float(table.loc[(segment, method), "ndcg"]), 4)

    print(
        json.dumps(
            {
                "listings": len(listings),
                "active_listings": int(listings["is_active"].sum()),
                "users": len(personas),
                "events": len(interactions),
                "ndcg10_hybrid": ndcg("all", "hybrid"),
                "ndcg10_content": ndcg("all", "content"),
                "ndcg10_collaborative": ndcg("all", "collaborative"),
                "ndcg10_popularity": ndcg("all", "popularity"),
                "ndcg10_hybrid_cold_users": ndcg("cold_users", "hybrid"),
                "ndcg10_popularity_cold_users": ndcg("cold_users", "popularity"),
                "ndcg10_hybrid_cold_items": ndcg("cold_items", "hybrid"),
                "ndcg10_popularity_cold_items": ndcg("cold_items", "popularity"),
                "hr10_hybrid": round(float(table.loc[("all", "hybrid"), "hr"]), 4),
                "coverage_hybrid": round(float(table.loc[("all", "hybrid"), "coverage"]), 4),
                "coverage_popularity": round(float(table.loc[("all", "popularity"), "coverage"]), 4),
                "hybrid_weights": list(model.weights),
                "train_s": round(train_s, 1),
                "peak_rss_mb": round(peak_rss_mb),
                "rss_before_train_mb": round(rss_before / 1024),
                "p50_ms_user": round(p50_user, 2),
                "p99_ms_user": round(p99_user, 2),
                "p50_ms_similar": round(p50_similar, 2),
                "p99_ms_similar": round(p99_similar, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
