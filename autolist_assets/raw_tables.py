"""The raw tables' schemas and the only code that writes them: whole partitions or whole files at a time.

Plain Python (pyarrow + DuckDB), shared by the raw assets, the CSV importer and the benchmarks.
"""

import json
from datetime import date, datetime, timezone
from itertools import chain

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
        # added by #3 (append-only: staging selects by name)
        ("is_car", pa.bool_()),  # False for rentals and other vehicles filed under cars
        ("ad_status", pa.string()),  # active | expired (moteur warning) | gone (ad page 404/410, card fields only)
        ("posted_text", pa.string()),  # the card's relative date as printed ("il y a 3 heures")
        ("mileage_min_km", pa.int64()),  # exact mileage, or the bounds of a bucket ("100 000 - 109 999")
        ("mileage_max_km", pa.int64()),
        ("attributes", pa.string()),  # JSON: every attribute label -> the text the site printed
    ]
)
_SCRAPED_AT = RAW_LISTING_SCHEMA.field("scraped_at")
_UNCOMMITTED_SCHEMA = RAW_LISTING_SCHEMA.remove(RAW_LISTING_SCHEMA.get_field_index("scraped_at"))

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
# One row per page a scrape could not read (the page itself stays in the WARC lake for replay), replaced with
# its partition; a partition that failed keeps its failures here while its rows stay as they were.
PARSE_FAILURES_DDL = """
create table if not exists raw.parse_failures (
    scrape_date date,
    source varchar,
    url varchar,
    page varchar,
    reason varchar,
    detail varchar,
    http_status integer,
    partition_failed boolean,
    recorded_at timestamptz
)
"""
_FAILURE_COLUMNS = ("url", "page", "reason", "detail", "http_status")

# Report columns added by #3, appended so older warehouses gain them in place.
SCRAPE_REPORT_EXTRA_COLUMNS = {
    "listings_found": "integer",
    "new_listings": "integer",
    "updated_listings": "integer",
    "parse_failures_by_reason": "json",
    "retries": "integer",
    "network_errors": "json",
    "challenges": "integer",
    "reused_pages": "integer",
    "gone_listings": "integer",
}
_REPORT_COLUMNS = (
    "scrape_date", "source", "mode", "pages", "listings", "parse_failures", "http_status_counts", "duration_s",
    "listings_per_s", "scraped_at", *SCRAPE_REPORT_EXTRA_COLUMNS,
)
# A re-scraped listing counts as "updated" when any parsed field changed (a price drop, or a parser fix).
_TRACKED_FIELDS = tuple(f.name for f in RAW_LISTING_SCHEMA if f.name not in ("scrape_date", "scraped_at"))


def _replace_failures(con, scrape_day: date, source: str, failures, partition_failed: bool, at: datetime) -> None:
    con.execute("delete from raw.parse_failures where scrape_date = ? and source = ?", [scrape_day, source])
    if failures:
        con.executemany(
            "insert into raw.parse_failures values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[scrape_day, source, *(f.get(name) for name in _FAILURE_COLUMNS), partition_failed, at] for f in failures],
        )


def record_failed_partition(con, scrape_day: date, source: str, failures: list[dict]) -> None:
    """Keep the pages that made a partition fail; its rows and report stay as the last complete scrape left them."""
    ensure_raw_tables(con)
    con.execute("begin transaction")
    try:
        _replace_failures(con, scrape_day, source, failures, True, datetime.now(timezone.utc))
        con.execute("commit")
    except Exception:
        _rollback(con)
        raise


def _rollback(con) -> None:
    """Undo the open transaction; when the failure already ended it (a commit that hit a full disk), the original
    error is the one worth raising, not DuckDB's 'no transaction is active'."""
    try:
        con.execute("rollback")
    except Exception:
        pass


_INT_BOUNDS = {pa.int32(): 2**31 - 1, pa.int64(): 2**63 - 1}


def _fit_string(value):
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8") if not value.isascii() else value
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _fit_bool(value):
    return value if isinstance(value, bool) else None


def _fit_strings(value):
    return [str(v) for v in value if isinstance(v, (str, int, float))] if isinstance(value, (list, tuple)) else None


def _fit_timestamp(value):
    return value if isinstance(value, datetime) and value.tzinfo is not None else None


def _fitter(arrow_type):
    """How a value is fitted to a column of this type: one a parser let through with the wrong type or size becomes
    null (the page keeps the original in the lake and `attributes`), so one odd field never sinks a partition."""
    if arrow_type in _INT_BOUNDS:
        bound = _INT_BOUNDS[arrow_type]
        return lambda value: value if isinstance(value, int) and not isinstance(value, bool) and abs(value) <= bound \
            else None
    if arrow_type == pa.string():
        return _fit_string
    if arrow_type == pa.bool_():
        return _fit_bool
    if arrow_type == pa.list_(pa.string()):
        return _fit_strings
    if isinstance(arrow_type, pa.TimestampType):
        return _fit_timestamp
    return lambda value: value


# Chosen once per column: comparing Arrow types for every value cost more than the rest of the load.
_ROW_FITTERS = [(f.name, _fitter(f.type)) for f in RAW_LISTING_SCHEMA if f.name not in ("scrape_date", "scraped_at")]
_NONE = type(None)
# The Python types a column's values may all have for Arrow to take them as they are, giving what the fitters would.
_PLAIN_TYPES = {pa.int32(): {_NONE, int}, pa.int64(): {_NONE, int}, pa.string(): {_NONE, str}, pa.bool_(): {_NONE, bool},
                pa.list_(pa.string()): {_NONE, list, tuple}}


