"""Raw layer: scrape each (day, site) partition, archive every page, and load the parsed rows."""

import json
import time
from contextlib import ExitStack
from datetime import date, datetime, timezone

import dagster as dg
import pyarrow as pa

from autolist_assets import paths
from autolist_assets.partitions import scrape_partitions
from autolist_assets.resources import WAREHOUSE_POOL, Marketplace, Warehouse
from autolist_assets.sources import BrowserFetcher, HttpFetcher, PageArchive, reparse_archive, scrape_partition

RAW_GROUP = "raw"

# One schema for every row a scraper or importer hands to the warehouse; original texts
# (price_text, mileage_text) sit next to the values parsed from them.
RAW_LISTING_SCHEMA = pa.schema(
    [
        ("scrape_date", pa.date32()),
        ("source", pa.string()),
        ("listing_id", pa.string()),
        ("url", pa.string()),
        ("title", pa.string()),
        ("price_text", pa.string()),
        ("price_dh", pa.int64()),
        ("old_price_dh", pa.int64()),
        ("monthly_payment_dh", pa.int64()),
        ("year", pa.int32()),
        ("mileage_text", pa.string()),
        ("mileage_km", pa.int64()),
        ("fuel", pa.string()),
        ("gearbox", pa.string()),
        ("brand", pa.string()),
        ("model", pa.string()),
        ("fiscal_power", pa.int32()),
        ("doors", pa.int32()),
        ("origin", pa.string()),
        ("condition", pa.string()),
        ("first_owner", pa.bool_()),
        ("city", pa.string()),
        ("sector", pa.string()),
        ("seller_type", pa.string()),
        ("seller_name_hash", pa.string()),
        ("seller_phone_hash", pa.string()),
        ("posted_at", pa.timestamp("us", tz="UTC")),
        ("image_count", pa.int32()),
        ("category", pa.string()),
        ("equipment", pa.list_(pa.string())),
        ("scraped_at", pa.timestamp("us", tz="UTC")),
    ]
)

_DUCKDB_TYPES = {
    pa.date32(): "date",
    pa.string(): "varchar",
    pa.int64(): "bigint",
    pa.int32(): "integer",
    pa.bool_(): "boolean",
    pa.timestamp("us", tz="UTC"): "timestamptz",
    pa.list_(pa.string()): "varchar[]",
}

RAW_LISTINGS_DDL = "create table if not exists raw.listings (\n    {}\n)".format(
    ",\n    ".join(f"{field.name} {_DUCKDB_TYPES[field.type]}" for field in RAW_LISTING_SCHEMA)
)

SCRAPE_REPORTS_DDL = """
create table if not exists raw.scrape_reports (
    scrape_date date,
    source varchar,
    mode varchar,
    pages integer,
    listings integer,
    parse_failures integer,
    http_status_counts json,
    duration_s double,
    listings_per_s double,
    scraped_at timestamptz
)
"""


class RawListingsConfig(dg.Config):
    """Run config of raw_listings."""

    # False re-parses the partition's archived pages with no network: a parser fix plus a backfill repairs history.
    refetch: bool = True


def replace_partition(con, scrape_day: date, source: str, rows: list[dict], report: dict) -> None:
    """Swap one partition's rows and report in a single transaction, so a rerun never duplicates."""
    scraped_at = datetime.now(timezone.utc)
    table = pa.Table.from_pylist(
        [{**row, "scrape_date": scrape_day, "scraped_at": scraped_at} for row in rows],
        schema=RAW_LISTING_SCHEMA,
    )
    con.execute("create schema if not exists raw")
    con.execute(RAW_LISTINGS_DDL)
    con.execute(SCRAPE_REPORTS_DDL)
    con.execute("begin transaction")
    try:
        con.execute("delete from raw.listings where scrape_date = ? and source = ?", [scrape_day, source])
        con.register("partition_rows", table)
        con.execute("insert into raw.listings by name select * from partition_rows")
        con.unregister("partition_rows")
        con.execute("delete from raw.scrape_reports where scrape_date = ? and source = ?", [scrape_day, source])
        con.execute(
            "insert into raw.scrape_reports values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                scrape_day,
                source,
                report["mode"],
                report["pages"],
                report["listings"],
                report["parse_failures"],
                json.dumps(report["http_status_counts"]),
                report["duration_s"],
                report["listings_per_s"],
                scraped_at,
            ],
        )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


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
    salt = paths.pii_salt()
    reports = []
    started = time.perf_counter()
    with ExitStack() as stack:
        fetchers: dict[str, object] = {}
        for index, key in enumerate(keys, start=1):
            day_text, source = key.keys_by_dimension["date"], key.keys_by_dimension["source"]
            day = date.fromisoformat(day_text)
            archive_file = paths.archive_path(source, day_text)
            if config.refetch:
                if source not in fetchers:
                    kind = marketplace.fetcher_kind(source)
                    fetchers[source] = stack.enter_context(BrowserFetcher() if kind == "browser" else HttpFetcher())
                archive_file.parent.mkdir(parents=True, exist_ok=True)
                with PageArchive(archive_file) as archive:
                    result = scrape_partition(
                        source, day, marketplace.base_url(source), fetchers[source], archive, salt
                    )
            else:
                result = reparse_archive(source, day, archive_file, salt)
            report = {
                "mode": "fetch" if config.refetch else "reparse",
                "pages": result.pages_fetched,
                "listings": len(result.rows),
                "parse_failures": result.parse_failures,
                "http_status_counts": result.http_status_counts,
                "duration_s": round(result.duration_s, 3),
                "listings_per_s": round(len(result.rows) / result.duration_s, 1) if result.duration_s else None,
            }
            with warehouse.connect() as con:
                replace_partition(con, day, source, result.rows, report)
            reports.append({"partition": str(key), **report})
            context.log.info(
                f"[{index}/{len(keys)}] {key}: {report['listings']} listings from {report['pages']} pages "
                f"in {report['duration_s']} s ({report['mode']})"
            )
    total = sum(r["listings"] for r in reports)
    elapsed = time.perf_counter() - started
    return dg.MaterializeResult(
        metadata={
            "partitions": len(keys),
            "listings": total,
            "pages": sum(r["pages"] for r in reports),
            "parse_failures": sum(r["parse_failures"] for r in reports),
            "listings_per_s": round(total / elapsed, 1) if elapsed else 0.0,
            "scrape_reports": dg.MetadataValue.md(_markdown_table(reports)),
        }
    )


def _markdown_table(rows: list[dict]) -> str:
    columns = ["partition", "mode", "pages", "listings", "parse_failures", "duration_s", "listings_per_s"]
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
