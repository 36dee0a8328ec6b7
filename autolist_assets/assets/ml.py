"""ML layer: thin Dagster wrappers around ml.price (training, registry, scoring).

ml.price (LightGBM, scikit-learn, pandas) is imported inside the assets: loading the Definitions, which every
run, sensor tick and UI reload does, should not pay for the libraries only a training step uses.
"""

import os

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from autolist_assets import paths
from autolist_assets.assets.warehouse import build_dbt_assets
from autolist_assets.resources import WAREHOUSE_POOL, Warehouse

ML_GROUP = "ml"
PRICE_MODEL_REGISTRY = "price_model"  # ml.price.registry.REGISTRY_NAME


def fct_listings_key() -> dg.AssetKey:
    return get_asset_key_for_model([build_dbt_assets()], "fct_listings")


def registry_root():
    return paths.models_dir() / PRICE_MODEL_REGISTRY


# Identifiers and hashes the price model never reads: the widest text columns, left in the warehouse (a million rows
# of them cost about a gigabyte as Python strings), and the incremental build's bookkeeping.
NOT_PRICE_INPUTS = ("url", "vehicle_id", "listing_id", "seller_name_hash", "seller_phone_hash", "sources", "import_file",
                    "states_built_at")


def fct_listings_for_pricing(con) -> "pd.DataFrame":  # noqa: F821
    """fct_listings without the columns the price model never reads, in listing key order (a parallel dbt build
    stores rows in no fixed order, and training follows row order)."""
    return con.execute(f"select {_pricing_columns(con, '')} from main.fct_listings order by listing_key").df()


def _columns(con, schema: str, table: str) -> set[str]:
    """The column names of a warehouse table (none when it does not exist)."""
    return {name for (name,) in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?", [schema, table]
    ).fetchall()}


def _pricing_columns(con, alias: str) -> str:
    """The select list of fct_listings without NOT_PRICE_INPUTS (those it has)."""
    columns = _columns(con, "main", "fct_listings")
    dropped = [name for name in NOT_PRICE_INPUTS if name in columns]
    return f"{alias}*" + (f" exclude ({', '.join(dropped)})" if dropped else "")


def _active_with_hash(con) -> str:
    """SQL of the cleaned listings still on sale (every listing when the warehouse does not say), without the columns
    the price model never reads, with a hash of each whole row: the inputs its prediction depends on."""
    where = "where coalesce(f.still_active, true)" if "still_active" in _columns(con, "main", "fct_listings") else ""
    return f"select {_pricing_columns(con, 'f.')}, hash(f) as input_hash from main.fct_listings f {where}"


