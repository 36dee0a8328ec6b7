"""Serving layer: the snapshot the app reads, published atomically so the app never meets a write lock."""

import os
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import get_asset_key_for_model

from autolist_assets import paths
from autolist_assets.assets.ml import registry_root
from autolist_assets.assets.warehouse import build_dbt_assets
from autolist_assets.resources import WAREHOUSE_POOL, Warehouse

SERVING_GROUP = "serving"

# What the app reads, as (snapshot table, query over the attached warehouse "wh"). Seller hashes stay out.
SNAPSHOT_TABLES = {
    "listings": """
        select l.* exclude (seller_name_hash, seller_phone_hash),
               p.predicted_price_dh, p.price_gap_pct, p.low_80_dh, p.high_80_dh, p.low_90_dh, p.high_90_dh,
               -- Typed explicitly: a window too thin to rate anything leaves these all-null (type NULL).
               p.deal_rating::varchar as deal_rating, p.rating_rule::varchar as rating_rule, p.model_version
        from wh.main.fct_listings l
        left join wh.ml.price_predictions p using (listing_key)
    """,
    "prices_by_model_year_city": "select * from wh.main.prices_by_model_year_city",
    "brand_share_by_city": "select * from wh.main.brand_share_by_city",
    "depreciation_curves": "select * from wh.main.depreciation_curves",
    "listing_volume": "select * from wh.main.listing_volume",
    "price_drops": "select * from wh.main.price_drops",
    # Every asking-price period of every listing of a vehicle (reposts and cross-posts included), for the API.
    "listing_price_history": """
        select v.vehicle_id, h.* exclude (price_period_key)
        from wh.main.listing_price_history h
        inner join wh.intermediate.int_listing_vehicles v using (listing_key)
    """,
    "scrape_health": "select * from wh.main.scrape_health",
    "duplicate_rates": "select * from wh.main.duplicate_rates",
    "rejections": """
        select scrape_date, rejection_reason, count(*) as rows
        from wh.main.listings_rejected group by all
    """,
    "user_recommendations": "select * from wh.ml.user_recommendations",
    "demo_users": """
        select user_id, budget_dh, preferred_brands, preferred_fuel, preferred_gearbox, home_region
        from wh.ml.demo_users
    """,
}
MODEL_VERSION_COLUMNS = ["version", "trained_at", "rows", "training_window", "mae_dh", "r2_log", "median_ape", "coverage_90"]
# The dbt models the snapshot reads; the serving asset depends on each of them.
SNAPSHOT_MODELS = [
    "fct_listings", "prices_by_model_year_city", "brand_share_by_city", "depreciation_curves", "listing_volume",
    "price_drops", "scrape_health", "duplicate_rates", "listings_rejected", "listing_price_history",
    "int_listing_vehicles",
]


def model_versions(registry: Path) -> "pd.DataFrame":  # noqa: F821
    """The price model registry's versions with their metrics, and which one is champion."""
    import pandas as pd

    from ml.price.registry import champion_version, versions

    frame = pd.DataFrame(versions(registry), columns=MODEL_VERSION_COLUMNS)
    frame["champion"] = frame["version"] == champion_version(registry)
    return frame


def publish_snapshot(warehouse: Path, target: Path, registry: Path) -> dict[str, int]:
    """Copy the serving tables and the model registry's versions into a new file, then rename it over target."""
    frames = {"model_versions": model_versions(registry)}
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(tmp))
    try:
        con.execute(f"attach '{warehouse.as_posix()}' as wh (read_only)")
        for table, query in SNAPSHOT_TABLES.items():
            con.execute(f"create table {table} as {query}")
            counts[table] = con.execute(f"select count(*) from {table}").fetchone()[0]
        for table, frame in frames.items():
            con.execute(f"create table {table} as select * from frame")
            counts[table] = len(frame)
        con.execute(
            "create table snapshot_info as select ?::timestamptz as published_at, ?::integer as listings",
            [datetime.now(timezone.utc), counts["listings"]],
        )
        con.execute("detach wh")
    finally:
        con.close()
    os.replace(tmp, target)
    return counts


def build_serving_assets(upstream: list[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """The serving snapshot asset, downstream of the marts and of every ML output it publishes."""
    dbt = build_dbt_assets()
    published = {"price_predictions", "user_recommendations"}
    ml_keys = [key for asset in upstream for key in asset.keys if key.path[-1] in published]

    @dg.asset(
        deps=[*(get_asset_key_for_model([dbt], model) for model in SNAPSHOT_MODELS), *ml_keys],
        group_name=SERVING_GROUP,
        kinds={"duckdb"},
        # it attaches the warehouse, which DuckDB refuses while another process writes it
        pool=WAREHOUSE_POOL,
    )
    def serving_snapshot(warehouse: Warehouse) -> dg.MaterializeResult:
        """The tables the app reads, copied into serving.duckdb through a temporary file and an atomic rename."""
        target = paths.serving_path()
        counts = publish_snapshot(Path(warehouse.resolved_path()), target, registry_root())
        return dg.MaterializeResult(
            metadata={"path": dg.MetadataValue.path(str(target)), **{f"rows_{t}": n for t, n in counts.items()}}
        )

    return [serving_snapshot]
