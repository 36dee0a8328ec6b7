"""Many runs at once on one Dagster instance never meet DuckDB's write lock: the duckdb_warehouse pool queues them."""

from pathlib import Path

import yaml

from autolist_assets.definitions import defs
from autolist_assets.resources import WAREHOUSE_POOL
from reliability.concurrency import backfill_run

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_every_asset_that_opens_the_warehouse_is_in_the_one_slot_pool():
    pools = {}
    for asset in defs.assets:
        for key in asset.keys:
            pools[key.to_user_string()] = asset.op.pool
    # readers too: DuckDB refuses a reader process while another process writes, and the reverse
    opens_the_warehouse = {"raw_listings", "imported_listings", "fct_listings", "int_listings_normalized",
                           "listings_rejected", "price_model", "price_predictions", "user_interactions", "recommender",
                           "user_recommendations", "serving_snapshot"}
    assert {name: pools[name] for name in opens_the_warehouse} == {name: WAREHOUSE_POOL for name in opens_the_warehouse}
    settings = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    assert settings["concurrency"]["pools"]["default_limit"] == 1


def test_a_backfill_of_thirty_partitions_as_concurrent_runs_has_no_lock_error(tmp_path):
    run = backfill_run(tmp_path, partitions=30, workers=3)
    assert len(run.runs) == 30
    assert run.lock_errors == 0, [r["error"] for r in run.runs if not r["success"]]
    assert run.succeeded == 30
    assert run.partitions_exact == 30  # every partition holds exactly the marketplace's ads
    # three processes ran side by side, yet no two warehouse steps ever overlapped
    assert run.max_parallel_writer_steps == 1


def test_a_run_waits_for_the_run_that_holds_the_warehouse(tmp_path):
    """The pool's slot claim can race under SQLite storage; the warehouse's OS lock cannot."""
    import fcntl
    import threading

    import dagster as dg

    from autolist_assets.assets.raw import imported_listings
    from autolist_assets.resources import Warehouse

    warehouse = Warehouse(path=str(tmp_path / "warehouse.duckdb"))
    instance = dg.DagsterInstance.ephemeral()
    results = []
    with open(tmp_path / "warehouse.duckdb.lock", "a") as other_run:
        fcntl.flock(other_run, fcntl.LOCK_EX)
        thread = threading.Thread(target=lambda: results.append(dg.materialize(
            [imported_listings], resources={"warehouse": warehouse}, instance=instance,
            run_config={"ops": {"imported_listings": {"config": {"paths": []}}}})))
        thread.start()
        thread.join(timeout=5)
        assert thread.is_alive() and not (tmp_path / "warehouse.duckdb").exists()  # waiting, warehouse untouched
    thread.join(timeout=60)
    assert results and results[0].success
    waited = [e.user_message for e in instance.all_logs(results[0].run_id) if "waiting for another run" in e.user_message]
    assert waited == [f"waiting for another run to finish with {tmp_path / 'warehouse.duckdb'}"]
