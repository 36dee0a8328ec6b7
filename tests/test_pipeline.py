"""The whole graph, materialized in-process against the demo marketplace, matches the marketplace's truth."""

import duckdb
import pytest

from autolist_assets import paths


@pytest.fixture
def run(in_pipeline_dir):
    return in_pipeline_dir


def query(sql: str, path=None):
    con = duckdb.connect(str(path or paths.warehouse_path()), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_step_succeeds_both_times(run):
    for result, _ in run.runs:
        assert result.success
        materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
        assert {"raw_listings", "fct_listings", "prices_by_model_year_city", "price_model", "recommender", "serving_snapshot"} <= materialized


def test_fct_listings_holds_exactly_the_marketplace_truth(run):
    keys = {row[0] for row in query("select listing_key from main.fct_listings")}
    assert len(run.truth_keys) > 150
    assert keys == run.truth_keys
    assert run.runs[0][1]["fct"] == len(run.truth_keys)


def test_rerunning_the_window_duplicates_nothing(run):
    (_, first), (_, second) = run.runs
    assert first == second
    assert second["raw"] == len(run.truth_keys)
    assert second["reports"] == 4  # 2 days × 2 sites


def test_one_scrape_report_per_partition_with_its_listings(run):
    for scrape_date, source, listings, pages in query("select scrape_date, source, listings, pages from raw.scrape_reports"):
        assert listings == len(run.market.listings(source, scrape_date))
        # The second run resumes from the archive, so it may fetch no more than the first list page.
        assert pages >= 1


def test_price_model_and_predictions(run):
    result, counts = run.runs[-1]
    metadata = {k: v.value for k, v in result.asset_materializations_for_node("price_model")[0].metadata.items()}
    assert metadata["mae_dh"] > 0
    assert query("select count(*) from ml.price_predictions where predicted_price_dh > 0")[0][0] == counts["fct"]


def test_recommender_metadata_and_precomputed_recommendations(run):
    result, _ = run.runs[-1]
    metadata = {k: v.value for k, v in result.asset_materializations_for_node("recommender")[0].metadata.items()}
    assert metadata["ndcg10_hybrid"] > metadata["ndcg10_popularity"]
    users, per_user = query("select count(distinct user_id), max(rank) from ml.user_recommendations")[0]
    assert users > 100 and per_user == 10
    inactive = query(
        "select count(*) from ml.user_recommendations r join main.fct_listings l using (listing_key) where not l.still_active"
    )[0][0]
    assert inactive == 0


def test_serving_snapshot_mirrors_the_warehouse(run):
    snapshot = paths.serving_path()
    listings = query("select count(*) from listings", snapshot)[0][0]
    info = query("select listings from snapshot_info", snapshot)[0][0]
    tables = {row[0] for row in query("select table_name from information_schema.tables", snapshot)}
    columns = {row[0] for row in query("select column_name from information_schema.columns", snapshot)}
    assert listings == info == run.runs[-1][1]["fct"]
    assert {"listings", "prices_by_model_year_city", "brand_share_by_city", "depreciation_curves", "listing_volume",
            "scrape_health", "rejections", "model_versions", "user_recommendations", "snapshot_info"} <= tables
    assert not {"seller_name_hash", "seller_phone_hash"} & columns
    assert not list(paths.data_dir().glob(".serving.duckdb.*.tmp"))
