"""Serving layer: the snapshot the app reads, published atomically so the app never meets a write lock."""

import os
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import get_asset_key_for_model

from autolist_assets import paths
from autolist_assets.assets.warehouse import build_dbt_assets
from autolist_assets.resources import Warehouse

SERVING_GROUP = "serving"

# What the app reads, as (snapshot table, query over the attached warehouse "wh"). Seller hashes stay out.
SNAPSHOT_TABLES = {
    "listings": """
        select l.listing_key, l.source, l.listing_id, l.url, l.title, l.brand, l.model, l.model_year,
               l.mileage_km, l.fuel, l.gearbox, l.city, l.region, l.seller_type, l.price_dh,
               l.posted_date, p.predicted_price_dh, p.price_gap_pct
        from wh.main.fct_listings l
        left join wh.ml.price_predictions p using (listing_key)
    """,
    "prices_by_model_year_city": "select * from wh.main.prices_by_model_year_city",
    "scrape_reports": "select * from wh.raw.scrape_reports",
    "user_recommendations": "select * from wh.ml.user_recommendations",
    "demo_users": """
        select user_id, budget_dh, preferred_brands, preferred_fuel, preferred_gearbox, home_region
        from wh.ml.demo_users
    """,
}


def publish_snapshot(warehouse: Path, target: Path) -> dict[str, int]:
    """Copy the serving tables into a new file beside target, then move it over target in one rename."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(tmp))
    try:
        con.execute(f"attach '{warehouse.as_posix()}' as wh (read_only)")
        for table, query in SNAPSHOT_TABLES.items():
            con.execute(f"create table {table} as {query}")
            counts[table] = con.execute(f"select count(*) from {table}").fetchone()[0]
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
        deps=[
            get_asset_key_for_model([dbt], "fct_listings"),
            get_asset_key_for_model([dbt], "prices_by_model_year_city"),
            *ml_keys,
        ],
        group_name=SERVING_GROUP,
        kinds={"duckdb"},
    )
    def serving_snapshot(warehouse: Warehouse) -> dg.MaterializeResult:
        """The tables the app reads, copied into serving.duckdb through a temporary file and an atomic rename."""
        target = paths.serving_path()
        counts = publish_snapshot(Path(warehouse.resolved_path()), target)
        return dg.MaterializeResult(
            metadata={"path": dg.MetadataValue.path(str(target)), **{f"rows_{t}": n for t, n in counts.items()}}
        )

    return [serving_snapshot]
