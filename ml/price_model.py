"""A LightGBM price model on cleaned listings: features, time-aware validation, metrics and a registry.

Plain Python with no Dagster imports; the ml assets are thin wrappers around these functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

CATEGORICAL = ["brand", "model", "fuel", "gearbox", "city", "region", "seller_type", "origin", "condition", "source"]
NUMERIC = ["age_years", "mileage_km", "km_per_year", "fiscal_power", "doors", "first_owner"]
FEATURES = NUMERIC + CATEGORICAL

LGB_PARAMS = {
    "objective": "regression",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 10,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "verbose": -1,
    "seed": 7,
    "num_threads": 2,
}


def build_features(listings: pd.DataFrame, categories: dict[str, list[str]] | None = None) -> pd.DataFrame:
    """The model's feature frame; categories are fixed at training so scoring encodes them identically."""
    posted = pd.to_datetime(listings["posted_date"])
    age = (posted.dt.year - listings["model_year"]).clip(lower=0).astype("float64")
    features = pd.DataFrame(
        {
            "age_years": age,
            "mileage_km": listings["mileage_km"].astype("float64"),
            # Adding one year keeps brand-new cars (age 0) finite.
            "km_per_year": listings["mileage_km"].astype("float64") / (age + 1.0),
            "fiscal_power": listings["fiscal_power"].astype("float64"),
            "doors": listings["doors"].astype("float64"),
            "first_owner": listings["first_owner"].astype("float64"),
        },
        index=listings.index,
    )
    for column in CATEGORICAL:
        values = listings[column].astype("string")
        known = categories[column] if categories else sorted(values.dropna().unique().tolist())
        features[column] = pd.Categorical(values, categories=known)
    return features[FEATURES]


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAE and RMSE in DH, R² on price and on log price, and median absolute percentage error."""
    actual = np.asarray(actual, dtype="float64")
    predicted = np.asarray(predicted, dtype="float64")
    error = predicted - actual

    def r2(y: np.ndarray, p: np.ndarray) -> float:
        return float(1.0 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2))

    return {
        "mae_dh": float(np.mean(np.abs(error))),
        "rmse_dh": float(np.sqrt(np.mean(error**2))),
        "r2_price": r2(actual, predicted),
        "r2_log": r2(np.log(actual), np.log(predicted)),
        "median_ape": float(np.median(np.abs(error) / actual)),
    }


@dataclass
class PriceModel:
    """A trained booster with the feature schema it was trained on."""

    booster: lgb.Booster
    categories: dict[str, list[str]]
    metrics: dict[str, float] = field(default_factory=dict)
    training_window: tuple[str, str] | None = None
    version: str = ""

    def predict(self, listings: pd.DataFrame) -> np.ndarray:
        """Predicted asking price in DH for each listing."""
        return np.exp(self.booster.predict(build_features(listings, self.categories)))

    def save(self, registry: Path) -> Path:
        """Write this version's model file, feature schema and metrics under registry/<version>/."""
        folder = registry / self.version
        folder.mkdir(parents=True, exist_ok=True)
        self.booster.save_model(str(folder / "model.txt"))
        (folder / "schema.json").write_text(
            json.dumps({"features": FEATURES, "categorical": CATEGORICAL, "categories": self.categories}, indent=1)
        )
        (folder / "metrics.json").write_text(
            json.dumps({"metrics": self.metrics, "training_window": self.training_window}, indent=1)
        )
        # The pointer is written last, so a reader never follows it to a half-written version.
        (registry / "latest").write_text(self.version)
        return folder

    @classmethod
    def load(cls, registry: Path, version: str | None = None) -> "PriceModel":
        """Load a version from the registry (the latest when none is named)."""
        version = version or (registry / "latest").read_text().strip()
        folder = registry / version
        schema = json.loads((folder / "schema.json").read_text())
        info = json.loads((folder / "metrics.json").read_text())
        return cls(
            booster=lgb.Booster(model_file=str(folder / "model.txt")),
            categories=schema["categories"],
            metrics=info["metrics"],
            training_window=tuple(info["training_window"]) if info["training_window"] else None,
            version=version,
        )


def train_price_model(listings: pd.DataFrame, valid_fraction: float = 0.2, max_rounds: int = 2000) -> PriceModel:
    """Fit on the earlier listings, validate on the latest ones, then refit on all with the chosen rounds.

    The split is by posting time, not random, because the model is used on listings newer than its data.
    """
    priced = listings[listings["price_dh"].notna() & (listings["price_dh"] > 0)].sort_values("posted_at")
    if len(priced) < 50:
        raise ValueError(f"price model needs at least 50 priced listings, got {len(priced)}")
    categories = {c: sorted(priced[c].dropna().astype(str).unique().tolist()) for c in CATEGORICAL}
    features = build_features(priced, categories)
    target = np.log(priced["price_dh"].astype("float64").to_numpy())
    cut = int(len(priced) * (1.0 - valid_fraction))

    train_set = lgb.Dataset(features.iloc[:cut], target[:cut], free_raw_data=False)
    valid_set = lgb.Dataset(features.iloc[cut:], target[cut:], reference=train_set)
    booster = lgb.train(
        LGB_PARAMS,
        train_set,
        num_boost_round=max_rounds,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )
    best_rounds = booster.best_iteration or max_rounds
    metrics = regression_metrics(
        np.exp(target[cut:]), np.exp(booster.predict(features.iloc[cut:], num_iteration=best_rounds))
    )
    metrics.update({"train_rows": cut, "valid_rows": len(priced) - cut, "rounds": best_rounds})

    final = lgb.train(LGB_PARAMS, lgb.Dataset(features, target), num_boost_round=best_rounds)
    window = (str(priced["posted_date"].min()), str(priced["posted_date"].max()))
    version = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    return PriceModel(booster=final, categories=categories, metrics=metrics, training_window=window, version=version)


def score_listings(model: PriceModel, listings: pd.DataFrame) -> pd.DataFrame:
    """One prediction row per listing: the estimate and how far the asking price sits from it."""
    predicted = model.predict(listings)
    asked = listings["price_dh"].astype("float64")
    return pd.DataFrame(
        {
            "listing_key": listings["listing_key"].to_numpy(),
            "predicted_price_dh": np.round(predicted).astype("int64"),
            "price_gap_pct": ((asked - predicted) / predicted).round(4).to_numpy(),
            "model_version": model.version,
            "scored_on": date.today(),
        }
    )
