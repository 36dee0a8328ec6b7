"""Jobs and schedules: the main job refreshes the whole graph for a window of scrape partitions.

A day's scheduled run refreshes what a day changes (the new partitions, the warehouse, every estimate by the
current champion, the snapshot) and leaves training to runs of its own: the price model's retrain sensor
fires once enough new listings have arrived, and the weekly retrain refits the price model and the
recommender. Training on a million listings costs minutes; a day adds a few percent of them.
"""

from collections.abc import Iterable
from datetime import datetime, timezone

import dagster as dg

from autolist_assets import paths
from autolist_assets.partitions import window_range_tags

# Everything, from scraping to the serving snapshot, in one run per window of partitions.
autolist_job = dg.define_asset_job(
    "autolist_job",
    selection=dg.AssetSelection.all(),
    description="Scrape a window of (day, site) partitions and rebuild the warehouse, the price model and the serving snapshot.",
)

# Assets a daily run leaves to the retrain runs.
TRAINING_ASSETS = ("price_model", "user_interactions", "recommender", "user_recommendations")
RETRAIN_ASSETS = ("price_model", "price_predictions", *TRAINING_ASSETS[1:], "serving_snapshot")

# What a daily run refreshes once models exist (the schedule selects the same assets from autolist_job).
daily_job = dg.define_asset_job(
    "daily_job",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*TRAINING_ASSETS),
    description="Scrape a window of partitions and refresh the warehouse, the estimates by the current champion and "
    "the snapshot, without training.",
)

retrain_job = dg.define_asset_job(
    "retrain_job",
    selection=dg.AssetSelection.assets(*RETRAIN_ASSETS),
    description="Retrain the price model and the recommender on the whole warehouse, rescore and republish.",
)


def daily_asset_selection(asset_keys: Iterable[dg.AssetKey]) -> list[dg.AssetKey]:
    """Every asset but the training ones: scrape, warehouse, estimates by the current champion, snapshot."""
    return sorted((key for key in asset_keys if key.path[-1] not in TRAINING_ASSETS), key=lambda k: k.path)


def models_trained() -> bool:
    """Whether a champion price model and a recommender exist for a daily run to use."""
    registry = paths.models_dir() / "price_model"
    return (registry / "champion").exists() and paths.recommender_path().exists()


@dg.schedule(cron_schedule="0 6 * * *", job=autolist_job, execution_timezone="Africa/Casablanca")
def daily_scrape_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Every morning, scrape today's partitions of both sites and refresh everything downstream but training."""
    today = (context.scheduled_execution_time or datetime.now(timezone.utc)).astimezone(timezone.utc).date()
    selection = None  # the whole graph until a first training has happened
    if models_trained():
        try:
            selection = daily_asset_selection(context.repository_def.asset_graph.get_all_asset_keys())
        except dg.DagsterInvariantViolationError:  # evaluated without its repository (a bare test context)
            selection = None
    return dg.RunRequest(run_key=today.isoformat(), tags=window_range_tags(today, today), asset_selection=selection)


@dg.schedule(cron_schedule="0 4 * * 1", job=retrain_job, execution_timezone="Africa/Casablanca")
def weekly_retrain_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Every Monday before the daily scrape, retrain the price model and the recommender and republish."""
    week = (context.scheduled_execution_time or datetime.now(timezone.utc)).date().isoformat()
    return dg.RunRequest(run_key=f"retrain-{week}")
