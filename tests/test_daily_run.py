"""The daily schedule leaves training to its own runs once models exist; the weekly retrain does the training."""

from datetime import datetime, timezone

import dagster as dg

from autolist_assets import paths
from autolist_assets.definitions import defs
from autolist_assets.jobs import RETRAIN_ASSETS, TRAINING_ASSETS


def _request(schedule_name: str) -> dg.RunRequest:
    schedule = defs.resolve_schedule_def(schedule_name)
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, repository_def=defs.get_repository_def(),
                                            scheduled_execution_time=datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc))
        return schedule.evaluate_tick(context).run_requests[0]


def test_daily_run_skips_training_only_once_a_champion_and_a_recommender_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOLIST_DATA_DIR", str(tmp_path))
    assert _request("daily_scrape_schedule").asset_selection is None  # nothing trained yet: the whole graph

    (paths.models_dir() / "price_model").mkdir(parents=True)
    (paths.models_dir() / "price_model" / "champion").write_text("v1")
    paths.recommender_path().parent.mkdir(parents=True)
    paths.recommender_path().write_bytes(b"")
    request = _request("daily_scrape_schedule")
    selected = {key.to_user_string() for key in request.asset_selection}
    assert not selected & set(TRAINING_ASSETS)
    assert {"raw_listings", "fct_listings", "price_predictions", "serving_snapshot"} <= selected
    assert selected | set(TRAINING_ASSETS) == {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert request.tags["dagster/asset_partition_range_start"] == "2026-11-23|avito"


def test_weekly_retrain_refits_both_models_and_republishes():
    job = defs.resolve_job_def("retrain_job")
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == set(RETRAIN_ASSETS)
    assert _request("weekly_retrain_schedule").run_key == "retrain-2026-11-23"


def test_the_daily_job_holds_the_daily_selection():
    job = defs.resolve_job_def("daily_job")
    assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == \
        {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()} - set(TRAINING_ASSETS)
