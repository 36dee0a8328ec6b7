"""Which batches of partitions may be scraped by several processes: politeness decides, then the batch's size."""

import datetime as dt
import os
from pathlib import Path

from autolist_assets.sources.batch import MIN_PARTITIONS_PER_POOL, PartitionTask, worker_count


def _tasks(n: int, base_url: str = "http://127.0.0.1:8765", **options) -> list[PartitionTask]:
    return [PartitionTask(source="avito", day=dt.date(2026, 5, 1) + dt.timedelta(days=i), base_url=base_url,
                          archive_file=Path(f"/nowhere/{i}.warc.gz"), pii_salt="salt", **options) for i in range(n)]


def test_a_site_on_this_machine_gets_a_process_per_core_once_the_batch_is_big_enough():
    cores = os.cpu_count() or 1
    assert worker_count(_tasks(MIN_PARTITIONS_PER_POOL)) == min(cores, MIN_PARTITIONS_PER_POOL)
    assert worker_count(_tasks(MIN_PARTITIONS_PER_POOL - 1)) == 1
    assert worker_count(_tasks(1), requested=4) == 1
    assert worker_count(_tasks(3), requested=8) == 3  # asked for: capped by the partitions, not by the size rule
    assert worker_count(_tasks(10), requested=1) == 1


def test_a_live_site_or_a_browser_keeps_one_polite_client():
    assert worker_count(_tasks(30, base_url="https://www.avito.ma"), requested=4) == 1
    assert worker_count(_tasks(30, fetcher_kind="browser"), requested=4) == 1
    mixed = _tasks(10) + _tasks(1, base_url="https://www.moteur.ma")
    assert worker_count(mixed, requested=2) == 1


def test_re_parsing_archives_needs_no_network_so_any_site_may_use_every_core():
    assert worker_count(_tasks(10, base_url="https://www.avito.ma", refetch=False), requested=2) == 2
