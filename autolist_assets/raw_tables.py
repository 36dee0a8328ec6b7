"""The raw tables' schemas and the only code that writes them: whole partitions or whole files at a time.

Plain Python (pyarrow + DuckDB), shared by the raw assets, the CSV importer and the benchmarks.
"""

import json
from datetime import date, datetime, timezone

import pyarrow as pa

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

# Imported CSV rows keep the file and line they came from, so every row can be traced back.
IMPORTED_LISTING_SCHEMA = RAW_LISTING_SCHEMA.append(pa.field("import_file", pa.string())).append(
    pa.field("import_row", pa.int32())
)


def create_table_sql(table: str, schema: pa.Schema) -> str:
    """The DuckDB DDL of a raw table, derived from its Arrow schema so the two never drift."""
    columns = ",\n    ".join(f"{field.name} {_DUCKDB_TYPES[field.type]}" for field in schema)
    return f"create table if not exists {table} (\n    {columns}\n)"


RAW_LISTINGS_DDL = create_table_sql("raw.listings", RAW_LISTING_SCHEMA)
IMPORTED_LISTINGS_DDL = create_table_sql("raw.imported_listings", IMPORTED_LISTING_SCHEMA)

IMPORT_REJECTIONS_DDL = """
create table if not exists raw.import_rejections (
    import_file varchar,
    import_row integer,
    reason varchar,
    detail varchar,
    record json,
    imported_at timestamptz
)
"""

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



def replace_partition(con, scrape_day: date, source: str, rows: list[dict], report: dict) -> None:
    """Swap one partition's rows and report in a single transaction, so a rerun never duplicates."""
    scraped_at = datetime.now(timezone.utc)
    table = pa.Table.from_pylist(
        [{**row, "scrape_date": scrape_day, "scraped_at": scraped_at} for row in rows],
        schema=RAW_LISTING_SCHEMA,
    )
    ensure_raw_tables(con)
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




def ensure_raw_tables(con) -> None:
    """Create the raw schema and tables if this warehouse has never been written."""
    con.execute("create schema if not exists raw")
    for ddl in (RAW_LISTINGS_DDL, SCRAPE_REPORTS_DDL, IMPORTED_LISTINGS_DDL, IMPORT_REJECTIONS_DDL):
        con.execute(ddl)


def replace_import(con, import_file: str, rows: pa.Table, rejections: list[dict]) -> None:
    """Swap one imported file's rows and rejections in a single transaction; importing it again duplicates nothing."""
    imported_at = datetime.now(timezone.utc)
    ensure_raw_tables(con)
    con.execute("begin transaction")
    try:
        con.execute("delete from raw.imported_listings where import_file = ?", [import_file])
        con.execute("delete from raw.import_rejections where import_file = ?", [import_file])
        con.register("import_rows", rows)
        con.execute(
            "insert into raw.imported_listings by name select * replace (?::timestamptz as scraped_at) from import_rows",
            [imported_at],
        )
        con.unregister("import_rows")
        if rejections:
            con.executemany(
                "insert into raw.import_rejections values (?, ?, ?, ?, ?, ?)",
                [
                    [import_file, r["import_row"], r["reason"], r["detail"], json.dumps(r["record"], ensure_ascii=False), imported_at]
                    for r in rejections
                ],
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
