"""Why a price: LightGBM contributions grouped by feature and shown in DH, plus the nearest comparables."""

from __future__ import annotations

import warnings

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
    if group == "going rate":
        model = row.get("model")
        model = model.split("|", 1)[-1] if isinstance(model, str) else "car"
        year = f"{int(num('model_year'))} " if num("model_year") is not None else ""
        return f"the going rate of a {year}{model}"
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


def feature_groups(features: list[str]) -> tuple[list[str], list[np.ndarray]]:
    """Explanation groups in name order, with the feature columns each one sums."""
    of = [FEATURE_GROUPS.get(f, "title words" if f.startswith("title_") else f) for f in features]
    names = sorted(set(of))
    return names, [np.array([j for j, g in enumerate(of) if g == name]) for name in names]


def contributions_dh(contrib: np.ndarray, features: list[str], estimate: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Per listing and feature group: how many DH that group moves the estimate (group names, rows × groups).

    A group's log contribution c becomes estimate × (1 − e^(−c)): the DH the estimate would lose if
    that group were at its average effect. Columns are added one at a time, so a row's sums do not
    depend on how many rows are scored with it (the estimator scores one, the assets millions).
    """
    names, columns = feature_groups(features)
    logs = np.zeros((len(contrib), len(names)))
    for g, cols in enumerate(columns):
        for j in cols:
            logs[:, g] += contrib[:, j]
    return names, np.asarray(estimate, dtype="float64")[:, None] * (1 - np.exp(-logs))


def row_items(names: list[str], effects: np.ndarray, row, top: int = 5) -> list[dict]:
    """The `top` largest effects of one listing: [{"feature", "value", "effect_dh", "text"}]."""
    items = []
    for g in np.argsort(-np.abs(effects), kind="stable")[:top]:
        effect = float(effects[g])
        if abs(effect) < 500:
            continue
        group = names[g]
        value = _describe(group, row)
        sign = "+" if effect >= 0 else "−"
        amount = f"{round(abs(effect), -2):,.0f}".replace(",", " ")
        items.append({"feature": group, "value": value, "effect_dh": round(effect), "text": f"{sign}{amount} DH for {value}"})
    return items


def explanation_items(dh: tuple[list[str], np.ndarray], base: pd.DataFrame, top: int = 5) -> list[list[dict]]:
    """row_items for every listing of a base frame."""
    names, effects = dh
    records = base.drop(columns=["title_tokens"], errors="ignore").to_dict("records")
    return [row_items(names, e, r, top) for e, r in zip(effects, records)]


def _plain(key: str, value):
    if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
        return None
    if key == "model" and isinstance(value, str):
        return value.split("|", 1)[-1]
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


class ComparablesIndex:
    """Training listings grouped by brand|model, searched by year and mileage distance.

    Each group keeps numpy arrays and ready-made records, so a search is a dict look-up plus arithmetic
    on at most a few hundred rows, whatever the size of the market."""

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame.reset_index(drop=True)
        years = pd.to_numeric(self.frame["model_year"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        kms = pd.to_numeric(self.frame["mileage_km"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        records = [{k: _plain(k, v) for k, v in rec.items()} for rec in self.frame[COMPARABLE_COLUMNS].to_dict("records")]
        self.groups = {}
        for key, idx in self.frame.groupby("model", sort=False).groups.items():
            idx = idx.to_numpy()
            self.groups[key] = (years[idx], kms[idx], [records[i] for i in idx])

    def count(self, model_key) -> int:
        return len(self.groups[model_key][2]) if isinstance(model_key, str) and model_key in self.groups else 0

    def nearest(self, model_key, model_year, mileage_km, k: int = 3, exclude=None) -> list[dict]:
        """The k listings of this model closest in year and mileage, never the listing `exclude` itself."""
        group = self.groups.get(model_key) if isinstance(model_key, str) else None
        if group is None:
            return []
        years, kms, records = group
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-missing years or mileages: the gaps become NaN
            year = model_year if pd.notna(model_year) else np.nanmedian(years)
            km = mileage_km if pd.notna(mileage_km) else np.nanmedian(kms)
            year_gap = np.abs(years - year)
            km_gap = np.abs(kms - km) / 25_000
        # One model year apart weighs as much as 25,000 km.
        score = np.where(np.isnan(year_gap), 3.0, year_gap) + np.where(np.isnan(km_gap), 2.0, km_gap)
        order = np.argsort(score, kind="stable")
        if exclude is not None:
            return [dict(records[i]) for i in order[: k + 1] if records[i]["listing_key"] != exclude][:k]
        return [dict(records[i]) for i in order[:k]]
