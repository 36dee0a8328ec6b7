"""Run every benchmark under bench/ with its own defaults, keep each one's JSON in bench/results/, then rewrite
the generated tables of bench/BENCHMARKS.md (bench/report.py). `make bench` runs this.

Usage: uv run python bench/run_all.py [--only NAME ...] [--skip NAME ...] [--e2e-sizes 60000,1000000]

A benchmark is any bench/*.py except the runner, the report and the e2e helpers; new scripts are picked up
as they appear. Each must end its output with one JSON line. The end-to-end benchmark runs once per size.
Results and logs go to bench/results/<name>.json and .log (git-ignored); a failing benchmark is recorded
with its error and the others still run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
NOT_BENCHMARKS = {"run_all", "report"}
E2E_SIZES = (60_000, 1_000_000)


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GB, Python {platform.python_version()}"


def benchmarks(e2e_sizes) -> list[tuple[str, list[str]]]:
    """(result name, command arguments) for every benchmark, e2e once per size."""
    runs = []
    for script in sorted(BENCH_DIR.glob("*.py")):
        name = script.stem
        if name in NOT_BENCHMARKS or name.startswith("_"):
            continue
        if name == "e2e":
            runs += [(f"e2e_{size}", [str(script), "--listings", str(size)]) for size in e2e_sizes]
        else:
            runs.append((name, [str(script)]))
    return runs


def last_json_line(text: str) -> dict | None:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                return None
    return None


def run(name: str, args: list[str]) -> dict:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS_DIR / f"{name}.log"
    load_before = os.getloadavg()
    started = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.run([sys.executable, *args], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
        log.write(proc.stdout)
    wall = time.perf_counter() - started
    result = last_json_line(proc.stdout) if proc.returncode == 0 else None
    record = {
        "benchmark": name,
        "command": "uv run python " + " ".join(str(Path(a).relative_to(REPO_ROOT)) if a.startswith(str(REPO_ROOT)) else a
                                               for a in args),
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "bench_wall_s": round(wall, 1),
        "result": result,
    }
    if result is None:
        record["error"] = f"exit status {proc.returncode}; no JSON line (see {log_path.relative_to(REPO_ROOT)})"
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(record, indent=1))
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="result names to run (e.g. e2e_60000 parse)")
    parser.add_argument("--skip", nargs="*", default=[], help="result names to leave out")
    parser.add_argument("--e2e-sizes", default=",".join(str(s) for s in E2E_SIZES))
    parser.add_argument("--no-report", action="store_true", help="do not rewrite BENCHMARKS.md")
    args = parser.parse_args()
    sizes = [int(s) for s in args.e2e_sizes.split(",") if s]
    for name, command in benchmarks(sizes):
        if (args.only is not None and name not in args.only) or name in args.skip:
            continue
        print(f"{name}: {' '.join(command[1:]) or '(defaults)'}", flush=True)
        record = run(name, command)
        print(f"{name}: {record.get('error') or 'done'} in {record['bench_wall_s']} s", flush=True)
    if not args.no_report:
        subprocess.run([sys.executable, str(BENCH_DIR / "report.py")], cwd=REPO_ROOT, check=True)


if __name__ == "__main__":
    main()
