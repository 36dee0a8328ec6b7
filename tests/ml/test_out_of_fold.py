"""Deal ratings of listings the model trained on come from the fold model that never saw them."""

import numpy as np
import pandas as pd

from ml.price.train import fit_price_model
from tests.ml.conftest import market_listings


def test_a_listing_is_rated_by_a_model_that_did_not_train_on_it_and_ratings_spread():
    listings = market_listings(seed=8, days=15, per_day=70)
    # A common car asking half its market price: a bargain, but not so far off that training would
    # discard it as a typo (the cut is 3×), so the final model does learn from it.
    usual = listings[listings["source"] == "avito"].groupby("model")["price_dh"].transform("size")
    car = listings[listings["source"] == "avito"].loc[usual.sort_values().index[-1]]
    same = listings[(listings["model"] == car["model"]) & (listings["model_year"] == car["model_year"])]
    bargain = car.copy()
    bargain["listing_key"] = "avito:injected-bargain"
    bargain["price_dh"] = round(0.5 * float(same["price_dh"].median()))
    listings = pd.concat([listings, bargain.to_frame().T], ignore_index=True).astype({"price_dh": "float64"})
    model, _ = fit_price_model(listings, max_rounds=250, params={"num_threads": 1})

    assert model.info["metrics"]["typo_rows_left_out"] < 0.01 * len(listings)
    assert len(model.folds) == 5
    route = model.routes(["avito:injected-bargain", "avito:never-seen"])
    assert route[0] >= 0 and route[1] == -1  # trained on → its fold model; unknown → the final model

    injected = listings.tail(1)
    out_of_fold = model.score(injected).iloc[0]
    in_sample = model.score(injected.assign(listing_key="as-a-new-listing")).iloc[0]
    assert out_of_fold["deal_rating"] == "great", out_of_fold["rating_rule"]
    # The final model has seen the bargain and pulls its estimate towards it; the fold model has not.
    assert out_of_fold["predicted_price_dh"] > in_sample["predicted_price_dh"]
    assert out_of_fold["price_percentile"] < in_sample["price_percentile"]
    # A listing is never its own comparable.
    assert "avito:injected-bargain" not in out_of_fold["comparables"]

    scored = model.score(listings, explain=False)
    shares = scored["deal_rating"].value_counts(normalize=True)
    assert scored["deal_rating"].notna().mean() > 0.6
    # Out-of-fold ratings spread like the predictive distribution (10/20/40/20/10), not "fair" for all.
    assert 0.3 < shares["fair"] < 0.55, shares.to_dict()
    for band in ("great", "good", "high", "overpriced"):
        assert shares[band] > 0.05, shares.to_dict()
    assert np.isclose(shares[["great", "good"]].sum(), shares[["high", "overpriced"]].sum(), atol=0.12)
