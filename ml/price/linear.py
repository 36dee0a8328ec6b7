"""A linear price prior: ridge regression of log price on one-hot categories and their crossings with the
model year, smooth age and mileage terms, and the words of the ad title (tf-idf of word uni- and bigrams).

LightGBM gets its out-of-fold prediction as one more feature (stacking). Trees split a rare model's few
listings poorly and cannot read trims from free text ("amg", "r line", "gt line", "pack 7,5"); a ridge
shrinks every such coefficient towards zero and adds them up, which is what the trees then refine.

One design matrix serves the batch and the one-row path, column for column; predictions are rounded to
1e-6 so the two paths agree exactly even if a sum is taken in another order. Several coefficient sets
share it: set 0 is fitted on every row, set k+1 on every row outside cross-fitting fold k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from ml.price.features import TOKEN, normalize_key

CROSSINGS = {  # one-hot blocks: a base column, or "a+b" for the crossing of two
    "brand": ("brand",), "model": ("model",), "fuel": ("fuel",), "gearbox": ("gearbox",), "origin": ("origin",),
    "condition": ("condition",), "city": ("city",), "model+year": ("model", "model_year"),
    "brand+year": ("brand", "model_year"), "model+fuel": ("model", "fuel"), "model+gearbox": ("model", "gearbox"),
    "model+age5": ("model", "age5"),
}
NUMERIC_TERMS = 6
MIN_TERM_COUNT = 2
ROUND = 6


def _key(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return str(value)


def _keys(values) -> pd.Series:
    """_key of every value of a column, vectorized."""
    series = pd.Series(values)
    if series.dtype.kind == "f":
        v = series.to_numpy(dtype="float64")
        out = np.full(len(v), "?", dtype=object)
        whole = np.isfinite(v) & (v == np.floor(v))
        out[whole] = v[whole].astype(np.int64).astype(str)
        other = ~whole & ~np.isnan(v)
        out[other] = [str(x) for x in v[other]]
        return pd.Series(out, dtype=object)
    codes, uniques = pd.factorize(series)
    mapped = np.array([_key(u) for u in uniques] + ["?"], dtype=object)
    return pd.Series(mapped[codes], dtype=object)


def title_text(title, record) -> str:
    """The title, or when there is none, one shaped like Avito's own titles from the fields we have."""
    if isinstance(title, str) and title.strip():
        return title
    model = record.get("model")
    parts = [model.replace("|", " ") if isinstance(model, str) else record.get("brand"), record.get("fuel"),
             record.get("gearbox"), _key(record.get("model_year")) if record.get("model_year") is not None else None]
    return " ".join(p for p in parts if isinstance(p, str) and p and p != "?")


def _texts(base: pd.DataFrame, titles) -> np.ndarray:
    """title_text of every row: the title, else one made from the fields."""
    out = np.array([t if isinstance(t, str) and t.strip() else None for t in titles], dtype=object)
    missing = np.flatnonzero(pd.isna(out))
    if len(missing):
        records = base[["brand", "model", "fuel", "gearbox", "model_year"]].iloc[missing].to_dict("records")
        out[missing] = [title_text(None, r) for r in records]
    return out


