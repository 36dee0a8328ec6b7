"""Evaluate the price method on CSV exports, the honest way.

    python -m ml.price.evaluate --cv 5 --csv PATH [PATH…]
    python -m ml.price.evaluate --train PATH [PATH…] --test PATH

The files go through the project's CSV importer and dbt cleaning in a temporary data directory. Scoring
protocol: every row with a parseable price between 10,000 and 5,000,000 DH is scored, after exact duplicate
rows are removed (ignoring URL/link and index columns). Cleaning may drop rows from training, never from
scoring: a scored row is taken in its normalized form (dbt's int_listings_normalized, before any
rejection), and a row the importer rejected counts as a 100% error. Training never sees a vehicle that
has a listing in the test fold. Prints one JSON line last.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ml.price.metrics import PRICE_BAND_LABELS, price_band, regression_metrics
from ml.price.train import MAX_PRICE_DH, MIN_PRICE_DH, fit_price_model

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO_ROOT / "dbt_project"


def scoring_rows(path: Path) -> pd.DataFrame:
    """The rows the protocol scores: (import_file, import_row, price_dh), duplicates ignoring URL removed."""
    from autolist_assets.sources.csv_import import (
        COLUMN_ALIASES, IGNORED_HEADERS, _sniff_delimiter, map_columns, normalize_header,
    )
    from autolist_assets.sources.text import parse_price_dh

    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text), delimiter=_sniff_delimiter(text[:4096]))
    headers = next(reader)
    records = [(line, r) for line, r in enumerate(reader, start=2) if len(r) == len(headers) and any(v.strip() for v in r)]
    frame = pd.DataFrame([r for _, r in records], columns=headers, dtype="string")
    frame["import_row"] = [line for line, _ in records]
    mapping, _ = map_columns(headers, frame[headers])
    url_aliases = set(COLUMN_ALIASES["url"])
    compared = [h for h in headers if normalize_header(h) not in url_aliases | IGNORED_HEADERS]
    frame = frame[~frame.duplicated(subset=compared, keep="first")]
    price_header = next(h for h, field in mapping.items() if field == "price_text")
    cleaned = frame[price_header].str.replace("[\u00a0\u202f]", " ", regex=True).str.strip()
    price = pd.to_numeric(cleaned.map(lambda v: parse_price_dh(v) if isinstance(v, str) else None), errors="coerce")
    keep = price.between(MIN_PRICE_DH, MAX_PRICE_DH)
    return pd.DataFrame({"import_file": path.name, "import_row": frame["import_row"][keep].astype(int),
                         "price_dh": price[keep].astype(float)}).reset_index(drop=True)


def build_warehouse(paths: list[Path], workdir: Path) -> Path:
    """Import the files and run dbt build into workdir; returns the warehouse path."""
    from autolist_assets.sources.csv_import import load_csv_exports

    warehouse = workdir / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    try:
        load_csv_exports(paths, con, "auto", os.environ.get("AUTOLIST_PII_SALT", "evaluation"))
    finally:
        con.close()
    dbt = Path(sys.executable).parent / "dbt"
    env = {**os.environ, "AUTOLIST_DATA_DIR": str(workdir)}
    done = subprocess.run(
        [str(dbt), "build", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
         "--target-path", str(workdir / "target"), "--log-path", str(workdir / "target"), "--quiet"],
        env=env, capture_output=True, text=True,
    )
    if done.returncode != 0:
        # dbt tests may fail on messy real data; the models are built all the same.
        print(f"note: dbt build exited {done.returncode} (failing tests are reported, models still built)",
              file=sys.stderr)
    return warehouse


def _table(con, *names: str, order_by: str = "listing_key") -> pd.DataFrame | None:
    # Ordered: a parallel dbt build stores rows in no fixed order, and the split and the training follow row order,
    # so two evaluations of the same files would otherwise train different models.
    for name in names:
        try:
            return con.execute(f"select * from {name} order by {order_by}").df()
        except duckdb.Error:
            continue
    return None


def load_tables(warehouse: Path) -> dict[str, pd.DataFrame | None]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        normalized = _table(con, "intermediate.int_listings_normalized", "staging.stg_imports__listings",
                            order_by="import_file, import_row")
        if normalized is not None and "model" not in normalized and "model_raw" in normalized:
            alias = normalized["model_alias"] if "model_alias" in normalized else None
            normalized["model"] = normalized["model_raw"] if alias is None else alias.fillna(normalized["model_raw"])
        return {
            "cleaned": _table(con, "main.fct_listings"),
            "normalized": normalized,
            "vehicles": _table(con, "intermediate.int_listing_vehicles"),
        }
    finally:
        con.close()


def _score_fold(model, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimate and 90% range for each scored row; NaN where the importer rejected the row."""
    estimate = np.full(len(rows), np.nan)
    low = np.full(len(rows), np.nan)
    high = np.full(len(rows), np.nan)
    present = rows["listing_key"].notna().to_numpy()
    if present.any():
        scored = model.score(rows[present], explain=False)
        estimate[present] = scored["predicted_price_dh"].to_numpy()
        low[present], high[present] = scored["low_90_dh"].to_numpy(), scored["high_90_dh"].to_numpy()
    return estimate, low, high


