"""Raw layer: scrape each (day, site) partition, archive every page, and load the parsed rows."""

import os
import time
from typing import Optional
from contextlib import ExitStack, closing
from datetime import date
from pathlib import Path

import dagster as dg

from autolist_assets import paths
from autolist_assets.partitions import scrape_partitions
from autolist_assets.raw_tables import ensure_raw_tables, record_failed_partition, replace_partition
from autolist_assets.resources import WAREHOUSE_POOL, Marketplace, Warehouse
from autolist_assets.sources.batch import PartitionTask, run_partitions, worker_count

RAW_GROUP = "raw"


class RawListingsConfig(dg.Config):
    """Run config of raw_listings."""

    # False re-parses the partition's archived pages with no network: a parser fix plus a backfill repairs history.
    refetch: bool = True
    # True reuses ad pages already archived for the partition (by an earlier or a crashed run) instead of
    # fetching them again; list pages are always fetched, so prices stay fresh.
    incremental: bool = True
    # Politeness for the live sites: seconds between two requests to one host (None = 1 s remote, 0 local).
    min_interval_s: Optional[float] = None
    # Seconds to wait for one answer before retrying it (a page slower than this counts as a network fault).
    timeout_s: float = 30.0
    # Processes scraping partitions at once (None = one per core). Only archives and sites on this machine get more
    # than one: a live site always gets a single polite client.
    workers: Optional[int] = None


@dg.asset(
    partitions_def=scrape_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name=RAW_GROUP,
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
)
def raw_listings(
    context: dg.AssetExecutionContext,
    config: RawListingsConfig,
    marketplace: Marketplace,
    warehouse: Warehouse,
) -> dg.MaterializeResult:
    """Listings of each site and posting day, scraped with every page archived in the lake before parsing."""
    keys = sorted(context.partition_keys)
    paths.ensure_writable()
    salt = paths.pii_salt()
    tasks = [
        PartitionTask(
            source=source, day=date.fromisoformat(day), base_url=marketplace.base_url(source),
            archive_file=paths.archive_path(source, day), pii_salt=salt, refetch=config.refetch,
            incremental=config.incremental, fetcher_kind=marketplace.fetcher_kind(source),
            min_interval_s=config.min_interval_s, timeout_s=config.timeout_s,
        )
        for source, day in ((key.keys_by_dimension["source"], key.keys_by_dimension["date"]) for key in keys)
    ]
    workers = worker_count(tasks, config.workers)
    if workers > 1:
        context.log.info(f"{len(tasks)} partitions in {workers} worker processes")
    reports = []
    failed: list[dict] = []
    started = time.perf_counter()
    with ExitStack() as stack:
        con = stack.enter_context(warehouse.held())  # every partition still commits on its own
        # closed first on the way out: a failing run stops its workers before the warehouse connection goes
        outcomes = stack.enter_context(closing(
            run_partitions(tasks, workers, log=context.log.debug, open_fetcher=stack.enter_context)))
        for index, key in enumerate(keys, start=1):
            try:
                task, outcome, error = next(outcomes)
            except Exception as error:
                if paths.is_write_failure(error):
                    raise paths.write_error(error, tasks[index - 1].archive_file) from error
                raise
            if error is not None:
                # the partition keeps its last complete rows; the pages that failed are recorded, and the run fails
                # loudly once the other partitions are done
                record_failed_partition(con, task.day, task.source, error.failures)
                failed.append({"partition": str(key), "error": str(error), "failed_pages": len(error.failures)})
                context.log.error(f"[{index}/{len(keys)}] {key}: FAILED, nothing committed: {error}")
                continue
            report = outcome.report
            try:
                replace_partition(con, task.day, task.source, outcome.table, report, outcome.failures)
            except Exception as error:
                if paths.is_write_failure(error):
                    raise paths.write_error(error, warehouse.resolved_path()) from error
                raise
            reports.append({"partition": str(key), **report})
            context.log.info(
                f"[{index}/{len(keys)}] {key}: {report['listings']} listings from {report['pages']} pages "
                f"in {report['duration_s']} s ({report['mode']})"
            )
    if failed:
        # the partitions that did complete are committed and recorded as such; the run itself fails
        for report in reports:
            context.log_event(dg.AssetMaterialization(
                asset_key=context.asset_key, partition=report["partition"],
                metadata={"listings": report["listings"], "retries": report["retries"]},
            ))
        raise dg.Failure(
            description=f"{len(failed)} of {len(keys)} partitions failed and were not committed: "
            + "; ".join(f"{f['partition']}: {f['error']}" for f in failed),
            metadata={"failed_partitions": dg.MetadataValue.json(failed),
                      "completed_partitions": len(reports),
                      "retries": sum(r["retries"] for r in reports)},
        )
    total = sum(r["listings"] for r in reports)
    elapsed = time.perf_counter() - started
    return dg.MaterializeResult(
        metadata={
            "partitions": len(keys),
            "listings": total,
            "pages": sum(r["pages"] for r in reports),
            "new_listings": sum(r["new_listings"] for r in reports),
            "updated_listings": sum(r["updated_listings"] for r in reports),
            "parse_failures": sum(r["parse_failures"] for r in reports),
            "retries": sum(r["retries"] for r in reports),
            "challenges": sum(r["challenges"] for r in reports),
            "listings_per_s": round(total / elapsed, 1) if elapsed else 0.0,
            "scrape_reports": dg.MetadataValue.md(_markdown_table(reports)),
        }
    )


