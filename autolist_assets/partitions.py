"""The one place partitions are declared: raw data is cut by scrape date × source site."""

from __future__ import annotations

import os
from datetime import date, timedelta

import dagster as dg

SOURCES = ("avito", "moteur")

# The earliest day a partition exists for; override to backfill older history.
START_DATE = os.environ.get("AUTOLIST_START_DATE", "2026-01-01")

# end_offset=1 makes today's partition exist, so the daily schedule can scrape the current day.
scrape_dates = dg.DailyPartitionsDefinition(start_date=START_DATE, end_offset=1)
source_sites = dg.StaticPartitionsDefinition(list(SOURCES))
scrape_partitions = dg.MultiPartitionsDefinition({"date": scrape_dates, "source": source_sites})


def window_range_tags(first_day: date, last_day: date) -> dict[str, str]:
    """Run tags that select every (date, source) partition from first_day to last_day in one run.

    Multi-partition keys sort date first, then source, so the window is one contiguous range.
    """
    return {
        "dagster/asset_partition_range_start": f"{first_day.isoformat()}|{SOURCES[0]}",
        "dagster/asset_partition_range_end": f"{last_day.isoformat()}|{SOURCES[-1]}",
    }


def last_days(n: int, today: date) -> tuple[date, date]:
    """The inclusive window of the n days ending today."""
    return today - timedelta(days=n - 1), today