def _plain_column(values: list, arrow_type) -> pa.Array | None:
    """The column built by Arrow alone when every value is already what its fitter would return; None otherwise.

    Types are checked exactly (`type(v)`, no subclasses: bool is not an int here) and Arrow's own errors (an int
    past int32, a lone surrogate) send the column to the fitters, so the result is the fitted column, bit for bit."""
    if isinstance(arrow_type, pa.TimestampType):
        if not set(map(type, values)) <= {_NONE, datetime} or any(v.tzinfo is None for v in values if v is not None):
            return None
    else:
        plain = _PLAIN_TYPES.get(arrow_type)
        if plain is None or not set(map(type, values)) <= plain:
            return None
    if arrow_type == pa.list_(pa.string()) and not set(map(type, chain.from_iterable(v for v in values if v))) <= {str}:
        return None
    if arrow_type == pa.int64() and -(2**63) in values:
        return None  # the fitter keeps |value| <= 2**63 - 1, Arrow takes -2**63 too
    try:
        return pa.array(values, arrow_type)
    except (pa.ArrowException, UnicodeError, OverflowError):
        return None


def listing_table(rows: list[dict], scrape_day: date) -> pa.Table:
    """A partition's parsed rows as raw.listings stores them, but for `scraped_at`, which the commit sets."""
    # column by column, and Arrow alone for a column whose values need no fitting (the usual case: a fifth of the
    # time of fitting every value; a million rows per backfill)
    columns = {"scrape_date": pa.array([scrape_day] * len(rows), pa.date32())}
    for name, fit in _ROW_FITTERS:
        values = [row.get(name) for row in rows]
        arrow_type = _UNCOMMITTED_SCHEMA.field(name).type
        column = _plain_column(values, arrow_type)
        columns[name] = column if column is not None else \
            pa.array([None if value is None else fit(value) for value in values], arrow_type)
    return pa.Table.from_pydict(columns, schema=_UNCOMMITTED_SCHEMA)


def replace_partition(con, scrape_day: date, source: str, rows: list[dict] | pa.Table, report: dict,
                      failures: list[dict] | None = None) -> None:
    """Swap one partition's rows (parsed, or already a `listing_table`), report and parse failures in a single
    transaction, so a rerun never duplicates."""
    scraped_at = datetime.now(timezone.utc)
    table = rows if isinstance(rows, pa.Table) else listing_table(rows, scrape_day)
    table = table.append_column(_SCRAPED_AT, pa.array([scraped_at] * table.num_rows, _SCRAPED_AT.type))
    ensure_raw_tables(con)
    con.execute("begin transaction")
    try:
        con.register("partition_rows", table)
        changed = " or ".join(f"old.{name} is distinct from new.{name}" for name in _TRACKED_FIELDS)
        new_count, updated_count = con.execute(
            f"""
            with old as (select * from raw.listings where scrape_date = ? and source = ?)
            select count(*) filter (where old.listing_id is null),
                   count(*) filter (where old.listing_id is not null and ({changed}))
            from partition_rows as new left join old using (listing_id)
            """,
            [scrape_day, source],
        ).fetchone()
        report["new_listings"], report["updated_listings"] = new_count, updated_count
        con.execute("delete from raw.listings where scrape_date = ? and source = ?", [scrape_day, source])
        con.execute("insert into raw.listings by name select * from partition_rows")
        con.unregister("partition_rows")
        con.execute("delete from raw.scrape_reports where scrape_date = ? and source = ?", [scrape_day, source])
        values = {
            **{name: report.get(name) for name in _REPORT_COLUMNS},
            "scrape_date": scrape_day, "source": source, "scraped_at": scraped_at,
            "http_status_counts": json.dumps(report["http_status_counts"]),
            "parse_failures_by_reason": json.dumps(report.get("parse_failures_by_reason") or {}),
            "network_errors": json.dumps(report.get("network_errors") or {}),
        }
        con.execute(
            f"insert into raw.scrape_reports ({', '.join(_REPORT_COLUMNS)}) "
            f"values ({', '.join('?' for _ in _REPORT_COLUMNS)})",
            [values[name] for name in _REPORT_COLUMNS],
        )
        _replace_failures(con, scrape_day, source, failures or [], False, scraped_at)
        con.execute("commit")
    except Exception:
        _rollback(con)
        raise




def ensure_raw_tables(con) -> None:
    """Create the raw schema and tables if this warehouse has never been written."""
    con.execute("create schema if not exists raw")
    for ddl in (RAW_LISTINGS_DDL, SCRAPE_REPORTS_DDL, IMPORTED_LISTINGS_DDL, IMPORT_REJECTIONS_DDL, PARSE_FAILURES_DDL):
        con.execute(ddl)
    # warehouses created before #3 gain the appended columns in place
    existing = set(con.execute(
        "select table_name || '.' || column_name from information_schema.columns where table_schema = 'raw'"
    ).fetchall())
    wanted = [(table, field.name, _DUCKDB_TYPES[field.type])
              for table, schema in (("listings", RAW_LISTING_SCHEMA), ("imported_listings", IMPORTED_LISTING_SCHEMA))
              for field in schema]
    wanted += [("scrape_reports", name, sql_type) for name, sql_type in SCRAPE_REPORT_EXTRA_COLUMNS.items()]
    for table, column, sql_type in wanted:
        if (f"{table}.{column}",) not in existing:
            con.execute(f"alter table raw.{table} add column {column} {sql_type}")


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
        _rollback(con)
        raise
