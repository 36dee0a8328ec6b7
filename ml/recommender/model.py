"""A hybrid recommender: content vectors of listings blended with item-item co-visitation, served in process.

- Content: each listing is a unit vector of its brand, model, fuel, gearbox, city, region, price band and
  age band, plus scaled log price, age and log mileage. It serves "similar listings" and users with one
  or two interactions, and it is the only signal for new listings (item cold start).
- Collaborative: item-item co-visitation from weighted implicit feedback (contact > favourite > view),
  cosine-normalised and pruned to each item's strongest neighbours, so a user's scores are a sparse
  row sum rather than a matrix factorisation to keep fresh.
- Hybrid: a weighted blend of content, collaborative and popularity scores, each scaled to [0, 1] per
  request; the weights are learned on each user's latest training session (see evaluate.train_recommender).
- Popularity: the baseline everything is measured against.
- Fresh slots: a classifieds buyer wants new ads, and a listing nobody has touched yet can never win on
  co-visits or popularity. So the last `fresh_slots` places of a hybrid top-k go to the best-scored new
  listings, unless new listings already earned them.
Inactive listings and listings the user already contacted are never returned.
"""

from __future__ import annotations

import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

EVENT_WEIGHTS = {"view": 1.0, "favourite": 3.0, "contact": 5.0}
CATEGORICAL = ["brand", "model", "fuel", "gearbox", "city", "region", "price_band", "age_band"]
PRICE_BANDS = [0, 50_000, 80_000, 120_000, 180_000, 250_000, 400_000, np.inf]
AGE_BANDS = [-1, 2, 5, 8, 12, 20, np.inf]
EVENT_WORDS = {"contact": "contacted", "favourite": "saved", "view": "viewed"}
SERVED_COLUMNS = ["listing_key", "brand", "model", "model_year", "price_dh", "city"]
# The fct_listings columns the recommender and its synthetic users read: content features, filters, served fields,
# activity dates, and the ids the API answers with. Reading only these keeps a million listings' frame and pickle small.
LISTING_COLUMNS = (
    "listing_key", "vehicle_id", "url", "brand", "model", "model_year", "price_dh", "mileage_km", "fuel", "gearbox",
    "city", "region", "posted_date", "last_seen_at", "still_active",
)


def _band(values: pd.Series, edges: list[float]) -> pd.Series:
    return pd.cut(values, edges, labels=False).astype("Int64").astype(str)


def content_matrix(listings: pd.DataFrame, reference_year: int) -> np.ndarray:
    """Unit-norm float32 feature rows; categorical blocks are weighted so brand and model dominate."""
    age = (reference_year - listings["model_year"].fillna(reference_year - 8)).clip(lower=0)
    frame = listings.assign(price_band=_band(listings["price_dh"], PRICE_BANDS), age_band=_band(age, AGE_BANDS))
    weights = {"brand": 1.5, "model": 1.5, "fuel": 0.8, "gearbox": 0.6, "city": 0.5, "region": 0.5, "price_band": 1.0, "age_band": 0.8}
    numeric = np.column_stack(
        [
            np.log(listings["price_dh"].fillna(listings["price_dh"].median()).clip(lower=1000).to_numpy(float)),
            age.to_numpy(float),
            np.log1p(listings["mileage_km"].fillna(listings["mileage_km"].median()).to_numpy(float)),
        ]
    )
    numeric = (numeric - numeric.mean(axis=0)) / (numeric.std(axis=0) + 1e-9) * 0.4
    # One-hot blocks written straight into one matrix, a block's columns in sorted value order as get_dummies
    # gives them: get_dummies, its float copies and the stacking took 5.7 s at 670k listings.
    codes = [pd.factorize(frame[c].astype("string").fillna("?"), sort=True) for c in CATEGORICAL]
    matrix = np.zeros((len(listings), sum(len(values) for _, values in codes) + numeric.shape[1]), dtype=np.float32)
    rows, offset = np.arange(len(listings)), 0
    for name, (code, values) in zip(CATEGORICAL, codes):
        matrix[rows, offset + code] = weights[name]
        offset += len(values)
    matrix[:, offset:] = numeric
    return matrix / (np.linalg.norm(matrix, axis=1, keepdims=True) + 1e-9)


