"""A flaky marketplace, a SIGKILL mid-partition, reruns and overlapping windows, a read-only or full disk."""

import datetime as dt

import duckdb
import pytest

from demo_market import DemoMarketServer, Faults
from reliability import faults


def test_at_twenty_percent_faults_partitions_complete_exactly_with_every_retry_counted(tmp_path):
    run = faults.fault_run(tmp_path, rate=0.2, days=1)
    assert run.partitions == 2 and run.lost == 0
    assert run.completed_exact + run.failed_loudly == 2
    assert run.faults_injected >= 3  # the market really failed requests
    if run.completed_exact == 2:
        # every faulty answer (429, 5xx, challenge, reset, cut body, timeout) was asked again, and reported; a
        # loaded machine can make a sound answer late too, so retries may exceed the faults, never fall short
        assert run.retries_reported >= run.faults_injected


def test_a_partition_that_cannot_complete_fails_loudly_and_keeps_its_last_rows(tmp_path):
    day = faults.TODAY - dt.timedelta(days=1)
    key = faults.partition_key("moteur", day)
    market = faults.small_market(31)
    warehouse = tmp_path / "warehouse.duckdb"
    with faults.data_dir_env(tmp_path):
        with DemoMarketServer(market) as server:
            assert faults.materialize_raw(key, warehouse, server).success
        before = faults.raw_rows(warehouse, "moteur", day)
        blocked = faults.small_market(31, faults=Faults(cloudflare=1.0))
        with DemoMarketServer(blocked) as server:
            result = faults.materialize_raw(key, warehouse, server)
    assert before == faults.truth_ids(market, "moteur", day)
    assert not result.success
    failure = result.get_step_failure_events()[0].event_specific_data.error
    assert "partitions failed and were not committed" in str(failure.message)
    assert faults.raw_rows(warehouse, "moteur", day) == before  # nothing half-written over the good rows
    con = duckdb.connect(str(warehouse), read_only=True)
    reason, failed = con.execute("select reason, partition_failed from raw.parse_failures where source = 'moteur'"
                                 ).fetchone()
    reports = con.execute("select count(*) from raw.scrape_reports").fetchone()[0]
    con.close()
    assert (reason, failed) == ("cloudflare", True)
    assert reports == 1  # the good run's report stays; the failed run wrote none


def test_sigkill_mid_partition_then_rerun_leaves_the_warehouse_and_archive_whole(tmp_path):
    run = faults.crash_run(tmp_path)
    assert run.killed_mid_partition and run.killed_after_requests >= 6
    assert run.warehouse_opens_after_kill and run.half_partitions_after_kill == 0
    assert run.rows_after_rerun_exact and run.duplicates == 0
    assert run.archives_intact and run.archive_records > 20
    assert not run.partial_left_after_rerun
    assert run.reused_pages > 0  # the killed run's pages were not fetched twice


def test_materializing_twice_and_overlapping_windows_give_identical_tables(tmp_path):
    run = faults.idempotency_run(tmp_path)
    assert set(run.hashes["once"]) == {"raw.listings", "intermediate.int_listings_normalized"}
    assert run.same_partition_twice, run.hashes
    assert run.overlapping_backfill, run.hashes


def test_the_pipeline_fixture_twice_gives_identical_tables(pipeline):
    first, second = (counts["hashes"] for _, counts in pipeline.runs)
    assert {"raw.listings", "main.fct_listings", "main.listings_rejected"} <= set(first)
    assert first == second


def test_a_read_only_or_full_data_dir_fails_clearly_and_leaves_the_warehouse_intact(tmp_path):
    runs = {run.kind: run for run in faults.disk_runs(tmp_path)}
    assert "read_only" in runs
    if faults.can_mount():
        assert set(runs) == {"read_only", "nearly_full", "full_mid_write"}
    for run in runs.values():
        assert run.failed, run
        assert run.names_path, run.message
        assert run.warehouse_unchanged, run
    assert "nearly full" in runs.get("nearly_full", runs["read_only"]).message or not faults.can_mount()


def test_the_writable_check_names_the_folder(tmp_path, monkeypatch):
    from autolist_assets import paths

    monkeypatch.setenv("AUTOLIST_MIN_FREE_MB", str(10**9))  # more than any disk has
    with pytest.raises(paths.DataDirError) as error:
        paths.ensure_writable(tmp_path)
    assert str(tmp_path) in str(error.value) and "nearly full" in str(error.value)