def _markdown_table(rows: list[dict]) -> str:
    columns = ["partition", "mode", "pages", "listings", "new_listings", "updated_listings", "parse_failures",
               "parse_failures_by_reason", "http_status_counts", "retries", "network_errors", "challenges",
               "reused_pages", "duration_s", "listings_per_s"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


@dg.asset_check(asset=raw_listings, description="Every loaded raw row has a listing id, a source and a posting time.")
def raw_listings_have_keys(warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect(read_only=True) as con:
        missing = con.execute(
            "select count(*) from raw.listings where listing_id is null or source is null or posted_at is null"
        ).fetchone()[0]
    return dg.AssetCheckResult(passed=missing == 0, metadata={"rows_missing_keys": missing})


class CsvImportConfig(dg.Config):
    """Run config of imported_listings."""

    # CSV exports to (re)load; empty keeps what earlier imports loaded. Defaults to AUTOLIST_IMPORT_PATHS.
    paths: list[str] = [p for p in os.environ.get("AUTOLIST_IMPORT_PATHS", "").split(os.pathsep) if p]
    source: str = "auto"


@dg.asset(group_name=RAW_GROUP, kinds={"python", "duckdb"}, pool=WAREHOUSE_POOL)
def imported_listings(
    context: dg.AssetExecutionContext, config: CsvImportConfig, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Listings from CSV exports of earlier scrapes, loaded beside the scraped ones with rejected rows kept aside."""
    from autolist_assets.sources.csv_import import load_csv_exports  # pandas: only when files are imported

    paths.ensure_writable()
    with warehouse.connect() as con:
        ensure_raw_tables(con)
        results = load_csv_exports([Path(p) for p in config.paths], con, config.source, paths.pii_salt())
        total, rejected_total = con.execute(
            "select (select count(*) from raw.imported_listings), (select count(*) from raw.import_rejections)"
        ).fetchone()
    for result in results:
        context.log.info(
            f"{result.path.name} ({result.source}): {result.rows_read} read, {len(result.rows)} imported, "
            f"{len(result.rejections)} rejected {result.rejected_by_reason}"
        )
    return dg.MaterializeResult(
        metadata={
            "files_loaded_now": len(results),
            "imported_now": sum(len(r.rows) for r in results),
            "rejected_now": sum(len(r.rejections) for r in results),
            "imported_rows_total": total,
            "rejected_rows_total": rejected_total,
        }
    )
