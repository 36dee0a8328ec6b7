"""Why a price: LightGBM contributions grouped by feature and shown in DH, plus the nearest comparables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.price.features import FEATURE_GROUPS

COMPARABLE_COLUMNS = ["listing_key", "model", "model_year", "mileage_km", "price_dh", "title"]


def _describe(group: str, row: pd.Series) -> str:
    def num(name):
        value = row.get(name)
        return None if value is None or pd.isna(value) else value

    if group == "mileage" and num("mileage_km") is not None:
        km = f"{num('mileage_km'):,.0f} km".replace(",", " ")
        return f"{km} (estimated from a range)" if num("mileage_is_estimated") else km
    if group == "age" and num("model_year") is not None:
        return f"{int(num('model_year'))} ({num('age_years'):.0f} years old)"
    if group == "title words":
        return "words in the title"
    if group == "city" and isinstance(row.get("city"), str):
        return row["city"]
    column = {"seller": "seller_type", "site": "source", "fiscal power": "fiscal_power", "first owner": "first_owner",
              "equipment": "equipment_count", "days on market": "days_on_market"}.get(group, group)
    value = row.get(column)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return f"{group} unknown"
    if column == "model" and isinstance(value, str):
        value = value.split("|", 1)[-1]
    if column == "first_owner":
        return "first owner" if value else "not first owner"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    suffix = {"fiscal power": " CV", "equipment": " options", "days on market": " days on market"}.get(group, "")
    return f"{value}{suffix}"


def contributions_dh(contrib: np.ndarray, features: list[str], estimate: np.ndarray) -> pd.DataFrame:
    """Per listing and feature group: how many DH that group moves the estimate.

    A group's log contribution c becomes estimate × (1 − e^(−c)): the DH the estimate would lose if
    that group were at its average effect.
    """
    groups = pd.Series([FEATURE_GROUPS.get(f, "title words" if f.startswith("title_") else f) for f in features])
    logs = pd.DataFrame(contrib[:, : len(features)], columns=features).T.groupby(groups.to_numpy()).sum().T
    return pd.DataFrame(estimate[:, None] * (1 - np.exp(-logs.to_numpy())), columns=logs.columns)


def explanation_items(dh: pd.DataFrame, base: pd.DataFrame, top: int = 5) -> list[list[dict]]:
    """The `top` largest effects per listing: [{"feature", "value", "effect_dh", "text"}]."""
    out = []
    for (_, effects), (_, row) in zip(dh.iterrows(), base.iterrows()):
        items = []
        for group in effects.abs().sort_values(ascending=False).index[:top]:
            effect = float(effects[group])
            if abs(effect) < 500:
                continue
            value = _describe(group, row)
            sign = "+" if effect >= 0 else "−"
            amount = f"{round(abs(effect), -2):,.0f}".replace(",", " ")
            items.append({"feature": group, "value": value, "effect_dh": round(effect),
                          "text": f"{sign}{amount} DH for {value}"})
        out.append(items)
    return out


class ComparablesIndex:
    """Training listings grouped by brand|model, searched by year and mileage distance."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame.reset_index(drop=True)
        self.groups = {key: idx.to_numpy() for key, idx in self.frame.groupby("model", sort=False).groups.items()}

    def count(self, model_key) -> int:
        return len(self.groups.get(model_key, ())) if isinstance(model_key, str) else 0

    def nearest(self, model_key, model_year, mileage_km, k: int = 3) -> list[dict]:
        rows = self.groups.get(model_key) if isinstance(model_key, str) else None
        if rows is None:
            return []
        part = self.frame.iloc[rows]
        year_gap = (part["model_year"] - (model_year if pd.notna(model_year) else part["model_year"].median())).abs()
        km = mileage_km if pd.notna(mileage_km) else part["mileage_km"].median()
        km_gap = ((part["mileage_km"] - km).abs() / 25_000).fillna(2.0)
        # One model year apart weighs as much as 25,000 km.
        order = np.argsort((year_gap.fillna(3.0) + km_gap).to_numpy(), kind="stable")[:k]
        chosen = part.iloc[order]
        return [
            {key: (None if pd.isna(v) else (v.split("|", 1)[-1] if key == "model" and isinstance(v, str) else
                   (int(v) if isinstance(v, (float, np.floating)) and float(v).is_integer() else v)))
             for key, v in rec.items()}
            for rec in chosen[COMPARABLE_COLUMNS].to_dict("records")
        ]
