"""The price model's features, built the same way from warehouse rows, importer rows and API dicts.

Columns the warehouse may or may not carry yet (mileage_is_estimated, days_on_market, equipment_count,
region…) are used when present and left missing otherwise: LightGBM treats missing as its own branch.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CATEGORICAL = [
    "brand", "model", "fuel", "gearbox", "origin", "condition", "city", "region", "seller_type", "source",
]
NUMERIC = [
    "age_years", "model_year", "mileage_km", "mileage_is_estimated", "km_per_year", "fiscal_power", "doors",
    "first_owner", "equipment_count", "days_on_market",
]
FEATURES = NUMERIC + CATEGORICAL

# How contributions are grouped for explanations: one line per group, not per column.
FEATURE_GROUPS = {
    "age_years": "age", "model_year": "age", "mileage_km": "mileage", "km_per_year": "mileage",
    "mileage_is_estimated": "mileage", "brand": "brand", "model": "model", "fuel": "fuel", "gearbox": "gearbox",
    "origin": "origin", "condition": "condition", "city": "city", "region": "city", "seller_type": "seller",
    "source": "site", "fiscal_power": "fiscal power", "doors": "doors", "first_owner": "first owner",
    "equipment_count": "equipment", "days_on_market": "days on market",
    # The linear prior (ml.price.linear): what similar listings of this model and year ask.
    "linear_prior": "going rate",
}

# Placeholder mileages that sellers type when the form insists (999 999, 1 234 567…).
MILEAGE_PLACEHOLDER_KM = 990_000
YEAR = re.compile(r"(19|20)\d\d")
BUCKET = re.compile(r"^\s*(\d[\d\s\u202f\u00a0]*)\s*-\s*(\d[\d\s\u202f\u00a0]*)")
TOKEN = re.compile(r"[a-z0-9]+")
TITLE_CITY = re.compile(r"\s(?:à|a)\s+([^\d(]+?)\s*$", re.IGNORECASE)
MAX_TITLE_TOKENS = 120
MIN_TITLE_TOKEN_COUNT = 15
PLUS = re.compile(r"^\s*(?:plus de|>)\s*(\d[\d\s\u202f\u00a0]*)", re.IGNORECASE)


def normalize_key(value) -> str | None:
    """'MERCEDES-BENZ', 'Mercedes-Benz' and 'mercedes  benz' → 'mercedes benz' (as dbt's normalize_key)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    text = re.sub(r"\s+", " ", text.replace("-", " ").replace("_", " ")).strip().lower()
    return text or None


def bucket_midpoint(text) -> float:
    """'100 000 - 109 999' → 105 000; 'Plus de 500 000' → 500 000; anything else → NaN."""
    if not isinstance(text, str):
        return np.nan
    if match := BUCKET.match(text):
        low, high = (float(re.sub(r"\D", "", g)) for g in match.groups())
        return (low + high + 1) / 2 if high > low else low
    if match := PLUS.match(text):
        return float(re.sub(r"\D", "", match.group(1)))
    return np.nan


def title_tokens(title) -> frozenset:
    """Words of an ad title, accents stripped: trims and options ('amg', 'r line', 'full options') live there."""
    key = normalize_key(title)
    return frozenset(TOKEN.findall(key)) if key else frozenset()


def _title_city(title) -> str | None:
    return normalize_key(m.group(1)) if isinstance(title, str) and (m := TITLE_CITY.search(title)) else None


def _each_unique(series: pd.Series, function) -> pd.Series:
    """series.map(function), calling it once per distinct value: a million listings hold a few hundred
    brands and models, and reposted titles repeat."""
    codes, uniques = pd.factorize(series)  # missing values get code −1
    mapped = np.empty(len(uniques) + 1, dtype=object)
    for i, value in enumerate(uniques):
        mapped[i] = function(value)
    mapped[-1] = function(None)
    return pd.Series(mapped[codes], index=series.index, dtype=object)


def _column(frame: pd.DataFrame, *names: str) -> pd.Series:
    for name in names:
        if name in frame.columns:
            return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype="object")


