"""The recommender recovers synthetic buyers' hidden tastes, respects filters and never shows inactive listings."""

import dataclasses
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from demo_market import Market, MarketConfig
from ml.recommender import (
    LISTING_COLUMNS, InteractionConfig, Recommender, evaluate, evaluate_and_train, generate_interactions, train_recommender,
)
from ml.recommender.model import AGE_BANDS, CATEGORICAL, PRICE_BANDS, _band, content_matrix, load_recommender, save_recommender

TODAY = date(2026, 11, 1)
REGIONS = {"Casablanca": "Casablanca-Settat", "Rabat": "Rabat-Salé-Kénitra", "Marrakech": "Marrakech-Safi", "Tanger": "Tanger-Tétouan-Al Hoceïma"}


@pytest.fixture(scope="module")
def listings() -> pd.DataFrame:
    """Three weeks of the demo market, shaped like fct_listings, with a few listings no longer active."""
    market = Market(MarketConfig(seed=5, today=TODAY, history_days=21, avito_per_day=90, moteur_per_day=30))
    truth = pd.concat([market.ground_truth(s, TODAY - timedelta(days=20), TODAY) for s in ("avito", "moteur")], ignore_index=True)
    frame = truth.assign(
        listing_key=truth["source"] + ":" + truth["listing_id"],
        model_year=truth["year"],
        posted_date=pd.to_datetime(truth["posted_at"]).dt.date,
        region=truth["city"].map(REGIONS).fillna("Other"),
    )
    frame["is_active"] = np.arange(len(frame)) % 10 != 0  # every tenth listing has been sold
    return frame


@pytest.fixture(scope="module")
def behaviour(listings):
    return generate_interactions(listings, InteractionConfig(users=700, seed=3))


@pytest.fixture(scope="module")
def model(listings, behaviour) -> Recommender:
    return train_recommender(listings, behaviour[1])


def test_interactions_follow_the_funnel_and_touch_only_listings_active_that_day(listings, behaviour):
    personas, interactions = behaviour
    counts = interactions["event"].value_counts()
    assert counts["view"] > counts["favourite"] > counts["contact"] > 0
    assert 0.1 < counts["favourite"] / counts["view"] < 0.5
    posted = interactions.merge(listings[["listing_key", "posted_date"]], on="listing_key")
    assert (posted["ts"].dt.date >= posted["posted_date"]).all()
    assert set(interactions["user_id"]) <= set(personas["user_id"])


def test_recommendations_match_hidden_brand_preferences_far_above_chance(listings, behaviour, model):
    personas, _ = behaviour
    brand_share = listings["brand"].value_counts(normalize=True)
    hits, chance = [], []
    for persona in personas.head(150).itertuples():
        recs = model.recommend_for_user(persona.user_id, 10)
        hits.append(recs["brand"].isin(persona.preferred_brands).mean())
        chance.append(brand_share.reindex(persona.preferred_brands).fillna(0).sum())
    # Stated margin: at least twice the share a random pick of listings would give.
    assert np.mean(hits) >= 2 * np.mean(chance)


def test_budget_is_respected_in_spirit_and_filters_exactly(behaviour, model):
    personas, _ = behaviour
    persona = personas.iloc[0]
    recs = model.recommend_for_user(persona.user_id, 10, {"max_price": 150_000, "fuel": "Diesel", "city": "Casablanca"})
    assert len(recs) > 0
    assert (recs["price_dh"] <= 150_000).all() and (recs["city"] == "Casablanca").all()
    assert set(model.items.set_index("listing_key").loc[recs["listing_key"], "fuel"]) == {"Diesel"}


def test_inactive_and_contacted_listings_never_appear(behaviour, model):
    personas, interactions = behaviour
    inactive = set(model.items.loc[~model.items["is_active"], "listing_key"])
    for user in personas["user_id"].head(100):
        recs = set(model.recommend_for_user(user, 10)["listing_key"])
        contacted = set(interactions.loc[(interactions["user_id"] == user) & (interactions["event"] == "contact"), "listing_key"])
        assert not recs & inactive
        assert not recs & contacted


