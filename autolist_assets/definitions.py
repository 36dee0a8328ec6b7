"""The single Definitions of AutoList: sources → raw → warehouse (dbt) → ml and recommender → serving."""

from __future__ import annotations

import dagster as dg

from autolist_assets.assets.ml import build_ml_assets
from autolist_assets.assets.raw import imported_listings, raw_listings, raw_listings_have_keys
from autolist_assets.assets.recommender import build_recommender_assets
from autolist_assets.assets.serving import build_serving_assets
from autolist_assets.assets.warehouse import build_dbt_assets, build_partitioned_dbt_assets
from autolist_assets.jobs import autolist_job, daily_job, daily_scrape_schedule, retrain_job, weekly_retrain_schedule
from autolist_assets.resources import build_resources
from autolist_assets.sensors import price_model_retrain_sensor


def build_definitions() -> dg.Definitions:
    """Assemble every asset, check, job, schedule and resource."""
    ml_assets = build_ml_assets()
    recommender_assets = build_recommender_assets()
    return dg.Definitions(
        assets=[
            raw_listings,
            imported_listings,
            build_partitioned_dbt_assets(), build_dbt_assets(),
            *ml_assets,
            *recommender_assets,
            *build_serving_assets([*ml_assets, *recommender_assets]),
        ],
        asset_checks=[raw_listings_have_keys],
        jobs=[autolist_job, daily_job, retrain_job],
        schedules=[daily_scrape_schedule, weekly_retrain_schedule],
        sensors=[price_model_retrain_sensor],
        resources=build_resources(),
        # One process per run: steps share the warehouse file, and a subprocess per step would cost
        # seconds of imports for no parallelism on a linear graph.
        executor=dg.in_process_executor,
    )


defs = build_definitions()