def _score_in_chunks(con, model, sql: str, chunk_rows: int) -> int:
    """Score the rows `sql` selects, chunk by chunk, into ml.price_predictions_fresh; returns how many were scored.
    The first chunk creates the table even when empty, so its columns are typed as a scoring types them."""
    writer = con.cursor()  # `con` streams the rows: a statement of its own would end that stream
    try:
        result = con.execute(sql)
        scored = 0
        while True:
            listings = result.fetch_df_chunk(max(1, -(-chunk_rows // 2048)))
            if scored and listings.empty:
                break
            fresh = model.score(listings, explain=False)
            fresh["input_hash"] = listings["input_hash"].to_numpy()
            # text columns stay text for DuckDB even when the rows it samples to type them hold no value
            fresh = fresh.astype({"explanation": "string", "comparables": "string", "deal_rating": "string",
                                  "rating_rule": "string"})
            writer.execute(("insert into ml.price_predictions_fresh by name " if scored else
                            "create or replace table ml.price_predictions_fresh as ") + "select * from fresh")
            scored += len(fresh)
            if listings.empty:
                break
    finally:
        writer.close()
    return scored


def _explain_best_deals(con, model, active_sql: str, top: int) -> int:
    """Explanations and comparables for the `top` best-rated listings and for no other (as a full rescoring would
    leave them); only the ones not explained yet are computed."""
    best = f"""select listing_key, explanation from ml.price_predictions where deal_rating is not null
                order by price_percentile, listing_key limit {int(top)}"""
    con.execute(f"update ml.price_predictions set explanation = null, comparables = null "
                f"where explanation is not null and listing_key not in (select listing_key from ({best}))")
    todo = con.execute(f"select listing_key from ({best}) where explanation is null").df()
    if todo.empty:
        return 0
    rows = con.execute(f"select * from ({active_sql}) semi join todo using (listing_key) order by listing_key").df()
    explained = model.score(rows, explain=True)[["listing_key", "explanation", "comparables"]]
    con.execute("update ml.price_predictions p set explanation = e.explanation, comparables = e.comparables "
                "from explained e where p.listing_key = e.listing_key")
    return len(explained)


class PriceModelConfig(dg.Config):
    # The candidate comparison adds a few seconds per 10,000 listings; a retrain can skip it.
    compare_candidates: bool = os.environ.get("AUTOLIST_PRICE_CANDIDATES", "1") != "0"
    # Candidates are compared on a random sample of this many listings (time split kept): six model families
    # on a million rows cost many times the champion's own training, for a ranking a sample already gives.
    candidate_rows: int = 10_000
    # Early stopping usually ends far sooner; a cap bounds the run time.
    max_rounds: int = 3000


class PricePredictionsConfig(dg.Config):
    # Explanations (path contributions, a table gather per listing) and comparables (a search each)
    # are stored for this many of the best-rated deals; every other listing is explained on request by the
    # estimator and the API (PriceModel.score_one), which is where they are read.
    explain_top_deals: int = 200  # the deals page lists 200
    # Rows read, scored and written at a time: a full scoring of a million listings held them all in pandas at
    # once, the run's peak memory. Rounded up to DuckDB's vectors of 2,048 rows.
    scoring_chunk_rows: int = 200_000


def build_ml_assets() -> list[dg.AssetsDefinition]:
    """The ML assets, wired to the dbt model keys looked up in the manifest."""

    # Reading counts too: DuckDB refuses a reader process while another process writes (and the reverse).
    @dg.asset(deps=[fct_listings_key()], group_name=ML_GROUP, kinds={"lightgbm", "python"}, pool=WAREHOUSE_POOL)
    def price_model(context: dg.AssetExecutionContext, config: PriceModelConfig, warehouse: Warehouse) -> dg.MaterializeResult:
        """A LightGBM model of log asking price with conformal ranges, validated on the most recent listings;
        promoted to champion in the registry only if not worse than the current one."""
        from ml.price.metrics import markdown_table, segment_metrics
        from ml.price.registry import register
        from ml.price.train import fit_and_compare

        with warehouse.connect(read_only=True) as con:
            listings = fct_listings_for_pricing(con)
        sample = None
        if config.compare_candidates:
            sample = listings.sample(n=config.candidate_rows, random_state=7) \
                if len(listings) > config.candidate_rows else listings
        model, valid, candidates = fit_and_compare(listings, sample, split="time", max_rounds=config.max_rounds)
        segments = segment_metrics(valid)
        decision = register(model, valid, listings[listings["listing_key"].isin(valid["listing_key"])],
                            registry_root(), segments=segments, candidates=candidates)
        (context.log.info if decision.promoted else context.log.warning)(decision.reason)
        metrics = model.info["metrics"]
        metadata = {
            "version": model.version,
            "champion": decision.champion,
            "promoted": decision.promoted,
            "decision": decision.reason,
            "path": dg.MetadataValue.path(str(registry_root() / model.version)),
            "training_window": " .. ".join(str(d) for d in model.info["training_window"]),
            "cleaned_listings": len(listings),
            "mae_dh": round(metrics["mae_dh"]),
            "rmse_dh": round(metrics["rmse_dh"]),
            "r2_price": round(metrics["r2_price"], 4),
            "r2_log": round(metrics["r2_log"], 4),
            "mape": round(metrics["mape"], 4),
            "median_ape": round(metrics["median_ape"], 4),
            "coverage_90": round(metrics["coverage_90"], 4),
            "train_rows": metrics["train_rows"],
            "valid_rows": metrics["valid_rows"],
            "segments": dg.MetadataValue.md(markdown_table(segments)),
        }
        if candidates is not None:
            shown = [c for c in ("candidate", "mae_dh", "rmse_dh", "r2_price", "r2_log", "mape", "median_ape",
                                 "seconds", "error") if c in candidates]
            metadata["candidates"] = dg.MetadataValue.md(markdown_table(candidates[shown]))
        return dg.MaterializeResult(metadata=metadata)

    @dg.asset(deps=[price_model], group_name=ML_GROUP, kinds={"lightgbm", "duckdb"}, pool=WAREHOUSE_POOL)
    def price_predictions(
        context: dg.AssetExecutionContext, config: PricePredictionsConfig, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        """The champion's estimate, 80%/90% range and deal rating for every active listing, with explanations for
        the best deals (ml.price_predictions), and the deals mart joining them to the listings (ml.deals)."""
        from ml.price.registry import load_champion

        model = load_champion(registry_root())
        with warehouse.connect() as con:
            con.execute("create schema if not exists ml")
            active = _active_with_hash(con)
            # A listing's prediction depends on its own row and the model only: a row already scored by this champion
            # from identical inputs is kept, so a day's run reads and scores the day's new and changed listings only.
            # Ordered: a parallel dbt build stores rows in no fixed order, and scoring follows row order.
            if "input_hash" in _columns(con, "ml", "price_predictions"):
                con.execute("create or replace temp table kept_hashes as "
                            f"select input_hash from ({active}) semi join (select input_hash from ml.price_predictions "
                            "where model_version = ?) using (input_hash)", [model.version])
                stale = "anti join kept_hashes using (input_hash)"
            else:
                con.execute("create or replace temp table kept_hashes (input_hash ubigint)")
                stale = ""
            kept = con.execute("select count(*) from kept_hashes").fetchone()[0]
            scored = _score_in_chunks(con, model, f"select * from ({active}) {stale} order by listing_key",
                                      config.scoring_chunk_rows)
            con.execute(
                "create or replace table ml.price_predictions_next as "
                + ("select p.* from ml.price_predictions p semi join kept_hashes using (input_hash) union all by name "
                   if kept else "")
                + "select * from ml.price_predictions_fresh order by listing_key"
            )
            con.execute("drop table ml.price_predictions_fresh")
            con.execute("begin transaction")
            con.execute("drop table if exists ml.price_predictions")
            con.execute("alter table ml.price_predictions_next rename to price_predictions")
            con.execute("commit")
            explained = _explain_best_deals(con, model, active, config.explain_top_deals)
            con.execute(
                """
                create or replace table ml.deals as
                select l.listing_key, l.source, l.url, l.title, l.brand, l.model, l.model_year, l.mileage_km,
                       l.fuel, l.gearbox, l.city, l.region, l.price_dh, p.predicted_price_dh,
                       p.predicted_price_dh - l.price_dh as below_estimate_dh, p.price_gap_pct,
                       p.low_80_dh, p.high_80_dh, p.low_90_dh, p.high_90_dh, p.deal_rating, p.rating_rule,
                       p.explanation, p.comparables, p.model_version
                from main.fct_listings l
                join ml.price_predictions p using (listing_key)
                where p.deal_rating is not null
                order by p.price_percentile
                """
            )
            rated = con.execute("select deal_rating, count(*) from ml.deals group by 1 order by 1").fetchall()
            rows, rated_rows, median_gap = con.execute(
                "select count(*), count(deal_rating), median(abs(price_gap_pct)) filter (where not isnan(price_gap_pct)) "
                "from ml.price_predictions"
            ).fetchone()
        context.log.info(f"{scored} listings scored, {kept} kept from the last scoring by {model.version}")
        return dg.MaterializeResult(
            metadata={
                "rows": rows,
                "scored_now": scored,
                "kept": int(kept),
                "explained": explained,
                "model_version": model.version,
                "rated": rated_rows,
                "ratings": dg.MetadataValue.json({k: v for k, v in rated}),
                "median_abs_gap_pct": round(float(median_gap), 4) if median_gap is not None else None,
            }
        )

    return [price_model, price_predictions]
