"""Jobs and schedules: the main job refreshes the whole graph for a window of scrape partitions."""

from datetime import datetime, timezone

import dagster as dg

from autolist_assets.partitions import window_range_tags

# Everything, from scraping to the serving snapshot, in one run per window of partitions.
autolist_job = dg.define_asset_job(
    "autolist_job",
    selection=dg.AssetSelection.all(),
    description="Scrape a window of (day, site) partitions and rebuild the warehouse, the price model and the serving snapshot.",
)


@dg.schedule(cron_schedule="0 6 * * *", job=autolist_job, execution_timezone="Africa/Casablanca")
def daily_scrape_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """Every morning, scrape today's partitions of both sites and refresh everything downstream."""
    today = (context.scheduled_execution_time or datetime.now(timezone.utc)).astimezone(timezone.utc).date()
    return dg.RunRequest(run_key=today.isoformat(), tags=window_range_tags(today, today))
