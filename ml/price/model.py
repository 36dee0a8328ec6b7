"""A trained price model: LightGBM booster, feature schema, conformal ranges and a comparables index."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from ml.price.conformal import Conformal
from ml.price.explain import COMPARABLE_COLUMNS, ComparablesIndex, contributions_dh, explanation_items, row_items
from ml.price.features import FeatureSchema, base_frame, base_record, to_number
from ml.price.rating import rate, rate_many

COMPARABLES_PER_MODEL = 200
PREDICTION_COLUMNS = [
    "listing_key", "predicted_price_dh", "price_gap_pct", "low_80_dh", "high_80_dh", "low_90_dh", "high_90_dh",
    "price_percentile", "deal_rating", "rating_rule", "comparables_count", "explanation", "comparables",
    "model_version", "scored_on",
]


@dataclass
class PriceModel:
    booster: lgb.Booster
    schema: FeatureSchema
    conformal: Conformal
    comparables: pd.DataFrame
    info: dict = field(default_factory=dict)
    _index: ComparablesIndex | None = field(default=None, repr=False)

    @property
    def version(self) -> str:
        return self.info.get("version", "")

    @property
    def index(self) -> ComparablesIndex:
        if self._index is None:
            self._index = ComparablesIndex(self.comparables)
        return self._index

    def _predict(self, matrix: np.ndarray, **kwargs) -> np.ndarray:
        # One thread for small batches: OpenMP start-up costs more than a single row's trees.
        return self.booster.predict(matrix, num_threads=1 if len(matrix) < 2000 else 0, **kwargs)

    def predict_log(self, listings: pd.DataFrame) -> np.ndarray:
        return self._predict(self.schema.matrix(base_frame(listings)))

    def predict(self, listings: pd.DataFrame) -> np.ndarray:
        """Estimated asking price in DH."""
        return np.exp(self.predict_log(listings))

    def score(self, listings: pd.DataFrame, explain: bool = True, scored_on: date | None = None) -> pd.DataFrame:
        """One row per listing: estimate, 80%/90% ranges, deal rating with its rule, explanation, comparables."""
        listings = listings.reset_index(drop=True)
        base = base_frame(listings)
        matrix = self.schema.matrix(base)
        log_pred = self._predict(matrix)
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
            contrib = self._predict(matrix, pred_contrib=True)
            items = explanation_items(contributions_dh(contrib, self.schema.features, estimate), base)
            out["explanation"] = [json.dumps(i, ensure_ascii=False) for i in items]
            out["comparables"] = [
                json.dumps(self.index.nearest(m, y, k), ensure_ascii=False, default=str)
                for m, y, k in zip(base["model"], base["model_year"], base["mileage_km"])
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
        vector = self.schema.vector(base)
        log_pred = self.booster.predict(vector, num_threads=1)
        estimate = np.exp(log_pred)
        asked = to_number(record.get("price_dh"))
        low80, high80 = self.conformal.interval(log_pred, 0.8)
        low90, high90 = self.conformal.interval(log_pred, 0.9)
        with np.errstate(divide="ignore", invalid="ignore"):
            percentile = self.conformal.percentile(log_pred, np.log(np.array([asked])))
        count = self.index.count(base["model"])
        rating, rule = rate(float(percentile[0]), float(((high90 - low90) / estimate)[0]), int(count),
                            None if np.isnan(asked) else asked)
        contrib = self.booster.predict(vector, num_threads=1, pred_contrib=True)
        names, effects = contributions_dh(contrib, self.schema.features, estimate)
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = np.round((asked - estimate) / estimate, 4)
        return {
            "listing_key": record.get("listing_key"),
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
            "comparables": self.index.nearest(base["model"], base["model_year"], base["mileage_km"]),
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
        return folder

    @classmethod
    def load(cls, folder: Path) -> "PriceModel":
        return cls(
            booster=lgb.Booster(model_file=str(folder / "model.txt")),
            schema=FeatureSchema.from_json(json.loads((folder / "schema.json").read_text())),
            conformal=Conformal.from_json(json.loads((folder / "conformal.json").read_text())),
            comparables=pd.read_parquet(folder / "comparables.parquet"),
            info=json.loads((folder / "metrics.json").read_text()),
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
