"""The whole graph, materialized in-process against the demo marketplace, matches the marketplace's truth."""

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from autolist_assets import paths
from autolist_assets.pipeline import run_window
from autolist_assets.resources import Marketplace
from demo_market import Faults, Market, MarketConfig
from demo_market.server import DemoMarketServer

REPO_ROOT = Path(__file__).resolve().parent.parent
TODAY = datetime.now(timezone.utc).date()
WINDOW = (TODAY - timedelta(days=2), TODAY - timedelta(days=1))


def warehouse_count(sql: str) -> int:
    con = duckdb.connect(str(paths.warehouse_path()), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(MarketConfig(seed=11, today=TODAY, history_days=6, avito_per_day=70, moteur_per_day=25,
                               faults=Faults.off()))


@pytest.fixture(scope="module")
def truth_keys(market) -> set[str]:
    keys = set()
    for source in ("avito", "moteur"):
        frame = market.ground_truth(source, *WINDOW)
        keys |= {f"{source}:{listing_id}" for listing_id in frame["listing_id"]}
    return keys


@pytest.fixture(scope="module")
def two_runs(market):
    """The same window materialized twice, with warehouse counts taken after each run."""
    with DemoMarketServer(market) as server:
        resources = {"marketplace": Marketplace(avito_url=server.avito_url, moteur_url=server.moteur_url)}
        runs = []
        for _ in range(2):
            result = run_window(*WINDOW, resources=resources)
            counts = {
                "fct": warehouse_count("select count(*) from main.fct_listings"),
                "raw": warehouse_count("select count(*) from raw.listings"),
                "reports": warehouse_count("select count(*) from raw.scrape_reports"),
            }
            runs.append((result, counts))
    return runs


def test_every_step_succeeds_both_times(two_runs):
    for result, _ in two_runs:
        assert result.success
        materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
        assert {"raw_listings", "fct_listings", "prices_by_model_year_city", "price_model", "serving_snapshot"} <= materialized


def test_fct_listings_holds_exactly_the_marketplace_truth(two_runs, truth_keys):
    con = duckdb.connect(str(paths.warehouse_path()), read_only=True)
    try:
        keys = {row[0] for row in con.execute("select listing_key from main.fct_listings").fetchall()}
    finally:
        con.close()
    assert len(truth_keys) > 150
    assert keys == truth_keys
    assert two_runs[0][1]["fct"] == len(truth_keys)


def test_rerunning_the_window_duplicates_nothing(two_runs, truth_keys):
    (_, first), (_, second) = two_runs
    assert first == second
    assert second["raw"] == len(truth_keys)
    assert second["reports"] == 4  # 2 days × 2 sites


def test_one_scrape_report_per_partition_with_its_listings(two_runs, market):
    con = duckdb.connect(str(paths.warehouse_path()), read_only=True)
    try:
        reports = con.execute("select scrape_date, source, listings, pages from raw.scrape_reports").fetchall()
    finally:
        con.close()
    for scrape_date, source, listings, pages in reports:
        assert listings == len(market.listings(source, scrape_date))
        assert pages >= listings  # every listing's detail page, plus list pages


def test_price_model_metadata_and_predictions(two_runs):
    result, counts = two_runs[-1]
    materialization = result.asset_materializations_for_node("price_model")[0]
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert metadata["train_rows"] + metadata["valid_rows"] == counts["fct"]
    assert 0.0 < metadata["r2_log"] <= 1.0
    assert metadata["mae_dh"] > 0
    assert warehouse_count("select count(*) from ml.price_predictions where predicted_price_dh > 0") == counts["fct"]


def test_serving_snapshot_mirrors_the_warehouse(two_runs):
    con = duckdb.connect(str(paths.serving_path()), read_only=True)
    try:
        listings = con.execute("select count(*) from listings").fetchone()[0]
        info = con.execute("select listings from snapshot_info").fetchone()[0]
        tables = {row[0] for row in con.execute("select table_name from information_schema.tables").fetchall()}
        columns = {row[0] for row in con.execute("select column_name from information_schema.columns").fetchall()}
    finally:
        con.close()
    assert listings == info == two_runs[-1][1]["fct"]
    assert {"listings", "prices_by_model_year_city", "scrape_reports", "snapshot_info"} <= tables
    assert not {"seller_name_hash", "seller_phone_hash"} & columns
    assert not list(paths.data_dir().glob(".serving.duckdb.*.tmp"))


def test_market_page_shows_the_snapshots_listing_count(two_runs):
    app = AppTest.from_file(str(REPO_ROOT / "streamlit_app" / "app.py"), default_timeout=30).run()
    assert not app.exception
    metrics = {metric.label: metric.value for metric in app.metric}
    expected = two_runs[-1][1]["fct"]
    assert metrics["Listings"].replace("\u202f", "") == str(expected)
    con = duckdb.connect(str(paths.serving_path()), read_only=True)
    try:
        median = con.execute("select median(price_dh) from listings").fetchone()[0]
    finally:
        con.close()
    assert metrics["Median price"] == f"{round(median):,} DH".replace(",", "\u202f")