def _numeric(series: pd.Series) -> pd.Series:
    if series.dtype == object:
        series = series.map(lambda v: {True: 1.0, False: 0.0}.get(v, v) if isinstance(v, bool) else v)
    return pd.to_numeric(series, errors="coerce").astype("float64")


def _reference_year(frame: pd.DataFrame) -> pd.Series:
    """The year the price was asked: posting date, else scrape date, else the scrape timestamp, else today."""
    year = pd.Series(np.nan, index=frame.index)
    for name in ("posted_date", "posted_at", "scrape_date", "scraped_at"):
        if name in frame.columns:
            values = pd.to_datetime(frame[name], errors="coerce", utc=True)
            year = year.fillna(values.dt.year.astype("float64"))
    return year.fillna(float(pd.Timestamp.now().year))


def base_frame(listings: pd.DataFrame) -> pd.DataFrame:
    """Numeric features and normalized category keys, before categories are fixed."""
    model_year = _numeric(_column(listings, "model_year", "year"))
    mileage = _numeric(_column(listings, "mileage_km"))
    mileage = mileage.mask((mileage >= MILEAGE_PLACEHOLDER_KM) | (mileage < 0))
    # On a car two or more years old, 150 means 150 000 km (typed in thousands) and 0 means "not given".
    old = (_reference_year(listings) - model_year) >= 2
    mileage = mileage.mask(old & (mileage >= 1) & (mileage < 1000), mileage * 1000).mask(old & (mileage == 0))
    estimated = _numeric(_column(listings, "mileage_is_estimated")).fillna(0.0)
    if "mileage_midpoint_km" in listings.columns:
        midpoint = _numeric(listings["mileage_midpoint_km"])
    else:
        midpoint = _column(listings, "mileage_text").map(bucket_midpoint).astype("float64")
    from_bucket = mileage.isna() & midpoint.notna()
    mileage = mileage.fillna(midpoint)
    estimated = estimated.where(~from_bucket, 1.0)
    age = (_reference_year(listings) - model_year).clip(lower=0)
    equipment = _numeric(_column(listings, "equipment_count"))
    if equipment.isna().all() and "equipment" in listings.columns:
        equipment = listings["equipment"].map(lambda v: float(len(v)) if hasattr(v, "__len__") and not isinstance(v, str) else np.nan)
    frame = pd.DataFrame(
        {
            "age_years": age,
            "model_year": model_year,
            "mileage_km": mileage,
            "mileage_is_estimated": estimated,
            # Adding one year keeps brand-new cars (age 0) finite.
            "km_per_year": mileage / (age + 1.0),
            "fiscal_power": _numeric(_column(listings, "fiscal_power")).mask(lambda s: (s <= 0) | (s > 60)),
            "doors": _numeric(_column(listings, "doors")),
            "first_owner": _numeric(_column(listings, "first_owner")),
            "equipment_count": equipment,
            "days_on_market": _numeric(_column(listings, "days_on_market")),
        },
        index=listings.index,
    )
    brand = _each_unique(_column(listings, "brand", "brand_raw"), normalize_key)
    frame["brand"] = brand
    model = _each_unique(_column(listings, "model", "model_raw"), normalize_key)
    # A model name means little without its brand ("Classe C" only exists at Mercedes).
    frame["model"] = [f"{b}|{m}" if m else None for b, m in zip(brand, model)]
    for name in ("fuel", "gearbox", "origin", "condition", "region", "seller_type", "source"):
        frame[name] = _each_unique(_column(listings, name), normalize_key)
    city = _each_unique(_column(listings, "city", "city_raw"), normalize_key)
    # Avito titles often end with "… à Casablanca" when the export has no city column.
    from_title = _each_unique(_column(listings, "title"), _title_city)
    frame["city"] = city.where(city.notna(), from_title)
    frame["title_tokens"] = _each_unique(_column(listings, "title"), title_tokens)
    return frame


