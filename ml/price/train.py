"""Training: cleaning for training, a time-aware split, LightGBM with early stopping, conformal calibration
on the held-out listings, and the candidate comparison (LightGBM, XGBoost, Random Forest,
HistGradientBoosting, MLP, ridge) on that same split.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import datetime, timezone

import lightgbm as lgb
import numpy as np
import pandas as pd

from ml.price.conformal import Conformal
from ml.price.features import CATEGORICAL, NUMERIC, FeatureSchema, base_frame
from ml.price.linear import LinearPrior
from ml.price.metrics import regression_metrics, segment_metrics
from ml.price.model import PRIOR_FEATURE, PriceModel, comparables_frame, fold_of, key_hashes

MIN_PRICE_DH, MAX_PRICE_DH = 10_000, 5_000_000
MIN_TRAINING_ROWS = 50
CLEAN_RATIO = 3.0  # a training price this many times off the linear prior is taken for a typo
LINEAR_ALPHA = 1.0
LINEAR_MAX_ROWS = 100_000  # the prior's ridge fits on a sample above this
CROSS_FIT_FOLDS = 5
CROSS_FIT_MAX_ROWS = 100_000  # each fold model trains on a sample above this (1M rows: 5 × 100k)
CALIBRATION_MAX_ROWS = 200_000  # out-of-fold residuals for the ranges and the blend weight
LGB_PARAMS = {
    "objective": "huber",
    "alpha": 0.15,  # huber threshold in log price: typo prices pull less than with squared error
    "learning_rate": 0.03,
    "num_leaves": 63,
    "min_data_in_leaf": 5,
    "feature_fraction": 0.5,  # chosen on the held-out newest fifth (by ad id), not on the CV folds
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    # Little smoothing of the category means: the linear prior already shrinks rare models towards their brand and
    # year, so the trees may trust a model's own listings. 5-fold CV on the Avito 2026 file, two fold draws: median APE
    # 7.44 / 7.60 % at 10 → 7.36 / 7.45 % at 1, MAE 28,488 / 28,823 → 28,243 / 28,548 DH; demo market unchanged.
    "cat_smooth": 1,
    "cat_l2": 10,
    "min_data_per_group": 5,
    "max_bin": 255,
    "verbose": -1,
    "seed": 7,
    "num_threads": 2,
}


MEDIUM_DATA_ROWS = 30_000
# Above MEDIUM_DATA_ROWS the step doubles: on the 60k e2e warehouse (42,101 listings) 0.06 stops in about 400
# rounds instead of 800, training 26 s → 15 s, for a validation median APE within the seed-to-seed spread (four
# seeds: 8.76 % against 8.78 % on average, MAE 21,255 against 21,296 DH). The real datasets of #5 are smaller
# and keep 0.03, where the smaller step still pays.
MEDIUM_DATA_PARAMS = {"learning_rate": 0.06}
SMALL_DATA_ROWS = 200_000
# Above SMALL_DATA_ROWS: a larger step and wider trees stop in fewer rounds at the same validation error.
# On 1M demo listings (bench/price_model.py): learning rate 0.1 with 63 leaves took 845 rounds and 152 s in
# all; 0.15 with 127 leaves takes about 355 rounds and 103 s, validation median APE 8.14 % both ways.
# A round costs about the same either way: feature histograms, not leaves, dominate it (column-wise is faster).
LARGE_DATA_PARAMS = {"learning_rate": 0.15, "num_leaves": 127, "force_col_wise": True}


def size_params(rows: int) -> dict:
    """The step and tree size for a training set of this many rows (over LGB_PARAMS)."""
    if rows > SMALL_DATA_ROWS:
        return LARGE_DATA_PARAMS
    return MEDIUM_DATA_PARAMS if rows > MEDIUM_DATA_ROWS else {}


def lgb_params(rows: int) -> dict:
    """LGB_PARAMS for a training set of this many rows. Up to SMALL_DATA_ROWS one thread trains faster than
    two on this machine (60k rows: 8 s against 22 s a model, the threads spending the difference waiting on
    each other), so small models run one per core instead (see _train_all)."""
    return {**LGB_PARAMS, "num_threads": 1} if rows <= SMALL_DATA_ROWS else dict(LGB_PARAMS)


def training_rows(listings: pd.DataFrame) -> pd.DataFrame:
    """Listings fit to learn from: a plausible asking price, one row per listing key."""
    price = pd.to_numeric(listings["price_dh"], errors="coerce")
    keep = listings[price.between(MIN_PRICE_DH, MAX_PRICE_DH)]
    if "listing_key" in keep:
        order = "scraped_at" if "scraped_at" in keep else None
        if order:
            keep = keep.sort_values(order)
        keep = keep.drop_duplicates("listing_key", keep="last")
    return keep.reset_index(drop=True)


def split_order(listings: pd.DataFrame, how: str = "time", seed: int = 7) -> np.ndarray:
    """Row order for splitting: by posting time (the model scores listings newer than its data), else random."""
    if how == "time":
        for name in ("posted_at", "scraped_at"):
            if name in listings:
                stamp = pd.to_datetime(listings[name], errors="coerce", utc=True)
                if stamp.notna().mean() > 0.9 and stamp.nunique() > 1:
                    return np.argsort(stamp.fillna(stamp.min()).to_numpy(), kind="stable")
    return np.random.default_rng(seed).permutation(len(listings))


def _window(listings: pd.DataFrame) -> tuple[str | None, str | None]:
    for name in ("posted_date", "posted_at", "scraped_at"):
        if name in listings:
            stamp = pd.to_datetime(listings[name], errors="coerce", utc=True).dropna()
            if len(stamp):
                return str(stamp.min().date()), str(stamp.max().date())
    return None, None


def fit_price_model(
    listings: pd.DataFrame,
    split: str = "time",
    valid_fraction: float = 0.2,
    max_rounds: int = 3000,
    refit: bool | None = None,
    params: dict | None = None,
    cross_fit: int = CROSS_FIT_FOLDS,
) -> tuple[PriceModel, pd.DataFrame]:
    """Train on the earlier listings, stop early on the latest ones, refit on all; cross-fit fold models.

    1. A linear prior (ml.price.linear) gives every listing an out-of-fold log price; LightGBM takes it
       as a feature. Listings more than CLEAN_RATIO times off that prior (typo prices: 23 000 for
       230 000, 1 450 000 for 145 000) are left out of the trees' training; they are still scored.
    2. LightGBM on the earlier (1 − valid_fraction) with early stopping on the rest, then refit on all
       (skipped above 200,000 rows: the held-out fifth adds little and doubles the time).
    3. Cross-fitting: `cross_fit` fold models, each trained without one fold of listings (folds are
       fixed by a hash of the listing key). A listing that was trained on is later scored by the fold
       model that never saw it, so its deal rating is out of sample; the conformal ranges are calibrated
       on those same out-of-fold residuals (every training listing, typos included).

    Returns the model and the validation frame (listing keys, actual, predicted by the train-part model),
    which is what a challenger and the champion are compared on.
    """
    started = time.perf_counter()
    rows = training_rows(listings)
    if len(rows) < MIN_TRAINING_ROWS:
        raise ValueError(f"price model needs at least {MIN_TRAINING_ROWS} priced listings, got {len(rows)}")
    rows = rows.iloc[split_order(rows, split)].reset_index(drop=True)
    base = base_frame(rows)
    titles = _titles(rows)
    target = np.log(pd.to_numeric(rows["price_dh"]).astype("float64").to_numpy())
    n = len(rows)
    keys = rows["listing_key"].astype("string").to_numpy(dtype=object, na_value=None) if "listing_key" in rows else None
    n_folds = cross_fit if cross_fit and cross_fit > 1 else CROSS_FIT_FOLDS
    # Folds follow the listing key, so a listing keeps its fold from one training to the next.
    folds = fold_of(key_hashes(keys), n_folds) if keys is not None else np.random.default_rng(7).integers(n_folds, size=n)
    cross_fit = n_folds if cross_fit and keys is not None and n >= 10 * n_folds else 0
    stages = {"features": time.perf_counter() - started}
    prior, lin, _ = LinearPrior.fit(base, titles, target, folds, n_folds, alpha=LINEAR_ALPHA, max_rows=LINEAR_MAX_ROWS,
                                    clean_ratio=CLEAN_RATIO)
    keep = np.abs(target - lin) < np.log(CLEAN_RATIO)
    stages["linear_prior"] = time.perf_counter() - started - sum(stages.values())

    cut = int(n * (1.0 - valid_fraction))
    early, late = np.arange(n) < cut, np.arange(n) >= cut
    schema = FeatureSchema.fit(base.iloc[:cut])
    params = {**lgb_params(n), **size_params(n), **(params or {})}
    features = _with_prior(schema.encode(base), lin)
    train_set = lgb.Dataset(features[early & keep], target[early & keep], free_raw_data=False)
    valid_set = lgb.Dataset(features[late & keep], target[late & keep], reference=train_set)
    booster = lgb.train(params, train_set, num_boost_round=max_rounds, valid_sets=[valid_set],
                        callbacks=[lgb.early_stopping(100, verbose=False)])
    rounds = booster.best_iteration or max_rounds
    valid_trees = booster.predict(features.iloc[cut:], num_iteration=rounds)
    stages["early_stopping"] = time.perf_counter() - started - sum(stages.values())
    refit = n <= SMALL_DATA_ROWS if refit is None else refit
    if refit:
        schema = FeatureSchema.fit(base)
        features = _with_prior(schema.encode(base), lin)
    # The refit and the cross-fitted fold models are independent: they train side by side (see _train_all).
    samples = ([np.flatnonzero(keep)] if refit else []) + (_fold_samples(keep, folds, cross_fit) if cross_fit else [])
    boosters = _train_all(features, target, samples, params, int(rounds * 1.1))
    final = boosters.pop(0) if refit else booster
    fold_boosters, trained = boosters, np.array([], dtype=np.uint64)
    if cross_fit:
        trained = np.unique(key_hashes(keys[[k is not None for k in keys]]))
    stages["refit_and_cross_fit"] = time.perf_counter() - started - sum(stages.values())
    model = PriceModel(booster=final, schema=schema, conformal=None, comparables=comparables_frame(rows, base),
                       linear=prior, folds=fold_boosters, trained_keys=trained)
    if cross_fit:
        # Out-of-fold: what score() gives each training listing, from the fold model that did not see it
        # (the prior column is already each listing's out-of-fold prior).
        # A sample of CALIBRATION_MAX_ROWS residuals pins the quantiles down well enough.
        sample = np.arange(n)
        if n > CALIBRATION_MAX_ROWS:
            sample = np.sort(np.random.default_rng(5).choice(n, CALIBRATION_MAX_ROWS, replace=False))
        matrix = np.column_stack([schema.matrix(base.iloc[sample]), lin[sample]])
        trees = np.empty(len(sample))
        for fold, fold_booster in enumerate(fold_boosters):
            rows_k = folds[sample] == fold
            trees[rows_k] = fold_booster.predict(matrix[rows_k])
        lin_s, target_s, keep_s = lin[sample], target[sample], keep[sample]
        prior.weight, prior.center = _blend_weight(trees[keep_s], lin_s[keep_s], target_s[keep_s]), float(np.mean(lin))
        model.conformal = Conformal.fit((1 - prior.weight) * trees + prior.weight * lin_s, target_s)
    stages["calibration"] = time.perf_counter() - started - sum(stages.values())
    valid_log = (1 - prior.weight) * valid_trees + prior.weight * lin[cut:]
    if not cross_fit:
        model.conformal = Conformal.fit(valid_log, target[cut:])
    valid = pd.DataFrame(
        {
            "listing_key": keys[cut:] if keys is not None else np.arange(cut, n),
            "actual": np.exp(target[cut:]),
            "predicted": np.exp(valid_log),
            "brand": base["brand"].iloc[cut:].to_numpy(),
            "age_years": base["age_years"].iloc[cut:].to_numpy(),
        }
    )
    low, high = model.conformal.interval(valid_log, 0.9)
    valid["covered_90"] = (valid["actual"] >= low) & (valid["actual"] <= high)
    metrics = regression_metrics(valid["actual"], valid["predicted"])
    metrics.update(coverage_90=float(valid["covered_90"].mean()), train_rows=cut, valid_rows=n - cut,
                   rounds=rounds, typo_rows_left_out=int((~keep).sum()), cross_fit_folds=cross_fit,
                   prior_weight=prior.weight, stage_seconds={k: round(v, 1) for k, v in stages.items()},
                   train_seconds=round(time.perf_counter() - started, 2))
    start, end = _window(rows)
    model.info = {
        "version": datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ"),
        "trained_at": datetime.now(timezone.utc).isoformat(),
        "metrics": metrics,
        "training_window": [start, end],
        "split": split,
        "rows": n,
        "params": params,
    }
    return model, valid


def _titles(rows: pd.DataFrame) -> list:
    return rows["title"].tolist() if "title" in rows else [None] * len(rows)


def _with_prior(features: pd.DataFrame, lin: np.ndarray) -> pd.DataFrame:
    return features.assign(**{PRIOR_FEATURE: lin})


def _blend_weight(trees: np.ndarray, prior: np.ndarray, target: np.ndarray) -> float:
    """The share of the linear prior in the final log price that minimises the out-of-fold mean absolute
    error (typos excluded): the trees fit the bulk, the prior extrapolates rare models and the extremes."""
    grid = np.round(np.arange(0.0, 0.55, 0.05), 2)
    errors = [np.mean(np.abs(target - ((1 - w) * trees + w * prior))) for w in grid]
    return float(grid[int(np.argmin(errors))])


def _fold_samples(keep: np.ndarray, folds: np.ndarray, k: int) -> list[np.ndarray]:
    """Per fold, the training rows of its model: the other folds (a sample of CROSS_FIT_MAX_ROWS when larger)."""
    rng = np.random.default_rng(11)
    samples = []
    for fold in range(k):
        rows = np.flatnonzero(keep & (folds != fold))
        if len(rows) > CROSS_FIT_MAX_ROWS:
            rows = np.sort(rng.choice(rows, CROSS_FIT_MAX_ROWS, replace=False))
        samples.append(rows)
    return samples


def _train_all(features: pd.DataFrame, target: np.ndarray, samples: list[np.ndarray], params: dict,
               rounds: int) -> list[lgb.Booster]:
    """One booster per row sample, in order. One thread per model and as many models at once as there are
    cores: on tens of thousands of rows LightGBM's own threads mostly wait on each other, and it releases the
    GIL while it trains. Above SMALL_DATA_ROWS its threads pay off, and the models train one after another."""
    parallel = len(samples) > 1 and max(len(rows) for rows in samples) <= SMALL_DATA_ROWS
    workers = max(1, min(len(samples), os.cpu_count() or 1)) if parallel else 1
    each = {**params, "num_threads": 1} if parallel else params

    def fit(rows: np.ndarray) -> lgb.Booster:
        return lgb.train(each, lgb.Dataset(features.iloc[rows], target[rows]), num_boost_round=rounds)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fit, samples))


# ---------------------------------------------------------------- candidates

def _numeric_matrix(base: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    """Categories as integer codes (−1 unseen): for tree models without native categorical support."""
    out = base[_observed(schema)].copy()
    for name in CATEGORICAL:
        out[name] = pd.Categorical(base[name], categories=schema.categories[name]).codes.astype("float64")
    return out


def _observed(schema: FeatureSchema) -> list[str]:
    """Numeric features with at least one value at training (scikit-learn and XGBoost reject empty ones)."""
    return [name for name in NUMERIC if name in schema.features]


def candidate_models(max_rows_slow: int = 50_000, observed_numeric: list[str] | None = None) -> dict:
    """name → fit(train_base, y, schema) → predict(base) callable; the slow ones train on a sample."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Ridge
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from threadpoolctl import threadpool_limits

    observed: list[str] = list(observed_numeric or NUMERIC)

    def sample(base, y):
        if len(base) <= max_rows_slow:
            return base, y
        pick = np.random.default_rng(0).choice(len(base), max_rows_slow, replace=False)
        return base.iloc[pick], y[pick]

    def one_hot_pipeline(estimator):
        numeric = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
        categorical = make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                                    OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5))
        return make_pipeline(ColumnTransformer([("num", numeric, observed), ("cat", categorical, CATEGORICAL)]), estimator)

    def as_object(base):
        out = base.copy()
        for name in CATEGORICAL:
            out[name] = out[name].astype(object).where(out[name].notna(), "missing")
        return out

    def encode(base, schema):
        return schema.encode(base)[_observed(schema) + [c for c in CATEGORICAL if schema.categories.get(c)]]

    def lightgbm(base, y, schema):
        booster = lgb.train(lgb_params(len(base)), lgb.Dataset(schema.encode(base), y), num_boost_round=600)
        return lambda b: booster.predict(schema.encode(b))

    def xgboost(base, y, schema):
        import xgboost as xgb

        model = xgb.XGBRegressor(n_estimators=600, learning_rate=0.05, max_depth=7, subsample=0.9,
                                 colsample_bytree=0.8, enable_categorical=True, tree_method="hist",
                                 max_cat_to_onehot=1, n_jobs=2, random_state=7)
        model.fit(encode(base, schema), y)
        return lambda b: model.predict(encode(b, schema))

    def hist_gb(base, y, schema):
        # scikit-learn caps native categories at 255 levels, so codes go in as numbers.
        model = HistGradientBoostingRegressor(max_iter=600, learning_rate=0.05, max_leaf_nodes=63, random_state=7)
        # Its OpenMP threads waited on each other as LightGBM's did (8k rows: 22 s on two threads).
        with threadpool_limits(1 if len(base) <= SMALL_DATA_ROWS else None, user_api="openmp"):
            model.fit(_numeric_matrix(base, schema), y)
        return lambda b: model.predict(_numeric_matrix(b, schema))

    def random_forest(base, y, schema):
        base, y = sample(base, y)
        model = RandomForestRegressor(n_estimators=150, min_samples_leaf=2, max_features=0.5, n_jobs=2, random_state=7)
        model.fit(_numeric_matrix(base, schema).fillna(-1), y)
        return lambda b: model.predict(_numeric_matrix(b, schema).fillna(-1))

    def mlp(base, y, schema):
        base, y = sample(base, y)
        model = one_hot_pipeline(MLPRegressor(hidden_layer_sizes=(64, 32), alpha=1e-3, max_iter=200,
                                              early_stopping=True, random_state=7))
        model.fit(as_object(base), y)
        return lambda b: model.predict(as_object(b))

    def ridge(base, y, schema):
        model = one_hot_pipeline(Ridge(alpha=1.0))
        model.fit(as_object(base), y)
        return lambda b: model.predict(as_object(b))

    return {"lightgbm": lightgbm, "xgboost": xgboost, "random_forest": random_forest,
            "hist_gradient_boosting": hist_gb, "mlp": mlp, "linear_ridge": ridge}


