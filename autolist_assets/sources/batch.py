"""Scrape or re-parse a batch of (day, site) partitions: one process, or one per core where politeness allows it.

The scrape's own work (parsing, archiving, the HTTP client) runs under one GIL, so a single process uses one core
however many pages are in flight. Partitions are independent until their rows are committed, so worker processes
scrape and archive them while the caller commits each one, in order, through the warehouse's single writer.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pyarrow as pa

from autolist_assets.raw_tables import listing_table
from autolist_assets.sources.archive import PageArchive, partial_path
from autolist_assets.sources.fetch import BrowserFetcher, Fetcher, HttpFetcher, is_local_host
from autolist_assets.sources.scrape import ScrapeError, reparse_archive, reusable_pages, scrape_partition

# a worker starts in ~0.5 s (spawn and imports, side by side): already less than it saves on a day's two sites
# at any size the demo market serves (60k: about even; 1M: ~6 s of a daily run's ~27 s scrape)
MIN_PARTITIONS_PER_POOL = 2


@dataclass(frozen=True)
class PartitionTask:
    """One partition to scrape (or re-parse from its archive), with everything a worker process needs."""

    source: str
    day: dt.date
    base_url: str
    archive_file: Path
    pii_salt: str
    refetch: bool = True
    incremental: bool = True  # reuse ad pages archived by an earlier or a crashed run of the partition
    fetcher_kind: str = "http"  # "http" or "browser"
    min_interval_s: float | None = None
    timeout_s: float = 30.0


@dataclass
class PartitionOutcome:
    """A partition's rows, fitted to raw.listings, with its scrape report and the pages that failed."""

    report: dict
    table: pa.Table
    failures: list[dict]


def run_partition(task: PartitionTask, fetchers: dict[str, Fetcher], log: Callable[[str], None] | None = None,
                  open_fetcher: Callable[[Fetcher], Fetcher] = lambda fetcher: fetcher) -> PartitionOutcome:
    """Scrape one partition into its archive (or re-parse the archive), reusing the fetcher of its site in
    `fetchers`, and opening a new one through `open_fetcher` the first time a site comes up."""
    if task.refetch:
        if task.source not in fetchers:
            fetchers[task.source] = open_fetcher(
                BrowserFetcher(min_interval=task.min_interval_s, page_load_timeout=task.timeout_s)
                if task.fetcher_kind == "browser" else HttpFetcher(min_interval=task.min_interval_s, timeout=task.timeout_s)
            )
        task.archive_file.parent.mkdir(parents=True, exist_ok=True)
        # a crashed run's pages come first, then the last complete archive: both are already paid for
        # (a run killed outright leaves its pages in the .tmp file the next archive would overwrite)
        reuse = reusable_pages(task.archive_file, partial_path(task.archive_file),
                               task.archive_file.with_name(task.archive_file.name + ".tmp")) if task.incremental else {}
        with PageArchive(task.archive_file) as archive:
            result = scrape_partition(task.source, task.day, task.base_url, fetchers[task.source], archive,
                                      task.pii_salt, log=log, reuse=reuse)
    else:
        result = reparse_archive(task.source, task.day, task.archive_file, task.pii_salt)
    return PartitionOutcome(result.report("fetch" if task.refetch else "reparse"),
                            listing_table(result.rows, task.day), result.failures)


def worker_count(tasks: list[PartitionTask], requested: int | None = None) -> int:
    """How many processes a batch gets: `requested` (default one per core), but only when every page comes from
    an archive or from this machine over HTTP. A live site gets a single polite client, and a browser stays one."""
    if len(tasks) < MIN_PARTITIONS_PER_POOL:
        return 1
    parallel = all(not t.refetch or (t.fetcher_kind == "http" and is_local_host(t.base_url)) for t in tasks)
    if not parallel:
        return 1
    if requested is None:
        requested = os.cpu_count() or 1
    return max(1, min(requested, len(tasks)))


def run_partitions(tasks: list[PartitionTask], workers: int = 1, log: Callable[[str], None] | None = None,
                   open_fetcher: Callable[[Fetcher], Fetcher] = lambda fetcher: fetcher,
                   ) -> Iterator[tuple[PartitionTask, PartitionOutcome | None, ScrapeError | None]]:
    """Each task's outcome, or the ScrapeError that stopped it, in task order. Any other error ends the batch.

    Every process keeps one fetcher per site across its partitions. With `workers` > 1 the tasks run in that many
    spawned processes while the caller consumes the outcomes; `log` and `open_fetcher` then go unused."""
    if workers <= 1:
        fetchers: dict[str, Fetcher] = {}
        for task in tasks:
            try:
                yield task, run_partition(task, fetchers, log, open_fetcher), None
            except ScrapeError as error:
                yield task, None, error
        return
    # spawn, not fork: the caller may hold threads (Dagster's, a warehouse connection) a fork would copy mid-state
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        # each future leaves the queue once read: a done future keeps its partition's table alive
        futures: deque[Future] = deque(pool.submit(_run_in_worker, task) for task in tasks)
        try:
            for task in tasks:
                future = futures.popleft()
                try:
                    yield task, future.result(), None
                except ScrapeError as error:
                    yield task, None, error
        finally:
            for future in futures:
                future.cancel()


# ------------------------------------------------------------------------------------------ in a worker process

# the HTTP fetchers only hold sockets, which the process's exit closes; browsers never run in a pool
_worker_fetchers: dict[str, Fetcher] = {}


def _run_in_worker(task: PartitionTask) -> PartitionOutcome:
    return run_partition(task, _worker_fetchers, logging.getLogger("autolist.scrape").debug)