def _value(record: dict, *names: str):
    for name in names:
        if name in record:
            return record[name]
    return None


def to_number(value) -> float:
    """One value as _numeric converts a column: bools to 1/0, unparseable to NaN."""
    if value is None or value is pd.NA or value is pd.NaT:
        return np.nan
    if isinstance(value, (bool, np.bool_)):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    return float(pd.to_numeric(pd.Series([value], dtype="object"), errors="coerce").astype("float64").iloc[0])


def _record_year(record: dict) -> float:
    for name in ("posted_date", "posted_at", "scrape_date", "scraped_at"):
        value = record.get(name)
        if value is not None:
            stamp = pd.to_datetime(value, errors="coerce", utc=True)
            if stamp is not pd.NaT and not pd.isna(stamp):
                return float(stamp.year)
    return float(pd.Timestamp.now().year)


def base_record(record: dict) -> dict:
    """base_frame for one listing given as a dict, without building a DataFrame (the estimator's path).

    Same values as base_frame(pd.DataFrame([record])).iloc[0]; a test holds the two to that."""
    model_year = to_number(_value(record, "model_year", "year"))
    mileage = to_number(record.get("mileage_km"))
    if mileage >= MILEAGE_PLACEHOLDER_KM or mileage < 0:
        mileage = np.nan
    if _record_year(record) - model_year >= 2 and 1 <= mileage < 1000:
        mileage *= 1000
    elif _record_year(record) - model_year >= 2 and mileage == 0:
        mileage = np.nan
    estimated = to_number(record.get("mileage_is_estimated"))
    estimated = 0.0 if np.isnan(estimated) else estimated
    if "mileage_midpoint_km" in record:
        midpoint = to_number(record["mileage_midpoint_km"])
    else:
        midpoint = bucket_midpoint(record.get("mileage_text"))
    if np.isnan(mileage) and not np.isnan(midpoint):
        mileage, estimated = midpoint, 1.0
    age = _record_year(record) - model_year
    age = max(age, 0.0) if not np.isnan(age) else np.nan
    equipment = to_number(record.get("equipment_count"))
    if np.isnan(equipment) and "equipment" in record:
        value = record["equipment"]
        equipment = float(len(value)) if hasattr(value, "__len__") and not isinstance(value, str) else np.nan
    fiscal = to_number(record.get("fiscal_power"))
    out = {
        "age_years": age,
        "model_year": model_year,
        "mileage_km": mileage,
        "mileage_is_estimated": estimated,
        "km_per_year": mileage / (age + 1.0),
        "fiscal_power": np.nan if fiscal <= 0 or fiscal > 60 else fiscal,
        "doors": to_number(record.get("doors")),
        "first_owner": to_number(record.get("first_owner")),
        "equipment_count": equipment,
        "days_on_market": to_number(record.get("days_on_market")),
    }
    brand = normalize_key(_value(record, "brand", "brand_raw"))
    model = normalize_key(_value(record, "model", "model_raw"))
    out["brand"] = brand
    out["model"] = f"{brand}|{model}" if model else None
    for name in ("fuel", "gearbox", "origin", "condition", "region", "seller_type", "source"):
        out[name] = normalize_key(record.get(name))
    city = normalize_key(_value(record, "city", "city_raw"))
    title = record.get("title")
    if city is None and isinstance(title, str) and (match := TITLE_CITY.search(title)):
        city = normalize_key(match.group(1))
    out["city"] = city
    out["title_tokens"] = title_tokens(title)
    return out