def compare_candidates(listings: pd.DataFrame, split: str = "time", valid_fraction: float = 0.2,
                       only: list[str] | None = None) -> pd.DataFrame:
    """Every candidate on the same split; one row of metrics per candidate, best median APE first."""
    rows = training_rows(listings)
    rows = rows.iloc[split_order(rows, split)].reset_index(drop=True)
    base = base_frame(rows)
    y = np.log(pd.to_numeric(rows["price_dh"]).astype("float64").to_numpy())
    cut = int(len(rows) * (1.0 - valid_fraction))
    schema = FeatureSchema.fit(base.iloc[:cut])
    schema.features = [n for n in NUMERIC if base[n].iloc[:cut].notna().any()] + CATEGORICAL
    from sklearn.exceptions import ConvergenceWarning

    results = []
    models = candidate_models(observed_numeric=_observed(schema))
    for name, fit in models.items():
        if only and name not in only:
            continue
        started = time.perf_counter()
        # A candidate stopped by its iteration cap (the MLP) is a fact of the comparison, kept in its row rather
        # than printed as a warning in the middle of the run's output.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            try:
                predict = fit(base.iloc[:cut], y[:cut], schema)
                predicted = np.exp(np.clip(predict(base.iloc[cut:]), 0, 20))
                metrics = regression_metrics(np.exp(y[cut:]), predicted)
            except Exception as error:  # a failing candidate is reported, not fatal
                metrics = {"error": f"{type(error).__name__}: {error}"}
        unconverged = any(issubclass(w.category, ConvergenceWarning) for w in caught)
        for other in caught:
            if not issubclass(other.category, ConvergenceWarning):
                warnings.warn_explicit(other.message, other.category, other.filename, other.lineno)
        results.append({"candidate": name, **metrics, "seconds": round(time.perf_counter() - started, 1),
                        "note": "stopped at its iteration cap before converging" if unconverged else ""})
    return pd.DataFrame(results).sort_values("median_ape", na_position="last").reset_index(drop=True)


