"""The definitions load and hold the whole graph, its checks, the main job and the daily schedule."""

from datetime import datetime, timezone

import dagster as dg

from autolist_assets.definitions import defs

EXPECTED_ASSETS = {
    "raw_listings",
    "imported_listings",
    "stg_avito__listings",
    "stg_imports__listings",
    "stg_moteur__listings",
    "int_listings_normalized",
    "int_listings_accepted",
    "int_model_spellings",
    "int_listing_states",
    "int_vehicle_matches",
    "int_listing_vehicles",
    "fct_listings",
    "listings_rejected",
    "listing_price_history",
    "dim_models",
    "dim_cities",
    "prices_by_model_year_city",
    "brand_share_by_city",
    "depreciation_curves",
    "listing_volume",
    "price_drops",
    "scrape_health",
    "duplicate_rates",
    "brands",
    "cities",
    "sectors",
    "model_aliases",
    "price_model",
    "price_predictions",
    "user_interactions",
    "recommender",
    "user_recommendations",
    "serving_snapshot",
}


def test_definitions_list_every_asset():
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == EXPECTED_ASSETS


def test_dbt_sources_are_wired_to_the_raw_asset():
    graph = defs.resolve_asset_graph()
    for model in ("stg_avito__listings", "stg_moteur__listings"):
        assert graph.get(dg.AssetKey(model)).parent_keys == {dg.AssetKey("raw_listings")}
    assert dg.AssetKey("fct_listings") in graph.get(dg.AssetKey("price_model")).parent_keys


def test_checks_include_dbt_tests_and_the_raw_check():
    checks = {key.to_user_string() for key in defs.resolve_asset_graph().asset_check_keys}
    assert "raw_listings:raw_listings_have_keys" in checks
    assert "fct_listings:unique_fct_listings_listing_key" in checks
    assert "fct_listings:not_null_fct_listings_listing_key" in checks


def test_every_python_asset_has_a_description_group_and_kinds():
    graph = defs.resolve_asset_graph()
    python_assets = [key for key in graph.get_all_asset_keys() if graph.get(key).group_name != "warehouse"]
    assert len(python_assets) >= 8
    for key in python_assets:
        node = graph.get(key)
        name = key.to_user_string()
        assert node.description and node.description.endswith("."), name
        assert node.group_name in {"raw", "ml", "recommender", "serving"}, name
        assert node.kinds, name


def test_daily_schedule_scrapes_todays_partitions_of_both_sites_in_one_run():
    schedule = defs.resolve_schedule_def("daily_scrape_schedule")
    assert schedule.job_name == "autolist_job"
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2026, 11, 20, 6, 0, tzinfo=timezone.utc)
        )
        request = schedule.evaluate_tick(context).run_requests[0]
    assert request.run_key == "2026-11-20"
    assert request.tags["dagster/asset_partition_range_start"] == "2026-11-20|avito"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-11-20|moteur"
