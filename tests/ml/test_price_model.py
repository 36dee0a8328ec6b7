"""The price model learns the demo market, its ranges cover what they claim, and it ranks candidates."""

import numpy as np
import pytest

from ml.price.conformal import GRID
from ml.price.metrics import regression_metrics, segment_metrics
from ml.price.model import PREDICTION_COLUMNS
from ml.price.rating import rate, rate_many
from ml.price.train import (
    LGB_PARAMS, compare_candidates, fit_and_compare, fit_price_model, size_params, training_rows,
)
from tests.ml.conftest import market_listings


def test_model_beats_predicting_the_median_by_far(listings, trained):
    model, valid = trained
    metrics = model.info["metrics"]
    learnable = len(training_rows(listings))
    assert learnable > 0.9 * len(listings)
    assert metrics["valid_rows"] == pytest.approx(0.2 * learnable, abs=1)
    # The market prices cars from brand, model, age and mileage plus noise: the model must find that.
    assert metrics["r2_log"] > 0.7
    assert metrics["median_ape"] < 0.2
    naive = regression_metrics(listings["price_dh"], np.full(len(listings), listings["price_dh"].median()))
    assert metrics["mae_dh"] < 0.5 * naive["mae_dh"]
    # Validation is the most recent fifth: the split is by time.
    valid_keys = set(valid["listing_key"])
    latest = training_rows(listings).sort_values("posted_at")["listing_key"].tail(len(valid_keys))
    assert set(latest) == valid_keys


def test_ninety_percent_ranges_cover_about_ninety_percent_of_new_listings(trained):
    model, _ = trained
    later = market_listings(seed=11, days=10, per_day=60)
    scored = model.score(later, explain=False)
    inside = (later["price_dh"] >= scored["low_90_dh"]) & (later["price_dh"] <= scored["high_90_dh"])
    inside_80 = (later["price_dh"] >= scored["low_80_dh"]) & (later["price_dh"] <= scored["high_80_dh"])
    assert 0.84 <= inside.mean() <= 0.97
    assert 0.72 <= inside_80.mean() < inside.mean()
    assert (scored["low_90_dh"] <= scored["low_80_dh"]).all() and (scored["high_80_dh"] <= scored["high_90_dh"]).all()


def test_scores_carry_estimate_range_rating_and_explanation(listings, trained):
    model, _ = trained
    scored = model.score(listings.head(40))
    assert list(scored.columns) == PREDICTION_COLUMNS
    assert (scored["predicted_price_dh"] > 1000).all()
    assert set(scored["deal_rating"].dropna()) <= {"great", "good", "fair", "high", "overpriced"}
    assert scored["deal_rating"].notna().sum() > 20
    assert scored["rating_rule"].str.len().gt(0).all()
    # Cheaper-than-estimate listings rate better than dearer ones.
    order = {"great": 0, "good": 1, "fair": 2, "high": 3, "overpriced": 4}
    rated = scored.dropna(subset=["deal_rating"])
    assert np.corrcoef(rated["deal_rating"].map(order), rated["price_gap_pct"])[0, 1] > 0.7


def test_unseen_brand_is_scored_not_rejected(listings, trained):
    model, _ = trained
    odd = listings.head(1).assign(brand="Lada", model="Niva", city="Smara")
    scored = model.score(odd).iloc[0]
    assert scored["predicted_price_dh"] > 0
    assert scored["deal_rating"] is None and scored["rating_rule"].startswith("too few comparables")


def test_the_step_grows_with_the_training_set():
    # Small sets (the real datasets of #5) keep the base step; tens of thousands double it; a million take the
    # large step with wider trees.
    assert size_params(25_000) == {} and LGB_PARAMS["learning_rate"] == 0.03
    assert size_params(42_000) == {"learning_rate": 0.06}
    assert size_params(200_000) == {"learning_rate": 0.06}
    assert size_params(674_794)["learning_rate"] == 0.15 and size_params(674_794)["num_leaves"] == 127


def test_too_few_priced_listings_is_a_clear_error(listings):
    with pytest.raises(ValueError, match="at least 50 priced listings, got 10"):
        fit_price_model(listings.head(10))


def test_segments_cover_overall_brand_price_and_age_bands(trained):
    _, valid = trained
    segments = segment_metrics(valid)
    assert {"overall", "brand", "price band", "age band"} == set(segments["segment"])
    overall = segments[segments["segment"] == "overall"].iloc[0]
    assert overall["rows"] == len(valid)
    assert segments.groupby("segment")["rows"].sum().eq(len(valid)).all()
    assert 0.0 <= overall["coverage_90"] <= 1.0


