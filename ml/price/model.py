"""A trained price model: LightGBM booster, feature schema, conformal ranges and a comparables index."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from ml.price.attribution import PathAttribution
from ml.price.conformal import Conformal
from ml.price.explain import COMPARABLE_COLUMNS, ComparablesIndex, contributions_dh, explanation_items, row_items
from ml.price.features import FeatureSchema, base_frame, base_record, to_number
from ml.price.linear import LinearPrior
from ml.price.rating import rate, rate_many

COMPARABLES_PER_MODEL = 200
PRIOR_FEATURE = "linear_prior"
PREDICTION_COLUMNS = [
    "listing_key", "predicted_price_dh", "price_gap_pct", "low_80_dh", "high_80_dh", "low_90_dh", "high_90_dh",
    "price_percentile", "deal_rating", "rating_rule", "comparables_count", "explanation", "comparables",
    "model_version", "scored_on",
]


def key_hashes(keys) -> np.ndarray:
    """A stable 64-bit hash per listing key (None → 0): folds and the trained-on set are kept as hashes."""
    return np.fromiter(
        (0 if k is None else int.from_bytes(hashlib.blake2b(str(k).encode(), digest_size=8).digest(), "little")
         for k in keys), dtype=np.uint64, count=len(keys))


def fold_of(hashes: np.ndarray, folds: int) -> np.ndarray:
    return (hashes % np.uint64(folds)).astype(np.int64)


@dataclass
class PriceModel:
    """The final booster scores new listings; a listing it was trained on is scored by the fold model
    (fold booster and linear-prior coefficients) that never saw it, so its rating is out of sample."""

    booster: lgb.Booster
    schema: FeatureSchema
    conformal: Conformal
    comparables: pd.DataFrame
    info: dict = field(default_factory=dict)
    linear: LinearPrior | None = None
    folds: list = field(default_factory=list)  # cross-fitted boosters, one per fold
    trained_keys: np.ndarray | None = None  # sorted key hashes of the training listings
    _index: ComparablesIndex | None = field(default=None, repr=False)
    _attributions: dict = field(default_factory=dict, repr=False)  # route → PathAttribution, built on first use

    @property
    def version(self) -> str:
        return self.info.get("version", "")

    @property
    def index(self) -> ComparablesIndex:
        if self._index is None:
            self._index = ComparablesIndex(self.comparables)
        return self._index

    @property
    def feature_names(self) -> list[str]:
        return self.schema.features + ([PRIOR_FEATURE] if self.linear is not None else [])

    def routes(self, keys) -> np.ndarray:
        """Per listing: the fold whose model scores it (−1: the final model, for listings not trained on)."""
        route = np.full(len(keys), -1, dtype=np.int64)
        if not self.folds or self.trained_keys is None or not len(self.trained_keys):
            return route
        present = np.array([k is not None and not (isinstance(k, float) and np.isnan(k)) and k is not pd.NA for k in keys], bool)
        if present.any():
            hashes = key_hashes([keys[i] for i in np.flatnonzero(present)])
            at = np.searchsorted(self.trained_keys, hashes).clip(max=len(self.trained_keys) - 1)
            known = self.trained_keys[at] == hashes
            route[np.flatnonzero(present)[known]] = fold_of(hashes[known], len(self.folds))
        return route

    def _booster(self, route: int) -> lgb.Booster:
        return self.booster if route < 0 else self.folds[route]

    def attribution(self, route: int) -> PathAttribution:
        """The contribution table of the booster that scores this route, built once."""
        if route not in self._attributions:
            self._attributions[route] = PathAttribution(self._booster(route))
        return self._attributions[route]

    def _contributions(self, matrix: np.ndarray, route: np.ndarray) -> np.ndarray:
        """Per-feature log contributions (path attribution) of each row's prediction, prior blended in."""
        out = np.empty((len(matrix), matrix.shape[1] + 1))
        for r in np.unique(route):
            rows = route == r
            out[rows] = self.attribution(int(r)).contributions(matrix[rows])
        return self._blend(out, matrix, True)

    def _matrix(self, base: pd.DataFrame, titles, route: np.ndarray) -> np.ndarray:
        matrix = self.schema.matrix(base)
        if self.linear is not None:
            matrix = np.column_stack([matrix, self.linear.predict(base, titles, route + 1)])
        return matrix

    def _predict(self, matrix: np.ndarray, route: np.ndarray) -> np.ndarray:
        out = np.empty(len(matrix))
        for r in np.unique(route):
            rows = route == r
            # One thread for small batches: OpenMP start-up costs more than a single row's trees.
            out[rows] = self._booster(int(r)).predict(matrix[rows], num_threads=1 if rows.sum() < 2000 else 0)
        return self._blend(out, matrix, False)

    def _blend(self, trees: np.ndarray, matrix: np.ndarray, contrib: bool) -> np.ndarray:
        """Mix in the linear prior (last matrix column) at its weight; for contributions its share goes to
        the prior's column and the base value, so a row's contributions still add up to its prediction."""
        w = self.linear.weight if self.linear is not None else 0.0
        if not w:
            return trees
        prior = matrix[:, -1]
        if not contrib:
            return (1 - w) * trees + w * prior
        out = (1 - w) * trees
        out[:, -2] += w * (prior - self.linear.center)
        out[:, -1] += w * self.linear.center
        return out

    def predict_log(self, listings: pd.DataFrame) -> np.ndarray:
        listings = listings.reset_index(drop=True)
        route = self.routes(_keys(listings))
        return self._predict(self._matrix(base_frame(listings), _titles(listings), route), route)

    def predict(self, listings: pd.DataFrame) -> np.ndarray:
        """Estimated asking price in DH."""
        return np.exp(self.predict_log(listings))

    def score(self, listings: pd.DataFrame, explain: bool = True, scored_on: date | None = None) -> pd.DataFrame:
        """One row per listing: estimate, 80%/90% ranges, deal rating with its rule, explanation, comparables."""
        listings = listings.reset_index(drop=True)
        base = base_frame(listings)
        route = self.routes(_keys(listings))
        matrix = self._matrix(base, _titles(listings), route)
        log_pred = self._predict(matrix, route)
        estimate = np.exp(log_pred)
        asked = pd.to_numeric(listings.get("price_dh", pd.Series(np.nan, index=listings.index)), errors="coerce")
        asked = asked.astype("float64").to_numpy()
        low80, high80 = self.conformal.interval(log_pred, 0.8)
        low90, high90 = self.conformal.interval(log_pred, 0.9)
        with np.errstate(divide="ignore", invalid="ignore"):
            percentile = self.conformal.percentile(log_pred, np.log(asked))
        counts = np.array([self.index.count(key) for key in base["model"]])
        ratings, rules = rate_many(percentile, (high90 - low90) / estimate, counts, asked)
        out = pd.DataFrame(
            {
                "listing_key": listings["listing_key"].to_numpy() if "listing_key" in listings else None,
                "predicted_price_dh": np.round(estimate).astype("int64"),
                "price_gap_pct": np.round((asked - estimate) / estimate, 4),
                "low_80_dh": np.round(low80).astype("int64"),
                "high_80_dh": np.round(high80).astype("int64"),
                "low_90_dh": np.round(low90).astype("int64"),
                "high_90_dh": np.round(high90).astype("int64"),
                "price_percentile": np.round(percentile, 3),
                "deal_rating": ratings,
                "rating_rule": rules,
                "comparables_count": counts,
            }
        )
        if explain:
            contrib = self._contributions(matrix, route)
            items = explanation_items(contributions_dh(contrib, self.feature_names, estimate), base)
            out["explanation"] = [json.dumps(i, ensure_ascii=False) for i in items]
            keys = out["listing_key"].tolist()
            out["comparables"] = [
                json.dumps(self.index.nearest(m, y, k, exclude=key), ensure_ascii=False, default=str)
                for m, y, k, key in zip(base["model"], base["model_year"], base["mileage_km"], keys)
            ]
        else:
            out["explanation"] = None
            out["comparables"] = None
        out["model_version"] = self.version
        out["scored_on"] = scored_on or date.today()
        return out[PREDICTION_COLUMNS]

    def score_one(self, record: dict, scored_on: date | None = None) -> dict:
        """score() for one listing given as a dict, with explanation: the same values (a test holds them
        equal) without building DataFrames, so one estimate costs about a millisecond plus the trees."""
        base = base_record(record)
        key = record.get("listing_key")
        route = int(self.routes([key])[0])
        vector = self.schema.vector(base)
        if self.linear is not None:
            lin = self.linear.predict_one(base, record.get("title"), route + 1)
            vector = np.column_stack([vector, [lin]])
        booster = self._booster(route)
        log_pred = self._blend(booster.predict(vector, num_threads=1), vector, False)
        estimate = np.exp(log_pred)
        asked = to_number(record.get("price_dh"))
        low80, high80 = self.conformal.interval(log_pred, 0.8)
        low90, high90 = self.conformal.interval(log_pred, 0.9)
        with np.errstate(divide="ignore", invalid="ignore"):
            percentile = self.conformal.percentile(log_pred, np.log(np.array([asked])))
        count = self.index.count(base["model"])
        rating, rule = rate(float(percentile[0]), float(((high90 - low90) / estimate)[0]), int(count),
                            None if np.isnan(asked) else asked)
        contrib = self._blend(self.attribution(route).contributions(vector), vector, True)
        names, effects = contributions_dh(contrib, self.feature_names, estimate)
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.round((asked - estimate) / estimate, 4)
        return {
            "listing_key": key,
            "predicted_price_dh": int(np.round(estimate[0])),
            "price_gap_pct": float(gap[0]),
            "low_80_dh": int(np.round(low80[0])),
            "high_80_dh": int(np.round(high80[0])),
            "low_90_dh": int(np.round(low90[0])),
            "high_90_dh": int(np.round(high90[0])),
            "price_percentile": float(np.round(percentile, 3)[0]),
            "deal_rating": rating,
            "rating_rule": rule,
            "comparables_count": int(count),
            "explanation": row_items(names, effects[0], base),
            "comparables": self.index.nearest(base["model"], base["model_year"], base["mileage_km"], exclude=key),
            "model_version": self.version,
            "scored_on": scored_on or date.today(),
        }

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / "model.txt"))
        (folder / "schema.json").write_text(json.dumps(self.schema.to_json(), indent=1, ensure_ascii=False))
        (folder / "conformal.json").write_text(json.dumps(self.conformal.to_json()))
        (folder / "metrics.json").write_text(json.dumps(self.info, indent=1, ensure_ascii=False, default=str))
        self.comparables.to_parquet(folder / "comparables.parquet", index=False)
        if self.linear is not None:
            (folder / "linear.json").write_text(json.dumps(self.linear.to_json(), ensure_ascii=False))
        for k, fold in enumerate(self.folds):
            fold.save_model(str(folder / f"fold_{k}.txt"))
        if self.trained_keys is not None:
            np.save(folder / "trained_keys.npy", self.trained_keys)
        return folder

    @classmethod
    def load(cls, folder: Path) -> "PriceModel":
        return cls(
            booster=lgb.Booster(model_file=str(folder / "model.txt")),
            schema=FeatureSchema.from_json(json.loads((folder / "schema.json").read_text())),
            conformal=Conformal.from_json(json.loads((folder / "conformal.json").read_text())),
            comparables=pd.read_parquet(folder / "comparables.parquet"),
            info=json.loads((folder / "metrics.json").read_text()),
            linear=LinearPrior.from_json(json.loads((folder / "linear.json").read_text()))
            if (folder / "linear.json").exists() else None,
            folds=[lgb.Booster(model_file=str(path)) for path in
                   sorted(folder.glob("fold_*.txt"), key=lambda p: int(p.stem.split("_")[1]))],
            trained_keys=np.load(folder / "trained_keys.npy") if (folder / "trained_keys.npy").exists() else None,
        )


