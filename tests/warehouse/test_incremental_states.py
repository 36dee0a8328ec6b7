"""int_listing_states builds incrementally: after a daily run it holds exactly what a full build of the same raw rows holds.

One warehouse is built over four days of demo-market ads. A daily run then adds a fifth day (new ads, and older ads
seen again at a lower price) and re-parses the fourth day, from which some ads have gone. Day three's listings are
left alone, so their still_active must move without a rebuild. A second warehouse is
built from scratch over the final raw rows. Both must agree on every table the daily run builds.
"""

import dataclasses
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from autolist_assets.raw_tables import RAW_LISTING_SCHEMA, ensure_raw_tables
from demo_market import Market, MarketConfig
from demo_market.market import Faults
from tests.warehouse.market_rows import raw_row

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "dbt_project"
BIN = Path(sys.executable).parent
DAYS = [date(2026, 3, 1) + timedelta(days=i) for i in range(5)]
# the columns that record when a row was built, the only ones a rebuild may change
BUILD_TIMES = {"normalized_at", "observations_checksum", "built_at", "states_built_at"}
# every table of the daily run's models, incremental or not
TABLES = ["intermediate.int_listings_normalized", "intermediate.int_listing_states", "intermediate.int_vehicle_matches",
          "intermediate.int_listing_vehicles", "main.listing_price_history", "main.fct_listings", "main.price_drops",
          "main.duplicate_rates"]


def _dbt(data_dir: Path, *args: str) -> None:
    done = subprocess.run(
        [str(BIN / "dbt"), "build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test", *args,
         "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
         "--target-path", str(data_dir / "target")],
        env={**os.environ, "AUTOLIST_DATA_DIR": str(data_dir)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:]


def _load(data_dir: Path, rows: list[dict]) -> None:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    ensure_raw_tables(con)
    con.register("new_rows", pa.Table.from_pylist(rows, schema=RAW_LISTING_SCHEMA))
    con.execute("insert into raw.listings by name select * from new_rows")
    con.close()


def _query(data_dir: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _copy_raw_listings(source: Path, target: Path) -> None:
    con = duckdb.connect(str(target / "warehouse.duckdb"))
    ensure_raw_tables(con)
    con.execute(f"attach '{source / 'warehouse.duckdb'}' as source (read_only)")
    con.execute("insert into raw.listings by name select * from source.raw.listings")
    con.close()


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory) -> dict:
    faults = dataclasses.replace(Faults.off(), cross_posts=0.15, reposts=0.05)
    market = Market(MarketConfig(seed=5, today=DAYS[-1], history_days=len(DAYS), avito_per_day=60, moteur_per_day=20,
                                 faults=faults))
    ads = {day: [ad for source in ("avito", "moteur") for ad in market.listings(source, day)] for day in DAYS}
    first_days = [raw_row(ad, day) for day in DAYS[:4] for ad in ads[day]]
    # the daily run: day four's ads re-parsed without every seventh one, day five's new ads, and every fifth ad of the
    # first three days seen again 5 % cheaper
    gone = [f"{ad.source}:{ad.listing_id}" for ad in ads[DAYS[3]][1::7]]
    seen_again = [raw_row(ad, DAYS[-1]) for day in DAYS[:3] for ad in ads[day][::5]
                  if ad.price_dh and f"{ad.source}:{ad.listing_id}" not in gone]
    for row in seen_again:
        row["price_dh"] = round(row["price_dh"] * 0.95)

    incremental = tmp_path_factory.mktemp("incremental")
    _load(incremental, first_days)
    _dbt(incremental, "--select", "+fct_listings +price_drops +duplicate_rates")
    active_before = {key for (key,) in _query(incremental, "select listing_key from intermediate.int_listing_states "
                                                           "where still_active")}
    _load(incremental, [raw_row(ad, DAYS[-1]) for ad in ads[DAYS[-1]]] + seen_again)
    con = duckdb.connect(str(incremental / "warehouse.duckdb"))
    con.execute("delete from raw.listings where source || ':' || listing_id in (select unnest(?))", [gone])
    con.close()
    window = json.dumps({"min_date": DAYS[3].isoformat(), "max_date": DAYS[-1].isoformat()})
    _dbt(incremental, "--select", "tag:partitioned", "--vars", window)
    _dbt(incremental, "--select", "+fct_listings +price_drops +duplicate_rates", "--exclude", "tag:partitioned")

    full = tmp_path_factory.mktemp("full")
    _copy_raw_listings(incremental, full)
    _dbt(full, "--select", "+fct_listings +price_drops +duplicate_rates")
    return {"incremental": incremental, "full": full, "active_before": active_before, "gone": gone,
            "seen_again": {f"{row['source']}:{row['listing_id']}" for row in seen_again}}


def _differences(warehouses: dict, table: str) -> int:
    con = duckdb.connect(str(warehouses["incremental"] / "warehouse.duckdb"), read_only=True)
    try:
        schema, name = table.split(".")
        columns = ", ".join(f'"{c}"' for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, name]).fetchall() if c not in BUILD_TIMES)
        con.execute(f"attach '{warehouses['full'] / 'warehouse.duckdb'}' as full_build (read_only)")
        return con.execute(f"""select count(*) from (
            (select {columns} from {table} except all select {columns} from full_build.{table})
            union all
            (select {columns} from full_build.{table} except all select {columns} from {table}))""").fetchone()[0]
    finally:
        con.close()


def test_the_daily_run_changed_states_to_compare(warehouses):
    incremental = warehouses["incremental"]
    states = dict(_query(incremental, "select listing_key, observations from intermediate.int_listing_states"))
    assert len(states) > 250
    assert not set(warehouses["gone"]) & set(states)
    assert len(warehouses["gone"]) >= 3
    assert len(warehouses["seen_again"]) > 20
    assert {states.get(key) for key in warehouses["seen_again"]} == {2}
    active_after = {key for (key,) in _query(incremental, "select listing_key from intermediate.int_listing_states "
                                                          "where still_active")}
    # day three's ads were online after the first build (scraped within a day of day four), and are not after
    # day five's scrape unless seen again then
    assert warehouses["active_before"] - active_after
    assert warehouses["seen_again"] <= active_after


@pytest.mark.parametrize("table", TABLES)
def test_each_table_equals_a_full_build(warehouses, table):
    assert _query(warehouses["incremental"], f"select count(*) from {table}")[0][0] > 0
    assert _differences(warehouses, table) == 0