@dataclass
class FeatureSchema:
    """The categories seen at training: scoring encodes them identically, unseen values become missing."""

    categories: dict[str, list[str]] = field(default_factory=dict)
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    _lookup: dict = field(default_factory=dict, repr=False)

    tokens: list[str] = field(default_factory=list)

    @classmethod
    def fit(cls, base: pd.DataFrame, min_count: int = 2) -> "FeatureSchema":
        categories = {}
        for name in CATEGORICAL:
            counts = base[name].value_counts()
            categories[name] = sorted(counts[counts >= min_count].index.tolist())
        # Title words frequent enough to learn from, except years (model_year has them) and the words
        # already captured as brand or model.
        counts = pd.Series([t for tokens in base["title_tokens"] for t in tokens], dtype="object").value_counts()
        known = {w for v in categories["brand"] + categories["model"] for w in TOKEN.findall(v)}
        # Equal counts rank by the word itself: value_counts would keep first-appearance order, which follows the
        # frozensets' iteration order, and so the process's string hash seed: two trainings on the same rows
        # then chose different words, or the same words in another column order, and grew different trees.
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        tokens = [t for t, n in ranked if n >= MIN_TITLE_TOKEN_COUNT and not YEAR.fullmatch(t)
                  and t not in known and len(t) > 1][:MAX_TITLE_TOKENS]
        features = list(FEATURES) + [f"title_{t}" for t in tokens]
        return cls(categories=categories, features=features, tokens=tokens)

    def _token_matrix(self, base: pd.DataFrame) -> np.ndarray:
        position = {t: j for j, t in enumerate(self.tokens)}
        out = np.zeros((len(base), len(self.tokens)), dtype="float64")
        for i, tokens in enumerate(base["title_tokens"]):
            for t in tokens:
                if (j := position.get(t)) is not None:
                    out[i, j] = 1.0
        return out

    def encode(self, base: pd.DataFrame) -> pd.DataFrame:
        out = base[NUMERIC].copy()
        for name in CATEGORICAL:
            out[name] = pd.Categorical(base[name], categories=self.categories.get(name, []))
        if self.tokens:
            tokens = pd.DataFrame(self._token_matrix(base), columns=[f"title_{t}" for t in self.tokens], index=base.index)
            out = pd.concat([out, tokens], axis=1)
        return out[self.features]

    def matrix(self, base: pd.DataFrame) -> np.ndarray:
        """The same encoding as a float matrix (category codes, NaN when unseen): LightGBM predicts from it
        without its slow pandas conversion, with codes identical to the training frame's."""
        out = np.empty((len(base), len(self.features)), dtype="float64")
        if self.tokens:
            out[:, len(self.features) - len(self.tokens):] = self._token_matrix(base)
        for j, name in enumerate(self.features[: len(self.features) - len(self.tokens)]):
            if name in self.categories:
                lookup = self._lookup.setdefault(name, {v: i for i, v in enumerate(self.categories[name])})
                out[:, j] = [lookup.get(v, np.nan) for v in base[name]]
            else:
                out[:, j] = base[name].to_numpy(dtype="float64", na_value=np.nan)
        return out

    def vector(self, record: dict) -> np.ndarray:
        """matrix() for one base_record: a 1×n float array, with the same codes."""
        out = np.zeros((1, len(self.features)), dtype="float64")
        plain = len(self.features) - len(self.tokens)
        for j, name in enumerate(self.features[:plain]):
            value = record.get(name)
            if name in self.categories:
                lookup = self._lookup.setdefault(name, {v: i for i, v in enumerate(self.categories[name])})
                code = lookup.get(value)
                out[0, j] = np.nan if code is None else code
            else:
                out[0, j] = np.nan if value is None else value
        if self.tokens:
            position = self._lookup.setdefault("title tokens", {t: j for j, t in enumerate(self.tokens)})
            for token in record.get("title_tokens", ()):
                if (j := position.get(token)) is not None:
                    out[0, plain + j] = 1.0
        return out

    def to_json(self) -> dict:
        return {"features": self.features, "numeric": NUMERIC, "categorical": CATEGORICAL,
                "categories": self.categories, "title_tokens": self.tokens, "groups": FEATURE_GROUPS}

    @classmethod
    def from_json(cls, data: dict) -> "FeatureSchema":
        return cls(categories=data["categories"], features=data["features"], tokens=data.get("title_tokens", []))


def build_features(listings: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """The encoded feature frame for any listing-shaped frame."""
    return schema.encode(base_frame(listings))