def fit_and_compare(listings: pd.DataFrame, candidate_sample: pd.DataFrame | None = None, split: str = "time",
                    only: list[str] | None = None, **fit_options) -> tuple[PriceModel, pd.DataFrame, pd.DataFrame | None]:
    """fit_price_model on `listings` and, given a sample, compare_candidates on it, side by side.

    The champion's training leaves a core idle for about half its time (its early stopping and calibration run on
    one thread below SMALL_DATA_ROWS), so the comparison runs meanwhile in a process of its own (a thread would
    share the GIL with the pandas and scikit-learn work of both). 60k e2e warehouse: 25 s → 18 s, the same
    champion; each candidate's `seconds` is then its time beside the training.
    """
    if candidate_sample is None:
        model, valid = fit_price_model(listings, split=split, **fit_options)
        return model, valid, None
    # spawn, not fork: a child forked after LightGBM's OpenMP threads have run can hang in its first parallel loop
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        comparison = pool.submit(_compare_on_one_blas_thread, candidate_sample, split, only)
        model, valid = fit_price_model(listings, split=split, **fit_options)
        return model, valid, comparison.result()


def _compare_on_one_blas_thread(sample: pd.DataFrame, split: str, only: list[str] | None) -> pd.DataFrame:
    """compare_candidates with one BLAS thread. OpenBLAS threads spin while they wait: beside the training, the
    MLP took 15 s on two of them instead of 3 s, and one is as fast for its small matrices when alone."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        return compare_candidates(sample, split=split, only=only)


def validation_segments(valid: pd.DataFrame) -> pd.DataFrame:
    return segment_metrics(valid)