def comparables_frame(listings: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """The small index the estimator searches: model key, year, mileage, price and title of training rows."""
    frame = pd.DataFrame(
        {
            "listing_key": listings["listing_key"].astype("string").to_numpy() if "listing_key" in listings else None,
            "model": base["model"].to_numpy(),
            "model_year": base["model_year"].to_numpy(),
            "mileage_km": base["mileage_km"].to_numpy(),
            "price_dh": pd.to_numeric(listings["price_dh"], errors="coerce").astype("float64").to_numpy(),
            "title": listings["title"].astype("string").to_numpy() if "title" in listings else None,
        }
    )
    frame = frame[frame["model"].notna()]
    # The latest COMPARABLES_PER_MODEL listings of each model: enough to find near neighbours and to apply
    # the rating's minimum, and small enough that one estimate searches a few hundred rows, not millions.
    frame = frame.groupby("model", sort=False).tail(COMPARABLES_PER_MODEL)
    return frame[COMPARABLE_COLUMNS].reset_index(drop=True)


def _keys(listings: pd.DataFrame) -> list:
    if "listing_key" not in listings:
        return [None] * len(listings)
    return [None if pd.isna(k) else str(k) for k in listings["listing_key"]]


def _titles(listings: pd.DataFrame) -> list:
    return listings["title"].tolist() if "title" in listings else [None] * len(listings)