def terms(text: str) -> list[str]:
    words = [w for w in TOKEN.findall(normalize_key(text) or "") if len(w) > 1]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def _fields(record: dict) -> dict:
    """The one-hot values of one listing (base_record / base_frame row)."""
    age = record.get("age_years")
    age5 = "?" if age is None or math.isnan(age) else str(int(age // 5))
    plain = {"brand": record.get("brand"), "model": record.get("model"), "fuel": record.get("fuel"),
             "gearbox": record.get("gearbox"), "origin": record.get("origin"), "condition": record.get("condition"),
             "city": record.get("city"), "model_year": record.get("model_year"), "age5": age5}
    return {name: "|".join(_key(plain[c]) for c in columns) for name, columns in CROSSINGS.items()}


def _block_values(base: pd.DataFrame) -> dict[str, pd.Series]:
    """The one-hot value of every listing in every block, vectorized (_fields does one listing)."""
    keys = {name: _keys(base[name]) for name in ("brand", "model", "fuel", "gearbox", "origin", "condition", "city")}
    keys["model_year"] = _keys(base["model_year"].to_numpy(dtype="float64", na_value=np.nan))
    keys["age5"] = _keys(np.floor_divide(base["age_years"].to_numpy(dtype="float64", na_value=np.nan), 5))
    out = {}
    for name, columns in CROSSINGS.items():
        value = keys[columns[0]]
        for c in columns[1:]:
            value = value + "|" + keys[c]
        out[name] = value
    return out


def _raw_numeric(age: float, km: float) -> list[float]:
    return [age, age * age / 10, math.log1p(km), math.log1p(km) ** 2 / 10]


@dataclass
class LinearPrior:
    blocks: dict[str, dict[str, int]] = field(default_factory=dict)  # one-hot block → value → column
    vocabulary: dict[str, int] = field(default_factory=dict)  # title term → column
    idf: list[float] = field(default_factory=list)
    fill: list[float] = field(default_factory=list)  # median age and mileage
    mean: list[float] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    coefs: list[list[float]] = field(default_factory=list)
    intercepts: list[float] = field(default_factory=list)
    alpha: float = 1.0
    # The final log price is (1 − weight) × LightGBM + weight × this prior; weight is chosen on
    # out-of-fold predictions. center (the prior's mean) splits its share into effect and base value.
    weight: float = 0.0
    center: float = 0.0
    _arrays: dict = field(default_factory=dict, repr=False)

    # ---------------------------------------------------------------- design matrix

    def _offset(self) -> tuple[int, int]:
        one_hot = sum(len(v) for v in self.blocks.values())
        return NUMERIC_TERMS, NUMERIC_TERMS + one_hot

    def _numeric(self, age, km) -> list[float]:
        missing = [1.0 if age is None or math.isnan(age) else 0.0, 1.0 if km is None or math.isnan(km) else 0.0]
        age = self.fill[0] if missing[0] else float(age)
        km = self.fill[1] if missing[1] else max(float(km), 0.0)
        raw = _raw_numeric(age, km) + missing
        return [(v - m) / s for v, m, s in zip(raw, self.mean, self.scale)]

    def _row(self, record: dict, title) -> tuple[list[int], list[float]]:
        """Column indices (ascending) and values of one listing's design row."""
        columns = list(range(NUMERIC_TERMS))
        values = self._numeric(record.get("age_years"), record.get("mileage_km"))
        start = NUMERIC_TERMS
        for name, value in _fields(record).items():
            block = self.blocks[name]
            if (j := block.get(value)) is not None:
                columns.append(start + j)
                values.append(1.0)
            start += len(block)
        text, weights = self._text_row(title_text(title, record))
        columns += [start + j for j in text.tolist()]
        values += weights.tolist()
        return columns, values

    def _text_row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Vocabulary columns (ascending) and l2-normalized sublinear tf-idf weights of one text."""
        counts: dict[int, int] = {}
        for term in terms(text):
            if (j := self.vocabulary.get(term)) is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.empty(0, np.int64), np.empty(0)
        idf = self._idf()
        columns = sorted(counts)
        weights = [(1.0 + math.log(counts[j])) * idf[j] for j in columns]
        norm = math.sqrt(sum(w * w for w in weights))
        return np.array(columns, dtype=np.int64), np.array([w / norm for w in weights])

    def design(self, base: pd.DataFrame, titles) -> sparse.csr_matrix:
        """The design rows of a base frame: the same columns and values as _row, built column-wise."""
        n = len(base)
        raw = self._raw_columns(base)
        rows_, cols_, vals_ = [], [], []
        every = np.arange(n)
        for j, (v, m, sd) in enumerate(zip(raw, self.mean, self.scale)):
            rows_.append(every), cols_.append(np.full(n, j)), vals_.append((v - m) / sd)
        start = NUMERIC_TERMS
        for name, value in _block_values(base).items():
            block = self.blocks[name]
            index = self._arrays.get(("index", name))
            if index is None:
                index = self._arrays[("index", name)] = pd.Index(list(block))
            code = index.get_indexer(value.to_numpy())
            hit = code >= 0
            rows_.append(every[hit]), cols_.append(start + code[hit]), vals_.append(np.ones(hit.sum()))
            start += len(block)
        if self.vocabulary:
            # Term weights once per distinct text: reposted ads and generated titles repeat a lot.
            texts = _texts(base, titles)
            codes, uniques = pd.factorize(texts)
            per_text = [self._text_row(t) for t in uniques]
            lengths = np.array([len(c) for c, _ in per_text], dtype=np.int64)[codes]
            rows_.append(np.repeat(np.arange(n), lengths))
            cols_.append(np.concatenate([per_text[c][0] for c in codes] or [np.empty(0, np.int64)]) + start)
            vals_.append(np.concatenate([per_text[c][1] for c in codes] or [np.empty(0)]))
        width = self._offset()[1] + len(self.vocabulary)
        X = sparse.coo_matrix((np.concatenate(vals_), (np.concatenate(rows_), np.concatenate(cols_))),
                              shape=(n, width)).tocsr()
        X.sort_indices()
        return X

    def _raw_columns(self, base: pd.DataFrame) -> list[np.ndarray]:
        age = base["age_years"].to_numpy(dtype="float64", na_value=np.nan)
        km = base["mileage_km"].to_numpy(dtype="float64", na_value=np.nan)
        missing_age, missing_km = np.isnan(age), np.isnan(km)
        a = np.where(missing_age, self.fill[0], age)
        k = np.where(missing_km, self.fill[1], np.maximum(km, 0.0))
        return [a, a * a / 10, np.log1p(k), np.log1p(k) ** 2 / 10, missing_age.astype(float), missing_km.astype(float)]

    def _idf(self) -> np.ndarray:
        if "idf" not in self._arrays:
            self._arrays["idf"] = np.asarray(self.idf)
        return self._arrays["idf"]

    # ---------------------------------------------------------------- fit and predict

    @classmethod
    def fit(cls, base: pd.DataFrame, titles: list, y: np.ndarray, folds: np.ndarray, n_folds: int,
            alpha: float = 1.0, max_rows: int | None = None,
            clean_ratio: float | None = None) -> tuple["LinearPrior", np.ndarray, np.ndarray]:
        """Fit set 0 on all rows and set k+1 without fold k. Returns the prior, each row's out-of-fold
        prediction (from the set that did not see it) and which rows the sets were fitted on.

        With clean_ratio, a first pass finds prices that far off their out-of-fold prediction (typos:
        23 000 for 230 000) and a second pass fits without them: squared loss lets a tenfold typo pull a
        rare model's coefficients a long way. Above max_rows the sets are fitted on a random sample."""
        blocks = {name: {v: j for j, v in enumerate(sorted(set(values)))} for name, values in _block_values(base).items()}
        codes, uniques = pd.factorize(_texts(base, titles))
        repeats = np.bincount(codes, minlength=len(uniques))
        document_frequency: dict[str, int] = {}
        for text, times in zip(uniques, repeats.tolist()):
            for term in set(terms(text)):
                document_frequency[term] = document_frequency.get(term, 0) + times
        kept = sorted(t for t, n in document_frequency.items() if n >= MIN_TERM_COUNT)
        n = len(base)
        prior = cls(blocks=blocks, vocabulary={t: j for j, t in enumerate(kept)},
                    idf=[math.log((1 + n) / (1 + document_frequency[t])) + 1 for t in kept], alpha=alpha)
        age = base["age_years"].to_numpy(dtype="float64", na_value=np.nan)
        km = base["mileage_km"].to_numpy(dtype="float64", na_value=np.nan)
        prior.fill = [float(np.nanmedian(age)) if np.isfinite(age).any() else 5.0,
                      float(np.nanmedian(km)) if np.isfinite(km).any() else 100_000.0]
        raw = np.column_stack(prior._raw_columns(base))
        prior.mean, prior.scale = raw.mean(0).tolist(), (raw.std(0) + 1e-9).tolist()
        X = prior.design(base, titles)
        use = np.ones(n, bool)
        if max_rows and n > max_rows:
            use[:] = False
            use[np.random.default_rng(3).choice(n, max_rows, replace=False)] = True
        out = prior._fit_sets(X, y, use, folds, n_folds)
        if clean_ratio:
            use &= np.abs(y - out) < np.log(clean_ratio)
            prior.coefs, prior.intercepts = [], []
            out = prior._fit_sets(X, y, use, folds, n_folds)
        return prior, out, use

    def _fit_sets(self, X: sparse.csr_matrix, y: np.ndarray, use: np.ndarray, folds: np.ndarray, n_folds: int) -> np.ndarray:
        from sklearn.linear_model import Ridge

        out = np.empty(X.shape[0])
        for k in range(n_folds + 1):
            rows = use if k == 0 else use & (folds != k - 1)
            # Centring the target instead of fitting an intercept keeps X sparse for the solver (sklearn
            # centres X otherwise, dense work in every iteration); standardized numeric columns and the
            # penalised one-hots absorb what is left.
            mean = float(y[rows].mean())
            ridge = Ridge(alpha=self.alpha, solver="sparse_cg", fit_intercept=False, tol=1e-3).fit(X[rows], y[rows] - mean)
            self.coefs.append(ridge.coef_.tolist())
            self.intercepts.append(mean)
            if k > 0:
                held = folds == k - 1
                out[held] = X[held] @ ridge.coef_ + mean
        self._arrays.clear()
        return np.round(out, ROUND)

    def _coef(self, which: int) -> np.ndarray:
        if ("coef", which) not in self._arrays:
            self._arrays[("coef", which)] = np.asarray(self.coefs[which])
        return self._arrays[("coef", which)]

    def predict(self, base: pd.DataFrame, titles, which: np.ndarray | int = 0) -> np.ndarray:
        """Log price per row; `which` names the coefficient set per row (0 = all rows, k+1 = without fold k)."""
        X = self.design(base, titles)
        which = np.broadcast_to(np.asarray(which), (X.shape[0],))
        out = np.empty(X.shape[0])
        for k in np.unique(which):
            rows = which == k
            out[rows] = X[rows] @ self._coef(int(k)) + self.intercepts[int(k)]
        return np.round(out, ROUND)

    def predict_one(self, record: dict, title, which: int = 0) -> float:
        columns, values = self._row(record, title)
        coef = self._coef(which)
        total = 0.0
        for j, v in zip(columns, values):
            total += v * coef[j]
        return float(np.round(total + self.intercepts[which], ROUND))

    def to_json(self) -> dict:
        return {"blocks": self.blocks, "vocabulary": self.vocabulary, "idf": self.idf, "fill": self.fill,
                "mean": self.mean, "scale": self.scale, "coefs": self.coefs, "intercepts": self.intercepts,
                "alpha": self.alpha, "weight": self.weight, "center": self.center}

    @classmethod
    def from_json(cls, data: dict) -> "LinearPrior":
        return cls(**data)