_SAMPLE_STRIDE = 16


def best_positions(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest values, largest first, equal values in position order (NaN last): the first k of
    `np.lexsort((positions, -values))`, without sorting every value.

    Equal scores are common (no co-visits, equal popularity, a model's mean inherited by its new listings), and
    position order is a rule that does not depend on numpy's selection algorithm. The k-th largest of every 16th
    value bounds the k-th largest of all from below: when fewer than k values lie above that bound, the answer is
    those values and then the first values equal to it, found without any partition; otherwise the k best are
    among the few values above it.
    """
    if values.size > k * _SAMPLE_STRIDE * 4:
        sample = values[::_SAMPLE_STRIDE]
        bound = np.partition(sample, sample.size - k)[sample.size - k]
        if np.isfinite(bound):
            above = np.flatnonzero(values > bound)
            if above.size >= k:
                return above[_ranked(values[above], k)]
            equal = np.flatnonzero(values == bound)
            if above.size + equal.size >= k:  # the bound is the k-th largest
                return _above_then_first_equal(values, above, equal, k)
    present = ~np.isnan(values)
    if present.all():
        return _ranked(values, k)
    kept = np.flatnonzero(present)
    best = kept[_ranked(values[kept], min(k, kept.size))]
    return np.concatenate([best, np.flatnonzero(~present)[: k - best.size]])


def _ranked(values: np.ndarray, k: int) -> np.ndarray:
    """best_positions of values without NaN."""
    if values.size <= k:
        return np.lexsort((np.arange(values.size), -values))
    kth = np.partition(values, values.size - k)[values.size - k]
    return _above_then_first_equal(values, np.flatnonzero(values > kth), np.flatnonzero(values == kth), k)


def _above_then_first_equal(values: np.ndarray, above: np.ndarray, equal: np.ndarray, k: int) -> np.ndarray:
    """The k best positions, given the positions of the values above the k-th largest and of those equal to it:
    the former, then the first of the latter, ranked by value and then position."""
    picked = np.concatenate([above, equal[: k - above.size]])
    return picked[np.lexsort((picked, -values[picked]))]


def best_positions_by_row(scores: np.ndarray, k: int) -> np.ndarray:
    """best_positions of each row of a 2-D array of scores, for rows longer than k (the weight tuning's grid).

    As above, the k-th largest of every 16th value bounds each row's k best from below; the items at or above
    their row's bound in any row are few, and a row whose k best among them are distinct and clear of the rest
    has them as its only answer. Other rows (ties) go through best_positions itself; short rows are sorted."""
    rows, size = scores.shape
    if size <= k * _SAMPLE_STRIDE * 4:
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]
    sample = scores[:, ::_SAMPLE_STRIDE]
    bound = np.partition(sample, sample.shape[1] - k, axis=1)[:, sample.shape[1] - k]
    if not np.isfinite(bound).all():  # -inf or NaN among a row's best: row by row
        return np.array([best_positions(row, k) for row in scores])
    pool = np.flatnonzero((scores >= bound[:, None]).any(axis=0))
    chosen = scores[:, pool]
    part = np.argpartition(-chosen, k - 1, axis=1)[:, :k] if pool.size > k else np.tile(np.arange(k), (rows, 1))
    top = np.take_along_axis(chosen, part, axis=1)
    order = np.argsort(-top, axis=1)
    top = np.take_along_axis(top, order, axis=1)
    clear = (top[:, :-1] != top[:, 1:]).all(axis=1) & ((chosen >= top[:, -1:]).sum(axis=1) == k)
    best = pool[np.take_along_axis(part, order, axis=1)]
    for row in np.flatnonzero(~clear):
        best[row] = best_positions(scores[row], k)
    return best


def fill_fresh_slots(tops: np.ndarray, cold: np.ndarray, fresh: int, newcomers) -> np.ndarray:
    """Rows of full top-k lists (2-D, changed in place) with their last `fresh` places kept for new listings: a row
    holding `missing` cold items too few drops its lowest-ranked warm items for `newcomers(missing)`, which go last,
    after the earned places."""
    cold_top = cold[tops]
    missing = fresh - cold_top.sum(axis=1)
    for count in np.unique(missing[missing > 0]):
        chosen = newcomers(int(count))
        if chosen.size == 0:
            continue
        rows = np.flatnonzero(missing == count)
        warm = ~cold_top[rows]
        warm_from_end = np.cumsum(warm[:, ::-1], axis=1)[:, ::-1]
        kept = tops[rows][~(warm & (warm_from_end <= chosen.size))].reshape(rows.size, tops.shape[1] - chosen.size)
        tops[rows] = np.concatenate([kept, np.broadcast_to(chosen, (rows.size, chosen.size))], axis=1)
    return tops


SCORING_THREADS = os.cpu_count() or 1


def in_threads(work, users: list, min_users: int = 16) -> list:
    """work(part) for each of `users` split into contiguous parts, one part per core at once; the results in the
    order of the parts, so joining them gives what work(users) gives.

    A user's scoring is passes over every item (matrix products, comparisons, partitions) in which NumPy releases
    the GIL, so two users are scored at once on two cores. BLAS gets one thread each meanwhile: two of its threads
    per product would only wait on each other."""
    workers = min(SCORING_THREADS, len(users) // max(1, min_users))
    if workers <= 1:
        return [work(users)]
    size = -(-len(users) // workers)
    parts = [users[start:start + size] for start in range(0, len(users), size)]
    with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(max_workers=len(parts)) as pool:
        return list(pool.map(work, parts))


def _scale(scores: np.ndarray, in_place: bool = False) -> np.ndarray:
    """Scores mapped onto [0, 1]; in_place reuses an array nobody else holds (a fresh array of a million items
    costs its page faults on every user)."""
    low, high = scores.min(), scores.max()
    if not high > low:
        return np.zeros_like(scores)
    scaled = np.subtract(scores, low, out=scores if in_place else None)
    scaled /= high - low
    return scaled


@dataclass(frozen=True)
class ItemFeatures:
    """The listing side of a fit (items, content vectors, key index), which depends on the listings alone: the fits
    of one evaluation and training share it instead of each rebuilding it (about 2 s a fit at 877k listings)."""

    items: pd.DataFrame
    content: np.ndarray
    index: dict[str, int]

    @classmethod
    def of(cls, listings: pd.DataFrame) -> "ItemFeatures":
        # Item numbers follow a hash of the listing key. Equal scores rank in item order (best_positions), and the
        # listings' own order (site, then ad id) would put one site's oldest ads first among equals.
        keys = listings["listing_key"].to_numpy(dtype=object)
        order = np.argsort(pd.util.hash_array(keys), kind="stable")
        items = listings.iloc[order].reset_index(drop=True)
        if "is_active" not in items:
            # fct_listings calls it still_active; listings without that history are taken as online.
            items["is_active"] = items["still_active"].fillna(True).astype(bool) if "still_active" in items else True
        reference_year = int(pd.to_datetime(items["posted_date"]).dt.year.max())
        index = {key: i for i, key in enumerate(items["listing_key"])}
        return cls(items, content_matrix(items, reference_year), index)


@dataclass
class Recommender:
    """Everything needed to answer requests in process: item features, co-visitation and user histories."""

    items: pd.DataFrame  # one row per listing; index = item number
    content: np.ndarray
    covisit: sp.csr_matrix
    popularity: np.ndarray
    user_history: dict[str, pd.DataFrame]
    # Hybrid weights of (content, collaborative, popularity); train_recommender learns them on held-out sessions.
    weights: tuple[float, float, float] = (0.5, 0.4, 0.1)
    item_index: dict[str, int] = field(default_factory=dict)
    # Places of a hybrid top-k kept for new listings (no interactions yet); see the module docstring.
    fresh_slots: int = 2

    # ------------------------------------------------------------------ training
    @classmethod
    def fit(
        cls, listings: "pd.DataFrame | ItemFeatures", interactions: pd.DataFrame, neighbours: int = 50,
        weights: tuple[float, float, float] = (0.5, 0.4, 0.1),
    ) -> "Recommender":
        """Build content vectors, pruned co-visitation and popularity from listings (or their ItemFeatures) and past
        interactions."""
        features = listings if isinstance(listings, ItemFeatures) else ItemFeatures.of(listings)
        items, index = features.items, features.index
        known = interactions[interactions["listing_key"].isin(index)]
        users = {u: i for i, u in enumerate(known["user_id"].unique())}
        weighted = known.assign(w=known["event"].map(EVENT_WEIGHTS))
        per_pair = weighted.groupby(["user_id", "listing_key"], sort=False)["w"].max().reset_index()
        ratings = sp.csr_matrix(
            (
                per_pair["w"].to_numpy(np.float32),
                (per_pair["user_id"].map(users).to_numpy(), per_pair["listing_key"].map(index).to_numpy()),
            ),
            shape=(len(users), len(items)),
        )
        covisit = cls._covisitation(ratings, neighbours)
        popularity = np.asarray(ratings.sum(axis=0)).ravel()
        # grouping the frame without its user column spares a copy of every user's rows (drop per group)
        history = dict(tuple(weighted.drop(columns="user_id").groupby(weighted["user_id"], sort=False)))
        return cls(items, features.content, covisit, popularity, history, weights, index)

    @staticmethod
    def _covisitation(ratings: sp.csr_matrix, neighbours: int) -> sp.csr_matrix:
        """Cosine similarity between items over users, keeping each item's strongest neighbours only."""
        norms = np.sqrt(np.asarray(ratings.multiply(ratings).sum(axis=0)).ravel()) + 1e-9
        normalised = ratings @ sp.diags(1.0 / norms)
        similarity = (normalised.T @ normalised).tocsr()
        similarity.setdiag(0)
        similarity.eliminate_zeros()
        lengths = np.diff(similarity.indptr)
        keep = np.ones(similarity.nnz, dtype=bool)
        # Only items with more than `neighbours` co-visited items lose some; the others keep every entry (a
        # loop over a million mostly short rows cost seconds per fit for nothing).
        for item in np.flatnonzero(lengths > neighbours):
            start, end = similarity.indptr[item], similarity.indptr[item + 1]
            dropped = np.argsort(-similarity.data[start:end], kind="stable")[neighbours:]
            keep[start + dropped] = False
        if not keep.any():
            return sp.csr_matrix(similarity.shape, dtype=np.float32)
        rows = np.repeat(np.arange(similarity.shape[0]), lengths)
        return sp.csr_matrix(
            (similarity.data[keep].astype(np.float32), (rows[keep], similarity.indices[keep])), shape=similarity.shape
        )

    # ------------------------------------------------------------------ scoring
    def positions(self, keys) -> np.ndarray:
        """Item numbers of listing keys, -1 for keys the model does not know."""
        # A hash index lookup costs the keys asked for; Series.map(dict) would rebuild the whole dict each call.
        if "_key_index" not in self.__dict__:
            self.__dict__["_key_index"] = pd.Index(self.items["listing_key"])
        return self.__dict__["_key_index"].get_indexer(pd.Index(keys))

    def _history_arrays(self, user_id: str) -> tuple[np.ndarray, np.ndarray]:
        histories = self.__dict__.get("_histories")
        if histories is not None:
            return histories.get(user_id, (np.array([], dtype=int), np.array([], dtype=np.float32)))
        history = self.user_history.get(user_id)
        if history is None or history.empty:
            return np.array([], dtype=int), np.array([], dtype=np.float32)
        grouped = history.groupby("listing_key")["w"].sum()
        items = self.positions(grouped.index)
        known = items >= 0
        return items[known], grouped.to_numpy(np.float32)[known]

    def prepare_histories(self) -> None:
        """Every user's (items, weights) from one group-by instead of one per request (same sums, same order)."""
        if "_histories" in self.__dict__ or not self.user_history:
            return
        frame = pd.concat(self.user_history, names=["user_id", None])[["listing_key", "w"]].reset_index(level=0)
        grouped = frame.groupby(["user_id", "listing_key"])["w"].sum()
        users = grouped.index.get_level_values(0)
        items = self.positions(grouped.index.get_level_values(1))
        weights = grouped.to_numpy(np.float32)
        bounds = np.flatnonzero(np.r_[True, users[1:] != users[:-1], True])
        histories = {}
        for start, end in zip(bounds[:-1], bounds[1:]):
            known = items[start:end] >= 0
            histories[users[start]] = (items[start:end][known], weights[start:end][known])
        self.__dict__["_histories"] = histories

    def prepare_scoring(self) -> None:
        """Build every cache a user's scoring reads, once, before users are scored in several threads (each thread
        would otherwise build its own copy of each at the same time)."""
        self.prepare_histories()
        self.positions([])
        self._weighted_popularity(self.weights[2], self._hybrid_popularity())
        for name in ("is_active", "brand", "model", "listing_key", "city"):
            self._column(name)

    def _popularity_scaled(self) -> np.ndarray:
        if "_popularity_scaled_cache" not in self.__dict__:
            self.__dict__["_popularity_scaled_cache"] = _scale(np.log1p(self.popularity))
        return self.__dict__["_popularity_scaled_cache"]

    def scores(self, user_id: str, method: str = "hybrid") -> np.ndarray:
        """A score per item for one user: popularity, content, collaborative or hybrid."""
        return self.scores_with_content(user_id, method)[0]

    def scores_with_content(self, user_id: str, method: str = "hybrid") -> tuple[np.ndarray, np.ndarray | None]:
        """The method's scores and, when computed on the way, the content scores (None without a history)."""
        items, weights = self._history_arrays(user_id)
        if method == "popularity" or items.size == 0:
            return self._popularity_scaled(), None
        return self._blend(items, weights, self.content @ (weights @ self.content[items]), (method,))[0]

    def scores_for_users(self, users, method: str = "hybrid", batch: int = 256):
        """(user, scores, content scores) for many users: their content products come from one matrix product per
        batch of users, which reads the item matrix once per batch instead of once per user."""
        for user, [(scores, content)] in self.scores_for_users_by_method(users, (method,), batch):
            yield user, scores, content

    def scores_for_users_by_method(self, users, methods: tuple[str, ...], batch: int = 256):
        """(user, [(scores, content scores) for each method]) for many users: one matrix product per batch of users
        serves every method (the evaluation scores four)."""
        self.prepare_histories()
        users = list(users)
        needs_product = any(method != "popularity" for method in methods)
        for start in range(0, len(users), batch):
            chunk = users[start:start + batch]
            arrays = [self._history_arrays(user) for user in chunk]
            with_history = [j for j, (items, _) in enumerate(arrays) if items.size and needs_product]
            raw = None
            if with_history:
                profiles = np.stack([arrays[j][1] @ self.content[arrays[j][0]] for j in with_history])
                raw = profiles @ self.content.T  # one row per user, contiguous
            column = {j: c for c, j in enumerate(with_history)}
            for j, user in enumerate(chunk):
                if j in column:
                    yield user, self._blend(*arrays[j], raw[column[j]], methods)
                else:
                    yield user, [(self._popularity_scaled(), None)] * len(methods)

    def _blend(self, items: np.ndarray, weights: np.ndarray, raw_content: np.ndarray, methods: tuple[str, ...]):
        """(scores, content scores) of one user for each method; the methods share the content and collaborative
        scores, each computed once (at a million listings, a pass over every item costs about a millisecond)."""
        content = _scale(raw_content)
        collaborative = None
        scored = []
        for method in methods:
            if method == "popularity":
                scored.append((self._popularity_scaled(), None))
                continue
            if method == "content":
                scored.append((content, content))
                continue
            if collaborative is None:
                collaborative = _scale(np.asarray(self.covisit[items].T @ weights).ravel(), in_place=True)
            scored.append((collaborative if method == "collaborative" else self._hybrid(collaborative, content), content))
        return scored

    def _hybrid(self, collaborative: np.ndarray, content: np.ndarray) -> np.ndarray:
        """The weighted blend of content, collaborative and popularity scores, in a new array (the inputs are the
        other methods' scores too)."""
        # A new listing has no co-visits and no popularity yet: that is missing evidence, not bad evidence.
        # It inherits the mean of the listings of its own model (the median listing's when none is warm),
        # and its content decides where it ranks among them.
        cold, some_cold = self._cold_items()
        if some_cold:
            collaborative = self._inherit(collaborative, cold)
        w_content, w_collaborative, w_popularity = self.weights
        # In place, with the popularity term kept across users: the same sums as written out (an addition's order
        # of operands does not change its result), with two fewer passes over every item per user.
        blended = w_collaborative * collaborative
        blended += w_content * content
        blended += self._weighted_popularity(w_popularity, self._hybrid_popularity())
        return blended

    def _hybrid_popularity(self) -> np.ndarray:
        """The popularity the hybrid blends, the same for every user: cold listings inherit their model's (_hybrid)."""
        cold, some_cold = self._cold_items()
        if not some_cold:
            return self._popularity_scaled()
        if "_inherited_popularity" not in self.__dict__:
            self.__dict__["_inherited_popularity"] = self._inherit(self._popularity_scaled(), cold)
        return self.__dict__["_inherited_popularity"]

    def _cold_items(self) -> tuple[np.ndarray, bool]:
        """Items nobody has interacted with, and whether inheritance applies (some are cold, not all)."""
        cached = self.__dict__.get("_cold_cache")
        if cached is None or cached[0] is not self.popularity:
            cold = self.popularity == 0
            cached = self.__dict__["_cold_cache"] = (self.popularity, cold, bool(cold.any() and not cold.all()))
        return cached[1], cached[2]

    def _weighted_popularity(self, weight: float, popularity: np.ndarray) -> np.ndarray:
        cached = self.__dict__.get("_weighted_popularity_cache")
        if cached is None or cached[0] != weight or cached[1] is not popularity:
            cached = self.__dict__["_weighted_popularity_cache"] = (weight, popularity, weight * popularity)
        return cached[2]

    def _inherit(self, scores: np.ndarray, cold: np.ndarray) -> np.ndarray:
        """Cold items take the mean score of the warm listings of the same brand and model."""
        groups = self.model_groups
        plan = self.__dict__.get("_inherit_plan")
        if plan is None or (plan[0] is not cold and not np.array_equal(plan[0], cold)):
            # the same for every user: which listings are warm, how many per model, and whether any cold listing
            # has no warm one of its model (only then is the median, a pass over every score, needed)
            warm = np.flatnonzero(~cold)
            counts = np.bincount(groups[warm], minlength=groups.max() + 1)
            plan = self.__dict__["_inherit_plan"] = (cold, warm, groups[warm], counts,
                                                     bool((counts[groups[cold]] == 0).any()))
        _, warm, warm_groups, counts, needs_median = plan
        warm_scores = scores[warm]
        sums = np.bincount(warm_groups, weights=warm_scores, minlength=counts.size)
        fallback = np.median(warm_scores) if needs_median else 0.0
        inherited = np.where(counts > 0, sums / np.maximum(counts, 1), fallback)
        # every item's model mean, then the warm items' own scores back: warm items are few, so this is one pass
        # over the items where a select over cold, inherited and scores took three
        result = inherited[groups].astype(np.result_type(inherited, scores), copy=False)
        result[warm] = warm_scores
        return result

    @property
    def model_groups(self) -> np.ndarray:
        if "_model_groups" not in self.__dict__:
            self.__dict__["_model_groups"] = pd.factorize(self.items["brand"].astype(str) + "|" + self.items["model"].astype(str))[0]
        return self.__dict__["_model_groups"]

    def _allowed(self, filters: dict | None, exclude: np.ndarray) -> np.ndarray:
        allowed = np.asarray(self._column("is_active"), dtype=bool).copy()
        filters = filters or {}
        if filters.get("max_price") is not None:
            allowed &= (self.items["price_dh"] <= filters["max_price"]).to_numpy()
        if filters.get("min_price") is not None:
            allowed &= (self.items["price_dh"] >= filters["min_price"]).to_numpy()
        for column in ("city", "region", "fuel", "brand"):
            if filters.get(column):
                allowed &= (self.items[column] == filters[column]).to_numpy()
        allowed[exclude] = False
        return allowed

    @staticmethod
    def _top(scores: np.ndarray, allowed: np.ndarray, k: int, candidates: np.ndarray | None = None) -> np.ndarray:
        """The k best allowed items, best first; `candidates` is np.flatnonzero(allowed) when the caller has it."""
        candidates = np.flatnonzero(allowed) if candidates is None else candidates
        if candidates.size <= k:
            return candidates[np.argsort(-scores[candidates], kind="stable")]
        return candidates[best_positions(scores[candidates], k)]

    def top_items(
        self, scores: np.ndarray, allowed: np.ndarray, k: int, method: str = "hybrid", content: np.ndarray | None = None,
        candidates: np.ndarray | None = None,
    ) -> np.ndarray:
        """The k best allowed items; a hybrid list keeps its last `fresh_slots` places for new listings.

        New listings compete for those places on taste alone (content scores, when given): their
        inherited popularity says nothing about them. `candidates` (the allowed item numbers) spares a pass over
        every item when several score vectors share one mask.
        """
        top = self._top(scores, allowed, k, candidates)
        fresh = min(self.fresh_slots, k // 2) if method == "hybrid" else 0
        if fresh == 0 or top.size < k:
            return top
        cold, _ = self._cold_items()
        taste = scores if content is None else content
        return fill_fresh_slots(top[None, :], cold, fresh, lambda missing: self._top(taste, allowed & cold, missing))[0]

    # ------------------------------------------------------------------ serving
    def recommend_for_user(self, user_id: str, k: int = 10, filters: dict | None = None, method: str = "hybrid") -> pd.DataFrame:
        """Top-k active listings for a user with a short reason each; unknown users get popular picks."""
        self.prepare_histories()
        contacted, _ = self._user_lookups()
        scores, content = self.scores_with_content(user_id, method)
        top = self.top_items(scores, self._allowed(filters, contacted.get(user_id, np.array([], dtype=int))), k,
                             method, content)
        return self._with_reasons(top, scores, user_id, filters)

    def recommend_for_users(self, users, k: int = 10, batch: int | None = None) -> pd.DataFrame:
        """recommend_for_user for many users (no filters) as one frame with user_id and rank, built in bulk."""
        self.prepare_scoring()
        batch = batch or max(8, min(256, 50_000_000 // max(1, len(self.items))))  # about 200 MB of scores a thread
        active = np.asarray(self._column("is_active"), dtype=bool)
        contacted, _ = self._user_lookups()

        def recommend(part: list) -> tuple[list, ...]:
            tops, scores, reasons, user_ids, ranks = [], [], [], [], []
            for user, user_scores, content in self.scores_for_users(part, "hybrid", batch):
                allowed = active.copy()
                allowed[contacted.get(user, np.array([], dtype=int))] = False
                top = self.top_items(user_scores, allowed, k, "hybrid", content)
                history_items, _ = self._history_arrays(user)
                if history_items.size:
                    reasons += self._history_reasons(user, top, history_items)
                else:
                    reasons += [f"popular in {city}" for city in self.items["city"].to_numpy()[top]]
                tops.append(top)
                scores.append(user_scores[top])
                user_ids += [user] * top.size
                ranks += range(1, top.size + 1)
            return tops, scores, reasons, user_ids, ranks

        parts = in_threads(recommend, list(users))
        tops, scores, reasons, user_ids, ranks = ([value for part in parts for value in part[i]] for i in range(5))
        if not tops:
            return pd.DataFrame()
        top = np.concatenate(tops)
        result = self.items.iloc[top][SERVED_COLUMNS].copy()
        result["score"] = np.concatenate(scores)
        result["reason"] = reasons
        result["user_id"] = user_ids
        result["rank"] = ranks
        return result.reset_index(drop=True)

    def prepare_serving(self) -> None:
        """Build the per-user lookups requests read (histories, contacts, strongest events) before the first one."""
        self.prepare_histories()
        self._user_lookups()

    def _user_lookups(self) -> tuple[dict, dict]:
        """_contacts_and_strongest_events, computed once per loaded model for serving."""
        if "_lookups" not in self.__dict__:
            self.__dict__["_lookups"] = self._contacts_and_strongest_events()
        return self.__dict__["_lookups"]

    def _column(self, name: str):
        """An items column as an array (its dtype kept), so serving indexes arrays instead of the frame."""
        columns = self.__dict__.setdefault("_columns", {})
        if name not in columns:
            columns[name] = self.items[name].array
        return columns[name]

    def _history_reasons(self, user_id: str, top: np.ndarray, history_items: np.ndarray) -> list[str]:
        """Per pick, the user's listing it is most like and what they did with it ("similar to the Dacia Logan
        you saved"); a listing nobody has touched yet says it is new."""
        _, strongest = self._user_lookups()
        anchors = history_items[np.argmax(self.content[top] @ self.content[history_items].T, axis=1)]
        brands, models, keys = (np.asarray(self._column(c)) for c in ("brand", "model", "listing_key"))
        new = self.popularity[top] == 0
        return [f"{'new listing, ' if is_new else ''}similar to the {brands[a]} {models[a]} you "
                f"{EVENT_WORDS[strongest.get((user_id, keys[a]), 'view')]}" for a, is_new in zip(anchors, new)]

    def _served(self, top: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
        frame = pd.DataFrame({c: self._column(c).take(top) for c in SERVED_COLUMNS})
        frame["score"] = scores[top]
        return frame

    def _contacts_and_strongest_events(self) -> tuple[dict, dict]:
        """Per user, the items contacted (never recommended again); per (user, listing), its strongest event."""
        if not self.user_history:
            return {}, {}
        frame = pd.concat(self.user_history, names=["user_id", None])[["listing_key", "event", "w"]] \
            .reset_index(level=0)
        contacts = frame[frame["event"] == "contact"]
        contacts = contacts.assign(position=self.positions(contacts["listing_key"]))
        contacts = contacts[contacts["position"] >= 0]
        contacted = {user: group["position"].to_numpy() for user, group in contacts.groupby("user_id", sort=False)}
        # the event of the heaviest interaction (equal weights are the same event)
        strongest = frame.sort_values("w").drop_duplicates(["user_id", "listing_key"], keep="last")
        events = dict(zip(zip(strongest["user_id"], strongest["listing_key"]), strongest["event"]))
        return contacted, events

    def similar_listings(self, listing_key: str, k: int = 10, filters: dict | None = None) -> pd.DataFrame:
        """The k active listings closest to one listing in content, the listing itself excluded."""
        item = self.item_index[listing_key]
        scores = self.content @ self.content[item]
        top = self._top(scores, self._allowed(filters, np.array([item])), k)
        result = self._served(top, scores)
        brand, model, year = (self._column(c)[item] for c in ("brand", "model", "model_year"))
        result["reason"] = f"similar to this {brand} {model} {int(year)}"
        return result

    def _with_reasons(self, top: np.ndarray, scores: np.ndarray, user_id: str, filters: dict | None) -> pd.DataFrame:
        result = self._served(top, scores)
        history_items, _ = self._history_arrays(user_id)
        if history_items.size:
            result["reason"] = self._history_reasons(user_id, top, history_items)
        else:
            where = (filters or {}).get("city") or (filters or {}).get("region")
            budget = " in your budget" if (filters or {}).get("max_price") else ""
            result["reason"] = [f"popular in {where or city}{budget}" for city in result["city"]]
        return result


def save_recommender(model: Recommender, path) -> None:
    """Pickle the whole recommender (arrays, sparse matrix, histories) to one file, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as handle:
        pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def load_recommender(path) -> Recommender:
    """Load a recommender written by save_recommender."""
    with open(path, "rb") as handle:
        return pickle.load(handle)
