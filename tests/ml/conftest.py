"""Demo-market truth shaped like fct_listings: a known price process to learn."""

from datetime import date, timedelta

import pandas as pd
import pytest

from demo_market import Market, MarketConfig


def market_listings(seed: int = 3, days: int = 30, per_day: int = 80) -> pd.DataFrame:
    today = date(2026, 11, 1)
    market = Market(MarketConfig(seed=seed, today=today, history_days=days, avito_per_day=per_day, moteur_per_day=30))
    frames = [market.ground_truth(source, today - timedelta(days=days - 1), today) for source in ("avito", "moteur")]
    truth = pd.concat(frames, ignore_index=True)
    return truth.assign(
        listing_key=truth["source"] + ":" + truth["listing_id"],
        model_year=truth["year"],
        posted_date=pd.to_datetime(truth["posted_at"]).dt.date,
        scraped_at=pd.to_datetime(truth["posted_at"]),
        region=None,
    ).drop(columns=["year"])


@pytest.fixture(scope="session")
def listings() -> pd.DataFrame:
    return market_listings()


@pytest.fixture(scope="session")
def trained(listings):
    from ml.price.train import fit_price_model

    # Capped rounds keep the suite fast; the benchmarks train to convergence.
    return fit_price_model(listings, max_rounds=300, params={"num_threads": 1})
