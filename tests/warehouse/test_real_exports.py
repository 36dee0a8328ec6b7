"""The four real CSV exports, imported by the importer and built by dbt in a warehouse of their own.

One `dbt build` and one incremental run for the whole module; every test reads the resulting DuckDB file.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "dbt_project"
REAL = REPO.parent / "shared" / "data" / "real"
EXPORTS = sorted(REAL.glob("*/*.csv"))
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(len(EXPORTS) != 4, reason="the four real exports are not in ../shared/data/real")

# Quarantine reasons per export: pinned, so a parsing or rule change that moves them shows up here.
EXPECTED_REJECTIONS = {
    "avito_final_results.csv": {"no_price": 5439, "unparseable_year": 16, "price_out_of_bounds": 15,
                                "not_a_car_for_sale": 6, "placeholder_price": 2, "unparseable_brand": 1},
    "cars_db_scraping_struct_final.csv": {"mileage_out_of_range": 2, "placeholder_price": 2},
    "used_cars.csv": {"no_price": 652, "unparseable_year": 62, "placeholder_price": 2, "price_out_of_bounds": 1},
    "voitures_avito_all_final.csv": {"no_price": 1486, "not_a_car_for_sale": 2, "unparseable_brand": 1},
}


def _dbt(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "dbt"), *args, "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
         "--target-path", env["WAREHOUSE_TEST_TARGET"]],
        env=env, capture_output=True, text=True,
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("real_exports")
    env = {**os.environ, "AUTOLIST_DATA_DIR": str(data_dir), "WAREHOUSE_TEST_TARGET": str(data_dir / "target")}
    imported = subprocess.run([str(BIN / "autolist"), "import", *map(str, EXPORTS)], env=env, capture_output=True,
                              text=True, cwd=REPO)
    assert imported.returncode == 0, imported.stderr
    built = _dbt(env, "build")
    assert built.returncode == 0, built.stdout[-4000:]
    return data_dir / "warehouse.duckdb"


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_rejections_by_reason_per_export(warehouse):
    rows = query(warehouse, "select import_file, rejection_reason, count(*) from main.listings_rejected group by all")
    found: dict[str, dict[str, int]] = {}
    for import_file, reason, count in rows:
        found.setdefault(import_file, {})[reason] = count
    assert found == EXPECTED_REJECTIONS


def test_every_raw_row_is_either_trusted_or_quarantined(warehouse):
    rows = query(warehouse, """
        select raw.import_file, raw.n, coalesce(acc.n, 0), coalesce(rej.n, 0)
        from (select import_file, count(*) n from raw.imported_listings group by 1) raw
        left join (select import_file, count(*) n from intermediate.int_listings_accepted group by 1) acc using (import_file)
        left join (select import_file, count(*) n from main.listings_rejected group by 1) rej using (import_file)
    """)
    assert len(rows) == 4
    for import_file, raw, accepted, rejected in rows:
        assert raw == accepted + rejected, import_file
        assert accepted > 0, import_file


def test_fct_listings_is_one_priced_row_per_vehicle(warehouse):
    total, keys, vehicles, unpriced, bad_year = query(warehouse, """
        select count(*), count(distinct listing_key), count(distinct vehicle_id),
               count(*) filter (where price_dh is null),
               count(*) filter (where model_year not between 1950 and 2027)
        from main.fct_listings
    """)[0]
    assert total == keys == vehicles > 10_000
    assert unpriced == 0 and bad_year == 0
    listings, duplicates = query(warehouse, "select sum(listings), sum(duplicate_listings) from main.duplicate_rates")[0]
    assert listings == total + duplicates


def test_cities_resolve_accents_transliterations_and_sectors(warehouse):
    cities = dict(query(warehouse, """
        select coalesce(city_raw, '') || '|' || coalesce(sector_raw, ''), any_value(city) from intermediate.int_listings_normalized
        where city_raw in ('Fes', 'Sale', 'Tetouan', 'Meknes') or (city_raw is null and sector_raw in ('Maarif', 'Hay Riad'))
        group by 1
    """))
    assert cities["Fes|"] == "Fès" and cities["Sale|"] == "Salé" and cities["Tetouan|"] == "Tétouan"
    assert cities["Meknes|"] == "Meknès"
    assert cities["|Maarif"] == "Casablanca" and cities["|Hay Riad"] == "Rabat"
    regions = {row[0] for row in query(warehouse, "select distinct region from main.fct_listings where region is not null")}
    assert "Casablanca-Settat" in regions and regions <= {r[0] for r in query(warehouse, "select region from main.dim_cities")}


def test_brands_collapse_across_site_spellings(warehouse):
    brands = {row[0] for row in query(warehouse, "select distinct brand from main.fct_listings")}
    assert "Mercedes-Benz" in brands and "Land Rover" in brands
    assert not {"MERCEDES", "MERCEDES-BENZ", "LAND-ROVER", "Mercedes"} & brands


def test_marts_are_built_and_non_empty(warehouse):
    for mart in ("dim_models", "dim_cities", "prices_by_model_year_city", "brand_share_by_city", "depreciation_curves",
                 "listing_volume", "listing_price_history", "duplicate_rates"):
        assert query(warehouse, f"select count(*) from main.{mart}")[0][0] > 0, mart


def test_incremental_run_replaces_only_its_window(warehouse):
    # Two scrape days of moteur rows land in raw.listings and are loaded; then both days are emptied in raw but
    # only the first is in the run's window: its rows go, the second day's stay untouched.
    first, second = "2024-03-08", "2024-03-09"
    env = {**os.environ, "AUTOLIST_DATA_DIR": str(warehouse.parent), "WAREHOUSE_TEST_TARGET": str(warehouse.parent / "target")}

    def scraped_per_day() -> dict[str, int]:
        return dict(query(warehouse, """
            select cast(scrape_date as varchar), count(*) from intermediate.int_listings_normalized
            where ingestion = 'scrape' group by 1"""))

    def load(window: tuple[str, str]) -> None:
        run = _dbt(env, "run", "--select", "int_listings_normalized",
                   "--vars", json.dumps({"min_date": window[0], "max_date": window[1]}))
        assert run.returncode == 0, run.stdout[-3000:]

    con = duckdb.connect(str(warehouse))
    con.execute(f"""insert into raw.listings by name
        select * exclude (import_file, import_row) from raw.imported_listings
        where scrape_date in ('{first}', '{second}')""")
    expected = dict(con.execute("select cast(scrape_date as varchar), count(*) from raw.listings group by 1").fetchall())
    con.close()
    assert set(expected) == {first, second}
    load((first, second))
    assert scraped_per_day() == expected

    con = duckdb.connect(str(warehouse))
    con.execute("delete from raw.listings")
    con.close()
    load((first, first))
    assert scraped_per_day() == {second: expected[second]}