def test_candidates_are_compared_on_the_same_split(listings):
    table = compare_candidates(listings, only=["lightgbm", "linear_ridge"])
    assert set(table["candidate"]) == {"lightgbm", "linear_ridge"}
    assert (table["rows"] == table["rows"].iloc[0]).all()
    # Both learn the market's price process, and the table is ranked by median APE.
    assert (table["r2_log"] > 0.8).all()
    assert table["median_ape"].is_monotonic_increasing


def test_candidates_compared_beside_the_training_give_what_each_gives_alone(listings, trained):
    model, valid, table = fit_and_compare(listings, listings.sample(n=1500, random_state=7), max_rounds=300,
                                          params={"num_threads": 1}, only=["lightgbm", "linear_ridge"])
    alone = compare_candidates(listings.sample(n=1500, random_state=7), only=["lightgbm", "linear_ridge"])
    assert model.booster.model_to_string() == trained[0].booster.model_to_string()
    assert valid.equals(trained[1])
    assert table["candidate"].tolist() == alone["candidate"].tolist()
    assert table["mae_dh"].tolist() == pytest.approx(alone["mae_dh"].tolist(), rel=1e-9)
    assert table["median_ape"].iloc[0] < 0.3  # both learn the market, on a sample of its own


def test_unscorable_rows_count_as_full_errors():
    metrics = regression_metrics([100_000, 200_000], [100_000, np.nan], scored=[True, False])
    assert metrics["median_ape"] == pytest.approx(0.5) and metrics["mape"] == pytest.approx(0.5)
    assert metrics["mae_dh"] == pytest.approx(100_000)


def test_a_candidate_stopped_by_its_iteration_cap_is_noted_in_the_table_not_warned(listings, monkeypatch):
    import warnings

    import sklearn.neural_network
    from sklearn.exceptions import ConvergenceWarning

    class CappedMLP(sklearn.neural_network.MLPRegressor):
        def __init__(self, **params):
            super().__init__(**{**params, "max_iter": 2, "early_stopping": False})

    monkeypatch.setattr(sklearn.neural_network, "MLPRegressor", CappedMLP)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        table = compare_candidates(listings, only=["mlp", "linear_ridge"]).set_index("candidate")
    assert table.loc["mlp", "note"] == "stopped at its iteration cap before converging"
    assert table.loc["linear_ridge", "note"] == ""
    assert np.isfinite(table.loc["mlp", "median_ape"])


def test_price_percentiles_are_each_residual_read_on_its_own_bands_grid(trained):
    # scoring reads a band's grid for all its rows at once; row by row is the definition it must equal
    conformal = trained[0].conformal
    assert len(conformal.grids) > 1
    rng = np.random.default_rng(3)
    log_pred = rng.normal(np.mean(conformal.edges), 0.8, 5000)
    log_ask = log_pred + rng.normal(0, 0.3, log_pred.size)
    log_ask[::50], log_ask[::70], log_ask[::90] = np.nan, -np.inf, log_pred[::90] + 4  # no price, a zero, far above
    bands = conformal.band(log_pred)
    expected = [np.interp(a - p, conformal.grids[b], GRID) if np.isfinite(a - p) else np.nan
                for p, a, b in zip(log_pred, log_ask, bands)]
    assert np.array_equal(conformal.percentile(log_pred, log_ask), np.array(expected), equal_nan=True)
    assert len(set(bands)) == len(conformal.grids)


def test_deal_ratings_of_a_batch_are_each_rows_rating_and_rule():
    # rate_many works a column at a time; rate() on each row is the definition, edge cases included
    rng = np.random.default_rng(5)
    n = 4000
    percentile = rng.random(n)
    percentile[::7] = np.arange(0, 1.0001, 0.005)[rng.integers(0, 201, percentile[::7].size)]  # halves round to even
    percentile[::11], percentile[::13] = np.nan, 1.0
    width = rng.random(n) * 1.5
    count = rng.integers(0, 12, n)
    asked = [float(a) for a in rng.random(n) * 300_000]
    asked[::17], asked[::19], asked[::23] = [None] * len(asked[::17]), [0.0] * len(asked[::19]), [np.nan] * len(asked[::23])
    ratings, rules = rate_many(percentile, width, count, asked)
    expected = [rate(float(p), float(w), int(c), None if a is None or np.isnan(a) else a)
                for p, w, c, a in zip(percentile, width, count, asked)]
    assert ratings == [r for r, _ in expected] and rules == [why for _, why in expected]
    assert {"great", "good", "fair", "high", "overpriced", None} <= set(ratings)
