"""Offline evaluation under a time-based split: each user's last session is held out.

Every method is scored on the same users and candidates: listings active on the held-out day that the
user had not touched before it. Figures are HR@k, NDCG@k, precision@k and catalogue coverage, overall,
for cold-start users (at most two training interactions) and for cold-start items (held-out listings
nobody interacted with in training).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.recommender.interactions import _active_spans
from ml.recommender.model import (
    ItemFeatures, Recommender, best_positions, best_positions_by_row, fill_fresh_slots, in_threads,
)

METHODS = ("popularity", "content", "collaborative", "hybrid")


def time_split(interactions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out each user's last session day; users with a single session stay entirely in training."""
    day = interactions["ts"].dt.floor("D")
    last_day = day.groupby(interactions["user_id"]).transform("max")
    first_day = day.groupby(interactions["user_id"]).transform("min")
    held_out = (day == last_day) & (last_day > first_day)
    return interactions[~held_out], interactions[held_out]


def _ndcg(hits: np.ndarray, n_relevant: int) -> float:
    return float(_ndcg_rows(hits[None, :], n_relevant)[0])


def _case_inputs(model: Recommender, train: pd.DataFrame, test: pd.DataFrame) -> dict:
    """What _cases reads for every user, worked out once for all of them."""
    first, last = _active_spans(model.items)
    # each user's held-out day (the day of their first held-out event), for every user at once
    held_days = test.groupby("user_id")["ts"].first().dt.floor("D")
    if held_days.dt.tz is not None:
        held_days = held_days.dt.tz_convert("UTC").dt.tz_localize(None)
    return {
        "first": first, "last": last,
        "trained_counts": train.groupby("user_id").size(),
        "warm_items": model.popularity > 0,
        # item numbers of every training and held-out event at once, then each user's share of them
        "seen_by_user": _positions_by_user(model, train),
        "held_by_user": _positions_by_user(model, test),
        "held_days": pd.Series(held_days.to_numpy().astype("datetime64[D]").astype("int64"), index=held_days.index),
    }


def _cases(inputs: dict, users):
    """Per held-out user: the candidate mask, the relevant items, the cold relevant items and the segments."""
    first, last, warm_items = inputs["first"], inputs["last"], inputs["warm_items"]
    for user in users:
        day = inputs["held_days"][user]
        allowed = (first <= day) & (last >= day)
        seen_items = inputs["seen_by_user"].get(user)
        if seen_items is not None:
            allowed[seen_items[seen_items >= 0]] = False
        relevant = inputs["held_by_user"][user]
        relevant = relevant[relevant >= 0]
        relevant = np.unique(relevant[allowed[relevant]])
        if relevant.size == 0:
            continue
        segments = ["all"] + (["cold_users"] if inputs["trained_counts"].get(user, 0) <= 2 else [])
        yield user, allowed, relevant, relevant[~warm_items[relevant]], segments


def _positions_by_user(model: Recommender, events: pd.DataFrame) -> dict:
    """user → the item numbers of their events in event order (-1 for listings the model does not know)."""
    positions = model.positions(events["listing_key"])
    return {user: positions[rows] for user, rows in events.groupby("user_id").indices.items()}


def _sample_users(test: pd.DataFrame, max_users: int, seed: int) -> np.ndarray:
    users = test["user_id"].unique()
    if users.size > max_users:
        users = np.random.default_rng(seed).choice(users, size=max_users, replace=False)
    return users


WEIGHT_GRID = [(c, l, p) for c in (0.2, 0.4, 0.6, 0.8, 1.0) for l in (0.0, 0.2, 0.4, 0.6) for p in (0.0, 0.1, 0.3)]


