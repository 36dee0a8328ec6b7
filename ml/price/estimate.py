"""`estimate(features)`: the price, range, deal rating and explanation for one car, with no warehouse scan.

The champion model and its comparables index are loaded once per process and kept; the champion
pointer is re-read on each call, so a promotion or a rollback takes effect without a restart.

    >>> estimate({"brand": "Dacia", "model": "Logan", "model_year": 2018, "mileage_km": 120000,
    ...           "fuel": "Diesel", "gearbox": "Manuelle", "price_dh": 85000})
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import pandas as pd

from ml.price.model import PriceModel
from ml.price.registry import champion_version, default_root


@dataclass
class Estimate:
    price_dh: int
    interval_80: tuple[int, int]
    interval_90: tuple[int, int]
    rating: str | None  # great, good, fair, high, overpriced, or None
    rating_rule: str  # why this rating, or why none
    explanation: list[dict]  # [{"feature", "value", "effect_dh", "text": "−9 000 DH for 180 000 km"}]
    comparables: list[dict]
    model_version: str

    def to_dict(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=4)
def _model(folder: str) -> PriceModel:
    model = PriceModel.load(Path(folder))
    model.index  # build the comparables index and the final booster's contribution table now, not on the
    model.attribution(-1)  # first request
    return model


def load_model(root: Path | None = None) -> PriceModel:
    root = Path(root) if root else default_root()
    version = champion_version(root)
    if not version:
        raise FileNotFoundError(f"no champion price model in {root}")
    return _model(str(root / version))


def estimate(features: dict, root: Path | None = None, model: PriceModel | None = None) -> Estimate:
    """Estimate one car from a dict of listing fields (brand, model, model_year, mileage_km, fuel, gearbox,
    fiscal_power, origin, first_owner, condition, doors, city, seller_type…; price_dh for a rating).
    Missing fields are allowed: the estimate gets less precise, never fails."""
    model = model or load_model(root)
    scored = model.score_one({"listing_key": features.get("listing_key"), "scraped_at": pd.Timestamp(date.today()), **features})
    return Estimate(
        price_dh=scored["predicted_price_dh"],
        interval_80=(scored["low_80_dh"], scored["high_80_dh"]),
        interval_90=(scored["low_90_dh"], scored["high_90_dh"]),
        rating=scored["deal_rating"],
        rating_rule=scored["rating_rule"],
        explanation=scored["explanation"],
        comparables=scored["comparables"],
        model_version=model.version,
    )
