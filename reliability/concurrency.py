"""Concurrency: many runs of partitions at once on one Dagster instance, as a multi-run backfill launches them.

Each worker process runs its share of the partitions as separate runs against the same instance (a temporary
DAGSTER_HOME holding the project's dagster.yaml), so the `duckdb_warehouse` pool is what stands between them
and DuckDB's single-writer lock. A control run without the pool shows what the pool prevents.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from autolist_assets import paths
from demo_market import DemoMarketServer
from reliability.faults import TODAY, WORKER, small_market, truth_ids

LOCK_MARKERS = ("could not set lock", "conflicting lock", "lock on file", "database is locked")
NO_POOL_YAML = "telemetry:\n  enabled: false\n"


@dataclass
class BackfillRun:
    pool: bool
    partitions: int
    workers: int
    with_dbt: bool
    runs: list[dict] = field(default_factory=list)
    partitions_exact: int = 0
    max_parallel_writer_steps: int = 0
    seconds: float = 0.0

    @property
    def succeeded(self) -> int:
        return sum(r["success"] for r in self.runs)

    @property
    def lock_errors(self) -> int:
        return sum(any(m in r["error"].lower() for m in LOCK_MARKERS) for r in self.runs)

    def summary(self) -> dict:
        return {"pool": self.pool, "partitions": self.partitions, "runs": len(self.runs), "workers": self.workers,
                "dbt_in_each_run": self.with_dbt, "runs_succeeded": self.succeeded, "lock_errors": self.lock_errors,
                "other_failures": len(self.runs) - self.succeeded - self.lock_errors,
                "partitions_exact": self.partitions_exact,
                "max_parallel_writer_steps": self.max_parallel_writer_steps, "seconds": round(self.seconds, 1)}


def _create_instance(dagster_home: Path) -> None:
    """Create the instance's storage once, before the workers: several processes creating it at the same moment
    race on its schema version (a deployment's instance exists long before any backfill)."""
    import dagster as dg

    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        with dg.DagsterInstance.get() as instance:
            instance.get_runs(limit=1)
            instance.event_log_storage.get_pool_limits()
            instance.get_ticks("none", "none", limit=1) if hasattr(instance, "get_ticks") else None
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous


def _writer_overlap(dagster_home: Path, run_ids: list[str]) -> int:
    """The most steps of the pool's assets that ever ran at the same moment, from the instance's event log."""
    import dagster as dg

    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    intervals = []
    try:
        with dg.DagsterInstance.get() as instance:
            for run_id in run_ids:
                starts = {}
                for entry in instance.all_logs(run_id):
                    event = entry.dagster_event
                    if event is None or not event.step_key:
                        continue
                    if event.event_type == dg.DagsterEventType.STEP_START:
                        starts[event.step_key] = entry.timestamp
                    elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                        if event.step_key in starts:
                            intervals.append((starts.pop(event.step_key), entry.timestamp))
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous
    points = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                    key=lambda p: (p[0], p[1]))
    running = peak = 0
    for _, change in points:
        running += change
        peak = max(peak, running)
    return peak


def backfill_run(work_dir: Path, partitions: int = 30, workers: int = 3, with_dbt: bool = False, pool: bool = True,
                 seed: int = 29) -> BackfillRun:
    """`partitions` single-partition runs (days × both sites), `workers` processes side by side."""
    started = time.perf_counter()
    days = -(-partitions // 2)
    market = small_market(seed, history_days=days + 1, avito_per_day=12, moteur_per_day=5)
    home = work_dir / "dagster_home"
    data_dir = work_dir / "data"
    home.mkdir(parents=True, exist_ok=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    if pool:
        shutil.copy(paths.REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    else:
        (home / "dagster.yaml").write_text(NO_POOL_YAML)
    keys = [f"{source}|{(TODAY - dt.timedelta(days=k)).isoformat()}" for k in range(1, days + 1)
            for source in ("avito", "moteur")][:partitions]
    run = BackfillRun(pool, len(keys), workers, with_dbt)
    _create_instance(home)
    env = {**os.environ, "DAGSTER_HOME": str(home), "AUTOLIST_DATA_DIR": str(data_dir)}
    with DemoMarketServer(market) as server:
        processes = [
            subprocess.Popen(
                [*WORKER, "backfill", "--avito-url", server.avito_url, "--moteur-url", server.moteur_url,
                 "--warehouse", str(data_dir / "warehouse.duckdb"), *(["--dbt"] if with_dbt else []),
                 *keys[index::workers]],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            for index in range(workers)
        ]
        for process in processes:
            out, _ = process.communicate(timeout=1800)
            run.runs += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    warehouse = data_dir / "warehouse.duckdb"
    if warehouse.exists():
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            got = {}
            for source, day, listing_id in con.execute(
                    "select source, cast(scrape_date as varchar), listing_id from raw.listings").fetchall():
                got.setdefault(f"{source}|{day}", []).append(listing_id)
        finally:
            con.close()
        run.partitions_exact = sum(
            sorted(got.get(key, [])) == truth_ids(market, key.split("|")[0], dt.date.fromisoformat(key.split("|")[1]))
            for key in keys)
    run.max_parallel_writer_steps = _writer_overlap(home, [r["run_id"] for r in run.runs if r.get("run_id")])
    run.seconds = time.perf_counter() - started
    return run
