"""`make reliability`: bad inputs, faults, crash safety, idempotency, disk errors and concurrency, as figures.

Prints a table per part, then ONE JSON line with at least bad_inputs, crashes, rows_lost, faults_injected,
partitions_lost and lock_errors. Exits 1 when any figure that must be zero is not.

    python -m reliability [--work-dir DIR] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 74 - len(title)), flush=True)


@contextlib.contextmanager
def _quiet(log: Path):
    """Send what Dagster, dbt and their subprocesses print to `log`, so the terminal shows the figures only."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log, "ab") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="reliability", description=__doc__)
    parser.add_argument("--work-dir", default="", help="where to build (default: a temporary folder, removed after)")
    parser.add_argument("--quick", action="store_true", help="smaller backfills, for a fast look")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    os.environ.setdefault("AUTOLIST_PII_SALT", secrets.token_hex(16))  # never written anywhere
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="autolist-reliability-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["AUTOLIST_DATA_DIR"] = str(work / "default_data")
    started = time.perf_counter()
    log = work / "reliability.log"
    print(f"Working in {work}; what Dagster and dbt print goes to {log}", flush=True)

    from reliability import concurrency, faults
    from reliability.bad_inputs import print_report, run_corpus
    from reliability.common import markdown
    from reliability.corpus import build_corpus

    _section("Bad inputs")
    corpus = build_corpus(args.seed)
    with _quiet(log):
        bad = run_corpus(corpus, work / "corpus")
    print_report(bad)

    _section("Transport faults at 20%")
    with _quiet(log):
        fault = faults.fault_run(work / "faults", rate=0.2, days=2 if args.quick else 4)
    print(markdown([{k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in fault.summary().items()}]))
    for line in fault.details:
        print("  LOST", line)

    _section("SIGKILL mid-partition, then rerun")
    with _quiet(log):
        crash = faults.crash_run(work / "crash")
    print(markdown([{k: v for k, v in vars(crash).items()}]))

    _section("Idempotency: the same window twice, and overlapping windows")
    with _quiet(log):
        idem = faults.idempotency_run(work / "idempotency")
    print(markdown([{"run": name, **{table: digest[:12] for table, digest in hashes.items()}}
                    for name, hashes in idem.hashes.items()]))
    print(f"same partitions twice identical: {idem.same_partition_twice}; overlapping windows identical: "
          f"{idem.overlapping_backfill}")

    _section("Read-only and full data dir")
    with _quiet(log):
        disks = faults.disk_runs(work / "disk")
    print(markdown([{"case": d.kind, "failed": d.failed, "names the path": d.names_path,
                     "warehouse unchanged": d.warehouse_unchanged, "message": d.message[:110]} for d in disks]))

    _section("Concurrent runs on one instance (a multi-run backfill)")
    partitions = 10 if args.quick else 30
    with _quiet(log):
        # 30 runs of the raw layer; then fewer runs that also build the partitioned dbt models (which hold the
        # warehouse for seconds), with the pool and, as the control, without it
        pooled = concurrency.backfill_run(work / "backfill", partitions=partitions, workers=3)
        pooled_dbt = concurrency.backfill_run(work / "backfill_dbt", partitions=6, workers=3, with_dbt=True)
        control = concurrency.backfill_run(work / "backfill_dbt_no_pool", partitions=6, workers=3, with_dbt=True,
                                           pool=False)
    print(markdown([pooled.summary(), pooled_dbt.summary(), control.summary()]))
    print("(the last row is the control: the same runs as the second, without the duckdb_warehouse pool)")

    lost_partitions = (fault.lost + crash.half_partitions_after_kill + (0 if crash.rows_after_rerun_exact else 1)
                       + sum(max(0, b.succeeded - b.partitions_exact) for b in (pooled, pooled_dbt)))
    figures = {
        "bad_inputs": bad.cases,
        "crashes": bad.crashes,
        "rows_lost": bad.rows_lost + crash.duplicates,
        "faults_injected": fault.faults_injected,
        "partitions_lost": lost_partitions,
        "lock_errors": pooled.lock_errors + pooled_dbt.lock_errors,
        "rows_loaded": bad.loaded,
        "rows_quarantined": bad.quarantined,
        "parse_failures": sum(bad.parse_failures_by_reason.values()),
        "partitions_balanced": f"{len(bad.partitions) - len(bad.accounting_breaks)}/{len(bad.partitions)}",
        "fault_partitions": fault.partitions,
        "fault_retries": fault.retries_reported,
        "crash_rerun_ok": crash.ok,
        "idempotent": idem.ok,
        "disk_errors_clear": all(d.ok for d in disks),
        "backfill_runs": len(pooled.runs) + len(pooled_dbt.runs),
        "backfill_max_parallel_writer_steps": max(pooled.max_parallel_writer_steps,
                                                  pooled_dbt.max_parallel_writer_steps),
        "lock_errors_without_pool": control.lock_errors,
        "seconds": round(time.perf_counter() - started, 1),
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
    }
    must_be_zero = ("crashes", "rows_lost", "partitions_lost", "lock_errors")
    healthy = (all(figures[k] == 0 for k in must_be_zero) and crash.ok and idem.ok and figures["disk_errors_clear"]
               and bad.dbt_ok and not bad.expectation_mismatches)
    if not args.work_dir and healthy:
        shutil.rmtree(work, ignore_errors=True)
    elif not healthy:
        print(f"Kept {work} for inspection (log: {log})", flush=True)
    print(json.dumps(figures, ensure_ascii=False))
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
