"""Regression metrics in DH and in log price, overall and per segment."""

from __future__ import annotations

import numpy as np
import pandas as pd

PRICE_BANDS = [0, 50_000, 100_000, 200_000, 400_000, np.inf]
PRICE_BAND_LABELS = ["<50k", "50-100k", "100-200k", "200-400k", ">400k"]
AGE_BANDS = [-np.inf, 3, 7, 12, 20, np.inf]
AGE_BAND_LABELS = ["0-3y", "4-7y", "8-12y", "13-20y", ">20y"]


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    denominator = np.sum((y - y.mean()) ** 2)
    return float(1.0 - np.sum((y - p) ** 2) / denominator) if denominator > 0 else float("nan")


def regression_metrics(actual, predicted, scored=None) -> dict[str, float]:
    """MAE/RMSE in DH, R² on price and log price, MAPE and median APE.

    `scored` marks rows the model could score; the others count as a 100% error (their prediction is
    taken as 0 DH for the absolute error and as the median asking price for R²).
    """
    actual = np.asarray(actual, dtype="float64")
    predicted = np.asarray(predicted, dtype="float64")
    scored = np.ones(len(actual), bool) if scored is None else np.asarray(scored, bool) & np.isfinite(predicted)
    fallback = np.where(scored, predicted, np.median(actual) if len(actual) else 0.0)
    abs_error = np.where(scored, np.abs(predicted - actual), actual)
    ape = np.where(scored, abs_error / actual, 1.0)
    return {
        "rows": int(len(actual)),
        "mae_dh": float(np.mean(abs_error)) if len(actual) else float("nan"),
        "rmse_dh": float(np.sqrt(np.mean((fallback - actual) ** 2))) if len(actual) else float("nan"),
        "r2_price": _r2(actual, fallback),
        "r2_log": _r2(np.log(actual), np.log(np.maximum(fallback, 1.0))),
        "mape": float(np.mean(ape)) if len(actual) else float("nan"),
        "median_ape": float(np.median(ape)) if len(actual) else float("nan"),
    }


def price_band(price) -> pd.Series:
    return pd.cut(pd.Series(np.asarray(price, dtype="float64")), PRICE_BANDS, labels=PRICE_BAND_LABELS, right=False)


def age_band(age) -> pd.Series:
    return pd.cut(pd.Series(np.asarray(age, dtype="float64")), AGE_BANDS, labels=AGE_BAND_LABELS)


def segment_metrics(frame: pd.DataFrame, top_brands: int = 8) -> pd.DataFrame:
    """One row per segment (overall, brand, price band, age band) from columns actual, predicted[, scored, brand, age_years, covered_90]."""
    frame = frame.reset_index(drop=True)
    segments = {"overall": pd.Series("all", index=frame.index)}
    if "brand" in frame:
        top = frame["brand"].value_counts().head(top_brands).index
        segments["brand"] = frame["brand"].where(frame["brand"].isin(top), "other").fillna("other")
    segments["price band"] = price_band(frame["actual"]).astype(str)
    if "age_years" in frame:
        segments["age band"] = age_band(frame["age_years"]).astype(str).replace("nan", "unknown")
    rows = []
    for kind, labels in segments.items():
        for label, part in frame.groupby(labels.to_numpy(), sort=True):
            metrics = regression_metrics(part["actual"], part["predicted"], part.get("scored"))
            if "covered_90" in part:
                metrics["coverage_90"] = float(part["covered_90"].mean())
            rows.append({"segment": kind, "value": label, **metrics})
    return pd.DataFrame(rows)


def markdown_table(frame: pd.DataFrame) -> str:
    """A small markdown table without the tabulate dependency."""
    def fmt(value):
        if isinstance(value, float):
            return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3f}"
        return str(value)

    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])