def _summary(actual, estimate, low, high, started: float, extra: dict) -> dict:
    scored = np.isfinite(estimate)
    metrics = regression_metrics(actual, np.where(scored, estimate, np.nan), scored)
    covered = scored & (actual >= np.nan_to_num(low, nan=np.inf)) & (actual <= np.nan_to_num(high, nan=-np.inf))
    bands = price_band(actual).astype(str).to_numpy()
    by_band = {}
    for band in PRICE_BAND_LABELS:
        mask = bands == band
        if mask.any():
            part = regression_metrics(actual[mask], np.where(scored[mask], estimate[mask], np.nan), scored[mask])
            by_band[band] = {"rows": int(mask.sum()), "median_ape": round(part["median_ape"], 4),
                             "mape": round(part["mape"], 4), "coverage_90": round(float(covered[mask].mean()), 4)}
    return {
        "rows": int(len(actual)),
        "r2_price": round(metrics["r2_price"], 4),
        "r2_log": round(metrics["r2_log"], 4),
        "mae_dh": round(metrics["mae_dh"]),
        "mape": round(metrics["mape"], 4),
        "median_ape": round(metrics["median_ape"], 4),
        "coverage_90": round(float(covered.mean()), 4),
        "unscored": int((~scored).sum()),
        "by_band": by_band,
        **extra,
        "seconds": round(time.perf_counter() - started, 1),
    }


def _scoring_frame(files: list[Path], normalized: pd.DataFrame) -> pd.DataFrame:
    rows = pd.concat([scoring_rows(p) for p in files], ignore_index=True)
    features = normalized.drop(columns=["price_dh"], errors="ignore")
    return rows.merge(features, on=["import_file", "import_row"], how="left")


def _train_frame(cleaned: pd.DataFrame, vehicles: pd.DataFrame | None, train_keys: set, test_keys: set) -> pd.DataFrame:
    train = cleaned[cleaned["listing_key"].isin(train_keys)]
    if vehicles is not None and "vehicle_id" in cleaned:
        # A vehicle seen in the test fold (as any of its listings) stays out of training entirely.
        held = set(vehicles.loc[vehicles["listing_key"].isin(test_keys), "vehicle_id"])
        train = train[~train["vehicle_id"].isin(held)]
    return train


def evaluate_cv(files: list[Path], folds: int = 5, seed: int = 7) -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="autolist_eval_") as tmp:
        tables = load_tables(build_warehouse(files, Path(tmp)))
    rows = _scoring_frame(files, tables["normalized"])
    order = np.random.default_rng(seed).permutation(len(rows))
    fold_of = np.empty(len(rows), int)
    fold_of[order] = np.arange(len(rows)) % folds
    estimate = np.full(len(rows), np.nan)
    low, high = estimate.copy(), estimate.copy()
    for fold in range(folds):
        test = fold_of == fold
        train = _train_frame(tables["cleaned"], tables["vehicles"], set(rows.loc[~test, "listing_key"].dropna()),
                             set(rows.loc[test, "listing_key"].dropna()))
        model, _ = fit_price_model(train, split="random", valid_fraction=0.15)
        estimate[test], low[test], high[test] = _score_fold(model, rows[test].reset_index(drop=True))
    return _summary(rows["price_dh"].to_numpy(), estimate, low, high, started,
                    {"folds": folds, "files": [p.name for p in files]})


def evaluate_split(train_files: list[Path], test_file: Path) -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="autolist_eval_") as tmp:
        tables = load_tables(build_warehouse([*train_files, test_file], Path(tmp)))
    rows = _scoring_frame([test_file], tables["normalized"])
    cleaned = tables["cleaned"]
    train = cleaned[cleaned["import_file"].isin({p.name for p in train_files})] if "import_file" in cleaned else cleaned
    train = _train_frame(train, tables["vehicles"], set(train["listing_key"]), set(rows["listing_key"].dropna()))
    model, _ = fit_price_model(train, split="random", valid_fraction=0.15)
    estimate, low, high = _score_fold(model, rows)
    return _summary(rows["price_dh"].to_numpy(), estimate, low, high, started,
                    {"train_files": [p.name for p in train_files], "test_file": test_file.name})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.price.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", nargs="+", type=Path, help="files for cross-validation")
    parser.add_argument("--cv", type=int, default=5, help="number of folds (default 5)")
    parser.add_argument("--train", nargs="+", type=Path, help="files to train on")
    parser.add_argument("--test", type=Path, help="file to score")
    args = parser.parse_args(argv)
    if args.train and args.test:
        result = evaluate_split(args.train, args.test)
    elif args.csv:
        result = evaluate_cv(args.csv, args.cv)
    else:
        parser.error("give --csv PATH… (with --cv K) or --train PATH… --test PATH")
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
