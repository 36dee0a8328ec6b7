"""A failed critical dbt test is a blocking Dagster asset check: the assets downstream do not run."""

import shutil

import dagster as dg
import duckdb
import pytest

from autolist_assets.assets.warehouse import build_dbt_assets
from autolist_assets.definitions import defs


@pytest.fixture
def broken_accounting(in_pipeline_dir, tmp_path, monkeypatch):
    """A copy of the pipeline's data dir where raw rows landed but were never staged.

    That is what a crash between loading raw.listings and the partitioned dbt run would leave: rows
    that are neither accepted nor quarantined.
    """
    data_dir = tmp_path / "data"
    shutil.copytree(in_pipeline_dir.data_dir, data_dir)
    monkeypatch.setenv("AUTOLIST_DATA_DIR", str(data_dir))
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    try:
        con.execute(
            """
            insert into raw.listings
            select * replace ('9' || listing_id as listing_id) from raw.listings
            where source = 'avito' order by listing_id limit 3
            """
        )
    finally:
        con.close()
    return data_dir


def test_accounting_check_is_attached_to_the_quarantine_and_blocking():
    graph = defs.resolve_asset_graph()
    key = dg.AssetCheckKey(dg.AssetKey("listings_rejected"), "assert_rows_accounted_per_partition")
    assert key in graph.asset_check_keys
    assert graph.get_check_spec(key).blocking


def test_broken_accounting_fails_the_check_and_blocks_the_snapshot(broken_accounting):
    snapshot = broken_accounting / "serving.duckdb"
    before = snapshot.stat().st_mtime_ns
    # A live instance of our own: entering it also replaces any definitions-state storage that an earlier
    # test's instance left behind in this thread.
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)],
            # The unpartitioned dbt build and everything after it: marts, price model, recommender, snapshot.
            selection=dg.AssetSelection.assets(*build_dbt_assets().keys).downstream(),
            resources=defs.resources,
            instance=instance,
            raise_on_error=False,
        )
    assert not result.success
    failed = [
        evaluation
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == "assert_rows_accounted_per_partition"
    ]
    assert [evaluation.passed for evaluation in failed] == [False]
    materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert "serving_snapshot" not in materialized
    assert "price_model" not in materialized
    assert snapshot.stat().st_mtime_ns == before