def test_cold_start_users_get_results_with_reasons(model, listings):
    unknown = model.recommend_for_user("someone-new", 5, {"city": "Rabat"})
    assert len(unknown) == 5 and unknown["reason"].str.startswith("popular in Rabat").all()
    key = listings.loc[listings["is_active"], "listing_key"].iloc[0]
    one_click = pd.DataFrame({"listing_key": [key], "event": ["favourite"], "ts": [pd.Timestamp.now(tz="UTC")], "w": [3.0]})
    model = dataclasses.replace(model, user_history={**model.user_history, "one-click": one_click})
    anchor = model.items.iloc[model.item_index[key]]
    recs = model.recommend_for_user("one-click", 5)
    assert len(recs) == 5
    assert recs["reason"].iloc[0] == f"similar to the {anchor['brand']} {anchor['model']} you saved"
    assert (recs["brand"] == anchor["brand"]).mean() >= 0.6


def test_new_listings_take_the_last_fresh_slots_of_a_hybrid_list(model, behaviour):
    personas, _ = behaviour
    new = model.popularity == 0
    assert new[model.items["is_active"].to_numpy(bool)].sum() >= model.fresh_slots  # the fixture has new listings
    unreserved = dataclasses.replace(model, fresh_slots=0)
    tails = 0
    for user in personas["user_id"].head(30):
        recs = model.recommend_for_user(user, 10)
        is_new = new[model.positions(recs["listing_key"])]
        assert is_new.sum() >= model.fresh_slots
        earned = unreserved.recommend_for_user(user, 10)
        if not new[unreserved.positions(earned["listing_key"])].any():
            # No new listing earned a place: the earned list's first eight stay, in order, and two new ones follow.
            assert recs["listing_key"].head(8).tolist() == earned["listing_key"].head(8).tolist()
            assert is_new[-model.fresh_slots:].all()
            tails += 1
        assert recs["reason"][is_new].str.startswith("new listing, similar to the ").all()
        assert not recs["reason"][~is_new].str.startswith("new listing").any()
    assert tails >= 5


def test_similar_listings_excludes_itself_and_shares_the_model(model, listings):
    key = listings.loc[listings["is_active"], "listing_key"].iloc[3]
    anchor = model.items.iloc[model.item_index[key]]
    similar = model.similar_listings(key, 5)
    assert key not in set(similar["listing_key"])
    assert (similar["model"] == anchor["model"]).mean() >= 0.6


def test_hybrid_beats_popularity_overall_and_on_cold_items(listings, behaviour):
    table = evaluate(listings, behaviour[1], max_users=400).set_index(["segment", "method"])
    assert table.loc[("all", "hybrid"), "ndcg"] >= 2 * table.loc[("all", "popularity"), "ndcg"]
    assert table.loc[("cold_items", "hybrid"), "ndcg"] > table.loc[("cold_items", "popularity"), "ndcg"]
    assert table.loc[("all", "hybrid"), "coverage"] > 5 * table.loc[("all", "popularity"), "coverage"]


def test_evaluating_and_training_together_gives_what_each_gives_alone(listings, behaviour, model):
    # the asset's path shares one fit between the evaluation and the weight tuning, and scores the four methods
    # of a batch from one matrix product
    table, trained = evaluate_and_train(listings, behaviour[1], max_users=400)
    pd.testing.assert_frame_equal(table, evaluate(listings, behaviour[1], max_users=400))
    assert trained.weights == model.weights
    users = list(model.user_history)[:50]
    pd.testing.assert_frame_equal(trained.recommend_for_users(users), model.recommend_for_users(users))
    assert table["users"].max() > 100


def test_users_scored_on_several_threads_give_what_one_loop_gives(listings, behaviour, monkeypatch):
    # the evaluation, the weight tuning and the bulk recommendations split their users into parts scored at once;
    # joined in part order they must give exactly what one loop over the users gives
    import ml.recommender.model as recommender_model

    def run(threads: int):
        monkeypatch.setattr(recommender_model, "SCORING_THREADS", threads)
        table, trained = evaluate_and_train(listings, behaviour[1], max_users=400)
        return table, trained.weights, trained.recommend_for_users(list(trained.user_history))

    (table_1, weights_1, recs_1), (table_4, weights_4, recs_4) = run(1), run(4)
    pd.testing.assert_frame_equal(table_4, table_1, check_exact=True)
    assert weights_4 == weights_1
    pd.testing.assert_frame_equal(recs_4, recs_1, check_exact=True)
    # every part's users are in: ten picks for each of the hundreds of users with a history
    assert recs_1["user_id"].nunique() > 500 and (recs_1.groupby("user_id").size() == 10).all()


