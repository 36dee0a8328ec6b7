"""Vehicle dedup measured against the demo marketplace's ground truth (reposts and cross-posts switched on).

The truth's ads are written straight into raw.listings the way the site adapters show them (Moteur brands
upper-case and hyphenated, cities in ASCII, hashed sellers), one `dbt build` runs, and every pair of listings
dbt puts in one vehicle is compared with the pairs sharing the truth's vehicle_id.
"""

import dataclasses
import itertools
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from autolist_assets.raw_tables import ensure_raw_tables
from demo_market import Market, MarketConfig
from demo_market.market import Faults
from tests.warehouse.market_rows import raw_row

REPO = Path(__file__).resolve().parents[2]
PROJECT = REPO / "dbt_project"
BIN = Path(sys.executable).parent
TODAY = date(2026, 3, 1)
FIRST_DAY = date(2026, 2, 16)


def _pairs(groups: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {pair for keys in groups.values() for pair in itertools.combinations(sorted(keys), 2)}


@pytest.fixture(scope="module")
def quality(tmp_path_factory) -> dict:
    import pyarrow as pa

    from autolist_assets.raw_tables import RAW_LISTING_SCHEMA

    faults = dataclasses.replace(Faults.off(), cross_posts=0.15, reposts=0.05)
    market = Market(MarketConfig(seed=7, today=TODAY, history_days=30, faults=faults))
    rows, truth = [], {}
    for source in ("avito", "moteur"):
        day = FIRST_DAY
        while day <= TODAY:
            for ad in market.listings(source, day):
                if not getattr(ad, "is_car", True):
                    continue
                rows.append(raw_row(ad, day))
                truth.setdefault(ad.vehicle_id, []).append(f"{source}:{ad.listing_id}")
            day = date.fromordinal(day.toordinal() + 1)
    data_dir = tmp_path_factory.mktemp("dedup")
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    ensure_raw_tables(con)
    table = pa.Table.from_pylist(rows, schema=RAW_LISTING_SCHEMA)
    con.register("truth_rows", table)
    con.execute("insert into raw.listings by name select * from truth_rows")
    con.close()
    env = {**os.environ, "AUTOLIST_DATA_DIR": str(data_dir)}
    built = subprocess.run(
        [str(BIN / "dbt"), "build", "--project-dir", str(PROJECT), "--profiles-dir", str(PROJECT),
         "--target-path", str(data_dir / "target")], env=env, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-4000:]
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    predicted: dict[str, list[str]] = {}
    for listing_key, vehicle_id in con.execute("select listing_key, vehicle_id from intermediate.int_listing_vehicles").fetchall():
        predicted.setdefault(vehicle_id, []).append(listing_key)
    rates = con.execute("select source, duplicate_rate from main.duplicate_rates order by source").fetchall()
    con.close()
    true_pairs, found_pairs = _pairs(truth), _pairs(predicted)
    hits = len(true_pairs & found_pairs)
    result = {
        "listings": len(rows), "true_pairs": len(true_pairs), "found_pairs": len(found_pairs),
        "precision": hits / len(found_pairs) if found_pairs else 1.0,
        "recall": hits / len(true_pairs) if true_pairs else 1.0,
        "duplicate_rate": dict(rates),
    }
    print(f"\ndedup quality: {result}")
    return result


def test_the_market_has_duplicates_to_find(quality):
    assert quality["true_pairs"] > 50


def test_dedup_precision(quality):
    assert quality["precision"] >= 0.9


def test_dedup_recall(quality):
    assert quality["recall"] >= 0.9


def test_duplicate_rate_per_site_is_reported(quality):
    assert set(quality["duplicate_rate"]) == {"avito", "moteur"}
    assert all(0 < rate < 0.5 for rate in quality["duplicate_rate"].values())
