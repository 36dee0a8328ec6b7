"""Path contributions: a gather from a per-leaf table that must add up to LightGBM's own prediction."""

import lightgbm as lgb
import numpy as np
import pytest

from ml.price.attribution import PathAttribution


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3000, 4))
    # x0 matters most, x1 a little, x2 interacts with x0, x3 is noise the trees never need
    y = 3 * x[:, 0] + 0.5 * x[:, 1] + np.where(x[:, 0] > 0, x[:, 2], 0) + rng.normal(scale=0.05, size=len(x))
    return x, y


def train(x, y, **params):
    return lgb.train({"objective": "regression", "num_leaves": 15, "learning_rate": 0.1, "verbose": -1,
                      "min_data_in_leaf": 20, **params}, lgb.Dataset(x, y), num_boost_round=120)


def test_contributions_add_up_to_the_prediction_with_treeshap_base(data):
    x, y = data
    booster = train(x, y, lambda_l2=1.0)
    got = PathAttribution(booster).contributions(x[:500])
    shap = booster.predict(x[:500], pred_contrib=True)
    assert got.shape == shap.shape == (500, 5)
    np.testing.assert_allclose(got.sum(axis=1), booster.predict(x[:500]), atol=1e-9)
    np.testing.assert_allclose(got[:, -1], shap[:, -1], atol=1e-9)  # the training mean, not LightGBM's node values
    # Credit lands where TreeSHAP puts it: x0 dominates, x3 gets next to nothing.
    assert np.corrcoef(got[:, 0], shap[:, 0])[0, 1] > 0.99
    assert np.abs(got[:, 0]).mean() > 5 * np.abs(got[:, 1]).mean()
    assert np.abs(got[:, 3]).mean() < 0.02


def test_one_row_equals_its_row_in_a_batch(data):
    x, y = data
    attribution = PathAttribution(train(x, y))
    batch = attribution.contributions(x[:200])
    for i in (0, 63, 64, 199):  # both sides of a gather chunk
        np.testing.assert_allclose(attribution.contributions(x[i:i + 1])[0], batch[i], atol=1e-12)


def test_a_one_leaf_tree_is_all_base_value():
    x = np.zeros((50, 2))
    booster = lgb.train({"objective": "regression", "verbose": -1}, lgb.Dataset(x, np.full(50, 7.0)), num_boost_round=3)
    got = PathAttribution(booster).contributions(x[:3])
    np.testing.assert_allclose(got, [[0.0, 0.0, 7.0]] * 3, atol=1e-9)