def test_the_listing_columns_are_all_that_users_and_the_model_read(listings, behaviour, model):
    # the recommender assets read only LISTING_COLUMNS from fct_listings: a column missing there would fail here
    narrow = listings[[c for c in (*LISTING_COLUMNS, "is_active") if c in listings]]
    assert {"title", "source", "listing_id"} <= set(listings.columns) - set(narrow.columns)
    pd.testing.assert_frame_equal(generate_interactions(narrow, InteractionConfig(users=700, seed=3))[1], behaviour[1])
    users = list(model.user_history)[:50]
    again = train_recommender(narrow, behaviour[1])
    pd.testing.assert_frame_equal(again.recommend_for_users(users), model.recommend_for_users(users))
    assert set(again.items.columns) <= {*LISTING_COLUMNS, "is_active"}


def test_content_vectors_are_the_weighted_one_hot_blocks_written_out(listings):
    # the matrix is filled in place; get_dummies, block by block, is what it must equal to the last bit
    frame = listings.copy()
    frame.loc[frame.index[::7], "city"] = None  # a missing value is a category of its own ("?")
    frame.loc[frame.index[::11], "mileage_km"] = np.nan
    weights = {"brand": 1.5, "model": 1.5, "fuel": 0.8, "gearbox": 0.6, "city": 0.5, "region": 0.5, "price_band": 1.0,
               "age_band": 0.8}
    age = (2026 - frame["model_year"].fillna(2026 - 8)).clip(lower=0)
    banded = frame.assign(price_band=_band(frame["price_dh"], PRICE_BANDS), age_band=_band(age, AGE_BANDS))
    blocks = [pd.get_dummies(banded[c].astype("string").fillna("?"), dtype=np.float32).to_numpy() * weights[c]
              for c in CATEGORICAL]
    raw = np.column_stack([np.log(frame["price_dh"].fillna(frame["price_dh"].median()).clip(lower=1000).to_numpy(float)),
                           age.to_numpy(float),
                           np.log1p(frame["mileage_km"].fillna(frame["mileage_km"].median()).to_numpy(float))])
    numeric = (raw - raw.mean(axis=0)) / (raw.std(axis=0) + 1e-9) * 0.4
    expected = np.hstack(blocks + [numeric.astype(np.float32)])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True) + 1e-9
    matrix = content_matrix(frame, 2026)
    assert matrix.dtype == np.float32 and matrix.shape == expected.shape
    assert matrix.tobytes() == expected.tobytes()


def test_hybrid_scores_are_the_blend_written_out(model, behaviour):
    """The in-place blend and its per-model caches give, user after user, what the formula gives written out."""

    def scale(x):
        return (x - x.min()) / (x.max() - x.min()) if x.max() > x.min() else np.zeros_like(x)

    cold = model.popularity == 0
    assert cold.any() and not cold.all()  # so the inheritance runs
    groups = model.model_groups

    def inherit(scores):
        warm = ~cold
        counts = np.bincount(groups[warm], minlength=groups.max() + 1)
        sums = np.bincount(groups[warm], weights=scores[warm], minlength=counts.size)
        fallback = np.median(scores[warm]) if (counts[groups[cold]] == 0).any() else 0.0
        return np.where(cold, np.where(counts > 0, sums / np.maximum(counts, 1), fallback)[groups], scores)

    w_content, w_collaborative, w_popularity = model.weights
    for user in list(behaviour[0]["user_id"].iloc[:6]) * 2:  # twice: a cache spoilt by one user shows on the next
        items, weights = model._history_arrays(user)
        content = scale(model.content @ (weights @ model.content[items]))
        collaborative = inherit(scale(np.asarray(model.covisit[items].T @ weights).ravel()))
        popularity = inherit(scale(np.log1p(model.popularity)))
        expected = w_content * content + w_collaborative * collaborative + w_popularity * popularity
        np.testing.assert_array_equal(model.scores(user, "hybrid"), expected)
        np.testing.assert_array_equal(model.scores(user, "content"), content)


