"""The price model learns the demo market's pricing and survives a save/load round trip."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from demo_market import Market, MarketConfig
from ml.price_model import PriceModel, regression_metrics, score_listings, train_price_model


@pytest.fixture(scope="module")
def listings() -> pd.DataFrame:
    """Thirty days of the marketplace's truth, shaped like fct_listings."""
    today = date(2026, 11, 1)
    market = Market(MarketConfig(seed=3, today=today, history_days=30, avito_per_day=80, moteur_per_day=30))
    frames = [market.ground_truth(source, today - timedelta(days=29), today) for source in ("avito", "moteur")]
    truth = pd.concat(frames, ignore_index=True)
    return truth.assign(
        listing_key=truth["source"] + ":" + truth["listing_id"],
        model_year=truth["year"],
        posted_date=pd.to_datetime(truth["posted_at"]).dt.date,
        region=None,
    )


def test_model_beats_predicting_the_median_by_far(listings):
    model = train_price_model(listings)
    assert model.metrics["valid_rows"] == pytest.approx(0.2 * len(listings), abs=1)
    # The market prices cars from brand, model, age and mileage plus noise: the model must find that.
    assert model.metrics["r2_log"] > 0.7
    assert model.metrics["median_ape"] < 0.2
    naive = regression_metrics(listings["price_dh"], np.full(len(listings), listings["price_dh"].median()))
    assert model.metrics["mae_dh"] < 0.5 * naive["mae_dh"]


def test_saved_model_predicts_identically_after_loading(listings, tmp_path):
    model = train_price_model(listings)
    model.save(tmp_path)
    loaded = PriceModel.load(tmp_path)
    assert loaded.version == model.version
    np.testing.assert_allclose(loaded.predict(listings.head(50)), model.predict(listings.head(50)))
    scored = score_listings(loaded, listings.head(5))
    assert list(scored.columns) == ["listing_key", "predicted_price_dh", "price_gap_pct", "model_version", "scored_on"]
    assert (scored["predicted_price_dh"] > 1000).all()


def test_unseen_category_is_scored_not_rejected(listings):
    model = train_price_model(listings)
    odd = listings.head(1).assign(brand="Lada", model="Niva", city="Smara")
    assert model.predict(odd)[0] > 0


def test_too_few_priced_listings_is_a_clear_error(listings):
    with pytest.raises(ValueError, match="at least 50 priced listings, got 10"):
        train_price_model(listings.head(10))
