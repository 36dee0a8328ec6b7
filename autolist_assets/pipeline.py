"""Run the whole graph in-process for a window of scrape partitions (used by `autolist` and the tests)."""

from __future__ import annotations

from datetime import date

import dagster as dg

from autolist_assets.definitions import defs
from autolist_assets.jobs import autolist_job, daily_job
from autolist_assets.partitions import window_range_tags


def run_window(
    first_day: date,
    last_day: date,
    *,
    resources: dict | None = None,
    instance: dg.DagsterInstance | None = None,
    run_config: dict | None = None,
    daily: bool = False,
) -> dg.ExecuteInProcessResult:
    """Materialize every asset for the (day, site) partitions from first_day to last_day, as one run.

    The raw asset's single-run backfill policy lets one run cover the whole window, so the warehouse,
    model and snapshot are rebuilt once rather than once per partition. `daily` runs what the daily schedule
    runs once models exist: every asset but training (see jobs.py).
    """
    # a job of its own rather than a selection: a selection rebuilds the job, and then refuses resource overrides
    job = defs.resolve_job_def(daily_job.name if daily else autolist_job.name)
    return job.execute_in_process(
        instance=instance,
        resources=resources,
        tags={**window_range_tags(first_day, last_day), "autolist/window": f"{first_day}..{last_day}"},
        run_config=run_config,
        raise_on_error=False,
    )