def test_saved_model_answers_identically(model, behaviour, tmp_path):
    save_recommender(model, tmp_path / "r.pkl")
    loaded = load_recommender(tmp_path / "r.pkl")
    user = behaviour[0]["user_id"].iloc[5]
    pd.testing.assert_frame_equal(loaded.recommend_for_user(user, 10), model.recommend_for_user(user, 10))


def test_the_order_listings_arrive_in_changes_no_recommendation(listings, behaviour, model):
    """Items are numbered by a hash of their key, so ties (which rank in item order) and everything else come out
    the same whatever order the listings were read in."""
    shuffled = train_recommender(listings.sample(frac=1.0, random_state=11), behaviour[1])
    assert shuffled.items["listing_key"].tolist() == model.items["listing_key"].tolist()
    for user in behaviour[0]["user_id"].head(40):
        pd.testing.assert_frame_equal(shuffled.recommend_for_user(user, 10), model.recommend_for_user(user, 10))


@pytest.mark.parametrize("k", [1, 2, 10, 40])
def test_best_positions_are_a_full_sort_with_equal_values_in_position_order(k):
    """The sampled top-k gives exactly the first k of a full sort by value, largest first, equal values in position
    order and NaN last: ties everywhere, a mass of zeros (no co-visits), -inf (excluded items) and NaN included."""
    from ml.recommender.model import best_positions

    rng = np.random.default_rng(k)
    for trial in range(80):
        values = rng.random(int(rng.integers(k + 1, 50_000)))
        if trial % 3 == 0:
            values = np.round(values, 3)  # ties everywhere, at the boundary too
        if trial % 4 == 0:
            values[rng.integers(0, values.size, 5)] = values.max()  # ties at the very top
        if trial % 5 == 0:
            values[rng.integers(0, values.size, 3)] = np.nan
        if trial % 6 == 0:
            values[rng.random(values.size) < 0.995] = 0.0  # a few scores above a mass of equal ones
        if trial % 7 == 0:
            values[rng.random(values.size) < 0.9] = -np.inf
        if trial % 11 == 0:
            values[rng.random(values.size) < 0.999] = np.nan  # fewer values than k, at times
        expected = np.lexsort((np.arange(values.size), -values))[:k]
        assert best_positions(values, k).tolist() == expected.tolist(), (trial, values.size)
    distinct = rng.permutation(100_000).astype(float)  # position of value v: where the permutation put it
    assert best_positions(distinct, k).tolist() == [int(np.flatnonzero(distinct == 99_999 - i)[0]) for i in range(k)]
    assert best_positions(np.zeros(5_000), k).tolist() == list(range(k))  # all equal: the first k


@pytest.mark.parametrize("k", [1, 10, 40])
def test_weight_grid_tops_are_each_rows_best_positions_and_fresh_slots(k):
    """The weight tuning's top-k of many score rows at once equals best_positions and top_items' fresh-slot rule
    applied to each row alone, ties and short candidate lists included."""
    from ml.recommender.evaluate import _top_items_among
    from ml.recommender.model import best_positions, best_positions_by_row

    rng = np.random.default_rng(k)
    for trial in range(40):
        size = int(rng.integers(k, 20_000)) if trial % 7 else int(rng.integers(1, k + 2))
        scores = rng.random((12, size)).astype(np.float32)
        if trial % 3 == 0:
            scores = np.round(scores, 3)  # ties, at the boundary too
        if size > k:
            assert np.array_equal(best_positions_by_row(scores, k), [best_positions(row, k) for row in scores]), trial
        candidates = np.sort(rng.choice(50_000, size, replace=False))
        cold = rng.random(50_000) < 0.3
        fresh = min(2, k // 2)
        newcomers = {m: np.sort(rng.choice(np.flatnonzero(cold), int(rng.integers(0, m + 1)), replace=False))
                     for m in range(1, fresh + 1)}
        tops = _top_items_among(candidates, scores, k, cold, fresh, newcomers)
        for row, top in zip(scores, tops):
            expected = candidates[np.argsort(-row, kind="stable")] if size <= k else candidates[best_positions(row, k)]
            missing = fresh - int(cold[expected].sum())
            if fresh and size >= k and missing > 0 and newcomers[missing].size:
                chosen = newcomers[missing]
                warm = np.flatnonzero(~cold[expected])
                expected = np.concatenate([np.delete(expected, warm[-chosen.size:]), chosen])
            assert top.tolist() == expected.tolist(), trial