def tune_weights(listings: pd.DataFrame | ItemFeatures, interactions: pd.DataFrame, k: int = 10, max_users: int = 400, seed: int = 0,
                 fitted: Recommender | None = None) -> tuple[float, float, float]:
    """The hybrid weights with the best NDCG@k when each user's latest training session is held out.

    `fitted` is a model already fit on the training part of `interactions` (whatever its weights), to reuse."""
    train, test = time_split(interactions)
    if test.empty:
        return Recommender.weights
    model = fitted if fitted is not None else Recommender.fit(listings, train)
    model.prepare_scoring()
    cold = model.popularity == 0
    fresh = min(model.fresh_slots, k // 2)
    popularity = model._popularity_scaled()
    inputs = _case_inputs(model, train, test)
    # Users come in batches (one matrix product each) and every weighting is scored per user, so memory holds one
    # batch of users, not every user's scores at once (gigabytes at a million listings).
    batch = _batch(model)

    def grid_ndcgs(users: list) -> list[np.ndarray]:
        ndcgs = []
        for cases in _chunks(_cases(inputs, users), batch):
            # one pass gives both the collaborative and the content scores; a user without history gets popularity
            scored = model.scores_for_users([case[0] for case in cases], "collaborative", batch)
            for (user, allowed, relevant, _, _), (_, collaborative, content) in zip(cases, scored):
                content = collaborative if content is None else content
                candidates = _pool(np.flatnonzero(allowed), content, collaborative, popularity, k)
                newcomers = {m: model._top(content, allowed & cold, m) for m in range(1, fresh + 1)}
                scores = _grid_scores((content[candidates], collaborative[candidates], popularity[candidates]))
                tops = _top_items_among(candidates, scores, k, cold, fresh, newcomers)
                ndcgs.append(_ndcg_rows(np.isin(tops, relevant).astype(float), relevant.size))
        return ndcgs

    totals = np.zeros(len(WEIGHT_GRID))
    # added up in user order, as one loop over the users would: the same totals to the last bit
    for part in in_threads(grid_ndcgs, list(_sample_users(test, max_users, seed))):
        for ndcgs in part:
            totals += ndcgs
    return WEIGHT_GRID[int(np.argmax(totals))]


def _grid_scores(parts: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """One row of candidate scores per weighting of WEIGHT_GRID, each the float the one-weighting sum
    `w[0] * parts[0] + w[1] * parts[1] + w[2] * parts[2]` gives (every weight cast to its part's type, as a
    Python float is), so that ties and their order stay the same."""
    weights = np.asarray(WEIGHT_GRID)
    return sum(weights[:, [i]].astype(part.dtype) * part for i, part in enumerate(parts))


def _chunks(iterable, size: int):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _pool(candidates: np.ndarray, content: np.ndarray, collaborative: np.ndarray, popularity: np.ndarray,
          k: int) -> np.ndarray:
    """The allowed items that can reach a top k under any weighting of the grid (all weights content > 0): those
    with a collaborative or popularity score, and the best by content of the rest, where content alone ranks them."""
    touched = (collaborative[candidates] > 0) | (popularity[candidates] > 0)
    rest = candidates[~touched]
    margin = 4 * k  # room for weightings that round two close content scores alike
    if rest.size > margin:
        rest = rest[best_positions(content[rest], margin)]
    return np.sort(np.concatenate([candidates[touched], rest]))


def _top_items_among(candidates: np.ndarray, scores: np.ndarray, k: int, cold: np.ndarray, fresh: int,
                     newcomers: dict[int, np.ndarray]) -> np.ndarray:
    """Recommender.top_items (hybrid) of each row of scores over the same allowed items, with the fresh-slot picks
    for each number of missing places computed beforehand (they depend on content scores only)."""
    tops = candidates[np.argsort(-scores, axis=1, kind="stable") if candidates.size <= k else best_positions_by_row(scores, k)]
    if fresh == 0 or candidates.size < k:
        return tops
    return fill_fresh_slots(tops, cold, fresh, newcomers.__getitem__)


def _ndcg_rows(hits: np.ndarray, n_relevant: int) -> np.ndarray:
    """NDCG of each row of hits (1.0 where the item at that rank is relevant) against n_relevant relevant items."""
    gains = hits / np.log2(np.arange(2, hits.shape[1] + 2))
    ideal = (1.0 / np.log2(np.arange(2, min(n_relevant, hits.shape[1]) + 2))).sum()
    return gains.sum(axis=1) / ideal if ideal else np.zeros(len(hits))


def _batch(model: Recommender) -> int:
    """Users per matrix product: about 200 MB of scores per scoring thread, whatever the number of listings."""
    return int(max(8, min(256, 50_000_000 // max(1, len(model.items)))))


def train_recommender(listings: pd.DataFrame | ItemFeatures, interactions: pd.DataFrame) -> Recommender:
    """Learn the hybrid weights on the interactions' own latest sessions, then fit on all of them."""
    features = listings if isinstance(listings, ItemFeatures) else ItemFeatures.of(listings)
    return Recommender.fit(features, interactions, weights=tune_weights(features, interactions))


def evaluate_and_train(listings: pd.DataFrame, interactions: pd.DataFrame, k: int = 10, max_users: int = 2000,
                       seed: int = 0) -> tuple[pd.DataFrame, Recommender]:
    """evaluate() and train_recommender(), sharing a fit: the model evaluated (fit on the training part) is the one
    the final model's weight tuning fits, weights aside."""
    features = ItemFeatures.of(listings)  # the three fits below share the listing side
    table, evaluated = _evaluate(features, interactions, k, max_users, seed)
    weights = tune_weights(features, interactions, fitted=evaluated)
    del evaluated  # one model in memory at a time, as before (877k listings: 4.47 GB peak otherwise, 3.79 GB)
    return table, Recommender.fit(features, interactions, weights=weights)


def evaluate(listings: pd.DataFrame, interactions: pd.DataFrame, k: int = 10, max_users: int = 2000, seed: int = 0) -> pd.DataFrame:
    """One row per (segment, method) with hr, ndcg, precision, coverage and users; lifts are vs popularity.

    The hybrid's weights are tuned on the training part only, so the held-out sessions stay unseen.
    """
    return _evaluate(listings, interactions, k, max_users, seed)[0]


def _evaluate(listings: pd.DataFrame | ItemFeatures, interactions: pd.DataFrame, k: int, max_users: int,
              seed: int) -> tuple[pd.DataFrame, Recommender]:
    """evaluate()'s table and the model it evaluated."""
    train, test = time_split(interactions)
    model = train_recommender(listings, train)
    model.prepare_scoring()
    inputs = _case_inputs(model, train, test)
    batch = _batch(model)

    def score(users: list) -> tuple[dict, dict]:
        rows = {(segment, method): [] for segment in ("all", "cold_users", "cold_items") for method in METHODS}
        recommended = {method: set() for method in METHODS}
        # users in batches, one matrix product per batch for the four methods: per (segment, method) the rows still
        # come in user order, and memory holds one batch's candidate masks
        for cases in _chunks(_cases(inputs, users), batch):
            scored = model.scores_for_users_by_method([case[0] for case in cases], METHODS, batch)
            for (user, allowed, relevant, cold_relevant, segments), (_, by_method) in zip(cases, scored):
                candidates = np.flatnonzero(allowed)
                for method, (scores, content) in zip(METHODS, by_method):
                    top = model.top_items(scores, allowed, k, method, content, candidates)
                    recommended[method].update(top.tolist())
                    hits = np.isin(top, relevant).astype(float)
                    for segment in segments:
                        rows[(segment, method)].append((hits.max(initial=0.0), _ndcg(hits, relevant.size), hits.sum() / k))
                    if cold_relevant.size:
                        # Cold items compete with every candidate; only they count as hits.
                        cold_hits = np.isin(top, cold_relevant).astype(float)
                        rows[("cold_items", method)].append(
                            (cold_hits.max(initial=0.0), _ndcg(cold_hits, cold_relevant.size), cold_hits.sum() / k))
        return rows, recommended

    parts = in_threads(score, list(_sample_users(test, max_users, seed)))
    # the parts' rows joined in part order are the rows of one loop over the users, in user order
    rows = {key: [row for part_rows, _ in parts for row in part_rows[key]] for key in parts[0][0]}
    recommended = {method: set().union(*(part[method] for _, part in parts)) for method in METHODS}

    active = int(model.items["is_active"].sum())
    table = []
    for (segment, method), values in rows.items():
        scores = np.array(values) if values else np.zeros((0, 3))
        table.append(
            {
                "segment": segment,
                "method": method,
                "users": len(values),
                "hr": float(scores[:, 0].mean()) if len(values) else 0.0,
                "ndcg": float(scores[:, 1].mean()) if len(values) else 0.0,
                "precision": float(scores[:, 2].mean()) if len(values) else 0.0,
                "coverage": len(recommended[method]) / active if segment == "all" else np.nan,
            }
        )
    result = pd.DataFrame(table)
    baseline = result[result["method"] == "popularity"].set_index("segment")["ndcg"]
    result["ndcg_lift"] = result["ndcg"] / result["segment"].map(baseline).replace(0, np.nan)
    result.attrs["weights"] = model.weights
    return result, model
