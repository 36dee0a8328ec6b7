"""End to end: the whole graph from an empty data dir against a demo marketplace of N listings over 30 days.

Usage: uv run python bench/e2e.py --listings 60000 [--runs 3] [--no-incremental] [--profile DIR]

Per run: the demo marketplace starts in its own process (its market generated and warmed before the
clock starts; its CPU and RSS are reported apart), then a fresh pipeline process imports the Definitions
and materializes every asset for the 30 days × 2 sites as one in-process run (scrape over HTTP → archive →
parse → raw → dbt → price model → predictions → recommender → serving snapshot). Then, unless
--no-incremental, the marketplace moves on one day and a second pipeline process runs that day alone on
top (the daily run). Stage figures come from the run's own step events; peak RSS per stage from sampling
the pipeline process and its children (dbt, the scrape's workers) every 50 ms. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
RESULTS_DIR = REPO_ROOT / "bench" / "results"
CORES = os.cpu_count() or 1
SEED_LISTINGS_PER_S_PER_CORE = 1000 / 12  # the seeds' 1,000 listings/s on 3 workers × 4 cores
DAYS = 30
# Site mix of the default demo market (120 avito : 40 moteur a day), and what content faults add on top of
# each site's own cars (avito: rentals/motorbikes + reposts; moteur: reposts + cross-posts of avito dealers).
AVITO_SHARE = 0.75
EXTRA = {"avito": 1 + 0.06 + 0.05, "moteur": 1 + 0.05 + 0.15}
PAGE_SIZE = 4096


def market_config(listings: int, today: dt.date, seed: int):
    """A market whose 30 online days hold about `listings` ads, with the real sites' content mess and no
    transport faults (those measure politeness and retries, not throughput)."""
    from demo_market import Faults, MarketConfig

    per_day = listings / DAYS
    faults = dataclasses.replace(Faults.realistic(), rate_limit_per_s=None, cloudflare=0.0, server_errors=0.0,
                                 slow=0.0, resets=0.0, truncated=0.0)
    return MarketConfig(
        seed=seed, today=today, history_days=DAYS - 1,
        avito_per_day=max(1, round(per_day * AVITO_SHARE / EXTRA["avito"])),
        moteur_per_day=max(1, round(per_day * (1 - AVITO_SHARE) / EXTRA["moteur"])),
        faults=faults,
    )


# ---------------------------------------------------------------------------------------------- /proc helpers

def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * PAGE_SIZE / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(c) for c in handle.read().split()]
    except OSError:
        pass
    return found


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its descendants."""
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        total += _rss_mb(current)
        stack += _children(current)
    return total


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (its reaped children included)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / ticks


class RssSampler(threading.Thread):
    """Samples the RSS of this process tree every `interval` seconds: (wall time, MB)."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, float]] = []
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.samples.append((time.time(), tree_rss_mb(self.pid)))
            self._stop_event.wait(self.interval)

    def stop(self) -> list[tuple[float, float]]:
        self._stop_event.set()
        self.join()
        return self.samples


# ---------------------------------------------------------------------------------------------- roles

def serve(args) -> None:
    """Child role: generate and warm the market, serve both sites, print the URLs, wait for SIGTERM."""
    from demo_market import Market
    from demo_market.server import DemoMarketServer

    started = time.perf_counter()
    market = Market(market_config(args.listings, dt.date.fromisoformat(args.today), args.seed))
    served = {source: len(market.feed(source)) for source in ("avito", "moteur")}
    generate_s = time.perf_counter() - started
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with DemoMarketServer(market) as server:
        print(json.dumps({"avito_url": server.avito_url, "moteur_url": server.moteur_url, "served": served,
                          "generate_s": round(generate_s, 2)}), flush=True)
        stop.wait()


def pipeline(args) -> None:
    """Child role: import the Definitions, run the window as one run, write per-step figures to --stats."""
    process_started = time.time()
    sampler = RssSampler(os.getpid())
    sampler.start()
    import dagster as dg

    t_import = time.perf_counter()
    from autolist_assets.pipeline import run_window
    from autolist_assets.resources import Marketplace
    import_s = time.perf_counter() - t_import

    instance = dg.DagsterInstance.ephemeral()
    resources = {"marketplace": Marketplace(avito_url=args.avito_url, moteur_url=args.moteur_url)}
    first, last = dt.date.fromisoformat(args.first), dt.date.fromisoformat(args.last)
    run_started = time.time()
    if args.mode == "retrain":
        from autolist_assets.definitions import defs

        result = defs.resolve_job_def("retrain_job").execute_in_process(instance=instance, resources=resources,
                                                                        raise_on_error=False)
    else:
        result = run_window(first, last, resources=resources, instance=instance, daily=args.mode == "daily")
    run_ended = time.time()
    samples = sampler.stop()

    steps: dict[str, dict] = {}
    for entry in instance.all_logs(result.run_id):
        event = entry.dagster_event
        if event is None or not entry.step_key:
            continue
        step = steps.setdefault(entry.step_key, {})
        if event.event_type_value == "STEP_START":
            step["start"] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            step["end"] = entry.timestamp
            step["ok"] = event.event_type_value == "STEP_SUCCESS"
    for step in steps.values():
        window = [mb for t, mb in samples if step.get("start", 0) <= t <= step.get("end", 0)]
        step["peak_rss_mb"] = round(max(window, default=0.0))
        step["wall_s"] = round(step.get("end", 0) - step.get("start", 0), 3)

    import duckdb

    from autolist_assets import paths

    con = duckdb.connect(str(paths.warehouse_path()), read_only=True)
    counts = {
        "raw_listings": con.execute("select count(*) from raw.listings where scrape_date between ? and ?",
                                    [first, last]).fetchone()[0],
        "raw_listings_total": con.execute("select count(*) from raw.listings").fetchone()[0],
        "pages": con.execute("select coalesce(sum(pages), 0) from raw.scrape_reports where scrape_date between ? and ?",
                             [first, last]).fetchone()[0],
        "fct_listings": con.execute("select count(*) from main.fct_listings").fetchone()[0],
    }
    con.close()
    stats = {
        "success": result.success,
        "process_started": process_started,
        "import_s": round(import_s, 3),
        "run_started": run_started,
        "run_ended": run_ended,
        "steps": steps,
        "peak_rss_mb": round(max((mb for _, mb in samples), default=0.0)),
        "counts": counts,
    }
    Path(args.stats).write_text(json.dumps(stats))


# ---------------------------------------------------------------------------------------------- orchestration

def _child_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(AUTOLIST_DATA_DIR=str(data_dir), AUTOLIST_PII_SALT="bench-salt", DO_NOT_TRACK="1",
               DAGSTER_HOME=str(data_dir / ".dagster_home"), PYTHONHASHSEED="0")
    (data_dir / ".dagster_home").mkdir(parents=True, exist_ok=True)
    return env


def start_server(listings: int, today: dt.date, seed: int, env: dict) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--role", "server", "--listings", str(listings), "--today", today.isoformat(),
         "--seed", str(seed)],
        stdout=subprocess.PIPE, text=True, env=env, cwd=REPO_ROOT,
    )
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("the demo marketplace did not start")
    return proc, json.loads(line)


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_pipeline(first: dt.date, last: dt.date, server: dict, env: dict, data_dir: Path, tag: str,
                 profile_dir: Path | None, mode: str = "full") -> dict:
    """One pipeline process; wall time from its spawn to its exit."""
    stats_path = data_dir / f"stats-{tag}.json"
    cmd = [sys.executable, __file__, "--role", "pipeline", "--first", first.isoformat(), "--last", last.isoformat(),
           "--avito-url", server["avito_url"], "--moteur-url", server["moteur_url"], "--stats", str(stats_path),
           "--mode", mode]
    if profile_dir is not None:
        profile_dir.mkdir(parents=True, exist_ok=True)
        spy = Path(sys.executable).parent / "py-spy"
        cmd = [str(spy), "record", "--subprocesses", "-r", "50", "-f", "raw", "-o", str(profile_dir / f"{tag}.txt"), "--", *cmd]
    started = time.time()
    proc = subprocess.run(cmd, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    wall = time.time() - started
    if proc.returncode != 0 or not stats_path.exists():
        sys.stderr.write(proc.stdout[-5000:] + proc.stderr[-5000:])
        raise SystemExit(f"pipeline process failed ({tag}, status {proc.returncode})")
    stats = json.loads(stats_path.read_text())
    if not stats["success"]:
        sys.stderr.write(proc.stderr[-8000:])
        failed = [key for key, step in stats["steps"].items() if not step.get("ok")]
        raise SystemExit(f"run failed ({tag}): steps {failed}")
    stats["wall_s"] = round(wall, 2)
    stats["startup_s"] = round(stats["run_started"] - started, 2)
    return stats


STAGES = {
    # stage name → step keys (prefix match) that make it up, in graph order
    "scrape+archive+parse+raw": ["raw_listings"],
    "csv imports": ["imported_listings"],
    "dbt staging+int (partitioned)": ["autolist_dbt_partitioned"],
    "dbt marts": ["autolist_dbt_models"],
    "price model": ["price_model"],
    "predictions": ["price_predictions"],
    "recommender": ["user_interactions", "recommender", "user_recommendations"],
    "serving snapshot": ["serving_snapshot"],
}


def stage_table(stats: dict, listings: int) -> list[dict]:
    rows = []
    steps = stats["steps"]
    claimed = set()
    for stage, prefixes in STAGES.items():
        keys = [k for k in steps if any(k == p or k.startswith(p + ".") for p in prefixes)]
        claimed.update(keys)
        if not keys:
            continue
        wall = sum(steps[k]["wall_s"] for k in keys)
        rows.append({"stage": stage, "wall_s": round(wall, 2),
                     "listings_per_s": round(listings / wall) if wall else None,
                     "listings_per_s_per_core": round(listings / wall / CORES) if wall else None,
                     "peak_rss_mb": max(steps[k]["peak_rss_mb"] for k in keys)})
    others = [k for k in steps if k not in claimed]
    if others:
        wall = sum(steps[k]["wall_s"] for k in others)
        rows.append({"stage": "checks and other steps", "wall_s": round(wall, 2), "listings_per_s": None,
                     "listings_per_s_per_core": None, "peak_rss_mb": max(steps[k]["peak_rss_mb"] for k in others)})
    step_total = sum(steps[k]["wall_s"] for k in steps)
    rows.append({"stage": "Dagster and process overhead (start-up, imports, events)",
                 "wall_s": round(stats["wall_s"] - step_total, 2), "listings_per_s": None,
                 "listings_per_s_per_core": None, "peak_rss_mb": None})
    return rows


def definitions_import_s(repeats: int = 3) -> dict:
    """Median seconds to import the Definitions in a fresh interpreter (and the bare interpreter, for scale)."""
    code = ("import time; t = time.perf_counter(); import {mod}; "
            "print(time.perf_counter() - t)")
    out = {}
    for name, module in (("definitions", "autolist_assets.definitions"), ("dagster", "dagster")):
        times = []
        for _ in range(repeats):
            proc = subprocess.run([sys.executable, "-c", code.format(mod=module)], capture_output=True, text=True,
                                  cwd=REPO_ROOT, check=True)
            times.append(float(proc.stdout.strip().splitlines()[-1]))
        out[name] = round(statistics.median(times), 2)
    return out


def one_run(args, run: int, today: dt.date) -> dict:
    data_dir = Path(tempfile.mkdtemp(prefix=f"autolist-e2e-{args.listings}-", dir=args.work_dir))
    env = _child_env(data_dir)
    profile_dir = Path(args.profile) if args.profile else None
    try:
        server, info = start_server(args.listings, today, args.seed, env)
        try:
            server_cpu0 = cpu_seconds(server.pid)
            first = today - dt.timedelta(days=DAYS - 1)
            stats = run_pipeline(first, today, info, env, data_dir, f"full-{run}", profile_dir)
            stats["server_cpu_s"] = round(cpu_seconds(server.pid) - server_cpu0, 1)
            stats["server_rss_mb"] = round(tree_rss_mb(server.pid))
            stats["served"] = info["served"]
            stats["market_generate_s"] = info["generate_s"]
        finally:
            stop_server(server)
        if args.incremental:
            next_day = today + dt.timedelta(days=1)
            server, info = start_server(args.listings, next_day, args.seed, env)
            try:
                server_cpu0 = cpu_seconds(server.pid)
                daily = run_pipeline(next_day, next_day, info, env, data_dir, f"daily-{run}", profile_dir, "daily")
                daily["server_cpu_s"] = round(cpu_seconds(server.pid) - server_cpu0, 1)
            finally:
                stop_server(server)
            stats["daily"] = daily
            if args.retrain:
                stats["retrain"] = run_pipeline(next_day, next_day, {"avito_url": "", "moteur_url": ""}, env,
                                                data_dir, f"retrain-{run}", profile_dir, "retrain")
        if args.digest:
            stats["digest"] = output_digest(data_dir / "warehouse.duckdb")
    finally:
        if args.keep:
            print(f"kept {data_dir}", file=sys.stderr)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    return stats


def daily_on(args, today: dt.date) -> dict:
    """The daily run (and, with --retrain, the retrain run) on top of a data dir a full run left (--keep)."""
    data_dir = Path(args.daily_on)
    env = _child_env(data_dir)
    profile_dir = Path(args.profile) if args.profile else None
    next_day = today + dt.timedelta(days=1)
    server, info = start_server(args.listings, next_day, args.seed, env)
    try:
        server_cpu0 = cpu_seconds(server.pid)
        daily = run_pipeline(next_day, next_day, info, env, data_dir, "daily-on", profile_dir, "daily")
        daily["server_cpu_s"] = round(cpu_seconds(server.pid) - server_cpu0, 1)
    finally:
        stop_server(server)
    out = {"benchmark": "e2e_daily", "date": dt.date.today().isoformat(), "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
           "listings": daily["counts"]["raw_listings"],
           "on_top_of": daily["counts"]["raw_listings_total"] - daily["counts"]["raw_listings"],
           "wall_s": daily["wall_s"], "peak_rss_mb": daily["peak_rss_mb"],
           "listings_per_s_per_core": round(daily["counts"]["raw_listings"] / daily["wall_s"] / CORES, 1),
           "definitions_import_s": daily["import_s"], "server_cpu_s": daily["server_cpu_s"],
           "stages": stage_table(daily, daily["counts"]["raw_listings"])}
    if args.retrain:
        retrain = run_pipeline(next_day, next_day, {"avito_url": "", "moteur_url": ""}, env, data_dir, "retrain-on",
                               profile_dir, "retrain")
        out["retrain"] = {"wall_s": retrain["wall_s"], "peak_rss_mb": retrain["peak_rss_mb"],
                          "fct_listings": retrain["counts"]["fct_listings"],
                          "stages": stage_table(retrain, retrain["counts"]["fct_listings"])}
    return out


def output_digest(warehouse: Path) -> dict:
    """Order-independent hashes of the main outputs, without what differs between two runs of the same market:
    the times of the run, and the demo server's port in URLs (and in the row hash that covers them)."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    out = {}
    # days_on_market counts calendar days between two run times: a run that crosses midnight UTC changes it
    run_columns = ["scraped_at", "first_scraped_at", "last_scraped_at", "first_seen_at", "last_seen_at",
                   "states_built_at", "days_on_market"]
    for table, drop in (("main.fct_listings", run_columns),
                        ("ml.price_predictions", ["model_version", "scored_on", "input_hash"]),
                        ("ml.user_recommendations", [])):
        columns = [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_schema || '.' || table_name = ? "
            "order by ordinal_position", [table]).fetchall() if c not in drop]
        row = ", ".join(f"""regexp_replace("{c}"::varchar, 'https?://127\\.0\\.0\\.1:[0-9]+', '', 'g')"""
                        if c in ("url", "comparables", "explanation") else f'"{c}"' for c in columns)
        out[table] = con.execute(f"select count(*), sum(hash(({row}))) from {table}").fetchone()
        out[table] = [int(out[table][0]), str(out[table][1])]
    con.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=60_000)
    parser.add_argument("--runs", type=int, default=None, help="default: 3 up to 100,000 listings, else 1")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-incremental", dest="incremental", action="store_false")
    parser.add_argument("--retrain", action="store_true",
                        help="after the daily run, time the retrain job (price model, recommender, republish) too")
    parser.add_argument("--profile", help="folder for py-spy raw profiles of the pipeline processes")
    parser.add_argument("--digest", action="store_true", help="hash fct_listings, predictions, recommendations")
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    parser.add_argument("--work-dir", default=None, help="where the temporary data dirs go")
    parser.add_argument("--daily-on", default=None, metavar="DATA_DIR",
                        help="only the daily run (and --retrain), on top of a data dir a full run left with --keep")
    parser.add_argument("--out", default=None, help="JSON results file (default bench/results/e2e_<N>.json)")
    # internal roles
    parser.add_argument("--role", choices=["bench", "server", "pipeline"], default="bench")
    parser.add_argument("--today")
    parser.add_argument("--first")
    parser.add_argument("--last")
    parser.add_argument("--avito-url")
    parser.add_argument("--moteur-url")
    parser.add_argument("--stats")
    parser.add_argument("--mode", choices=["full", "daily", "retrain"], default="full")
    args = parser.parse_args()
    if args.role == "server":
        return serve(args)
    if args.role == "pipeline":
        return pipeline(args)

    runs = args.runs or (3 if args.listings <= 100_000 else 1)
    # A fixed past day keeps the market static during the run (no ad appears mid-scrape); the daily run
    # adds the day after it, which still has a partition.
    today = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=2)
    if args.daily_on:
        print(json.dumps(daily_on(args, today)))
        return
    import_times = definitions_import_s()
    results = []
    for run in range(runs):
        load_before = round(os.getloadavg()[0], 2)
        stats = one_run(args, run, today)
        stats["load_avg_1m"] = [load_before, round(os.getloadavg()[0], 2)]
        results.append(stats)
        print(f"run {run + 1}/{runs}: {stats['counts']['raw_listings']} listings, {stats['wall_s']} s"
              + (f", daily {stats['daily']['wall_s']} s" if "daily" in stats else ""), file=sys.stderr, flush=True)

    median_run = sorted(results, key=lambda s: s["wall_s"])[len(results) // 2]
    listings = median_run["counts"]["raw_listings"]
    # the figure printed, so that the rates below are the printed listings over the printed wall
    wall = round(statistics.median(s["wall_s"] for s in results), 1)
    summary = {
        "benchmark": "e2e",
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {CORES} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB",
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "load_avg_1m_runs": [s["load_avg_1m"] for s in results],
        "runs": runs,
        "target_listings": args.listings,
        "listings": listings,
        "served": median_run["served"],
        "pages": median_run["counts"]["pages"],
        "fct_listings": median_run["counts"]["fct_listings"],
        "wall_s": wall,
        "wall_s_runs": [s["wall_s"] for s in results],
        "startup_s": median_run["startup_s"],
        "peak_rss_mb": max(s["peak_rss_mb"] for s in results),
        "listings_per_s": round(listings / wall, 1),
        "listings_per_s_per_core": round(listings / wall / CORES, 1),
        "vs_seed_per_core": round(listings / wall / CORES / SEED_LISTINGS_PER_S_PER_CORE, 1),
        "definitions_import_s": import_times["definitions"],
        "dagster_import_s": import_times["dagster"],
        "server_cpu_s": median_run["server_cpu_s"],
        "server_rss_mb": median_run["server_rss_mb"],
        "market_generate_s": median_run["market_generate_s"],
        "stages": stage_table(median_run, listings),
    }
    if "daily" in median_run:
        daily = median_run["daily"]
        summary["daily"] = {
            "listings": daily["counts"]["raw_listings"],
            "on_top_of": daily["counts"]["raw_listings_total"] - daily["counts"]["raw_listings"],
            "wall_s": daily["wall_s"],
            "wall_s_runs": [s["daily"]["wall_s"] for s in results],
            "peak_rss_mb": daily["peak_rss_mb"],
            "server_cpu_s": daily["server_cpu_s"],
            "stages": stage_table(daily, daily["counts"]["raw_listings"]),
        }
    if "retrain" in median_run:
        retrain = median_run["retrain"]
        summary["retrain"] = {
            "wall_s": retrain["wall_s"],
            "peak_rss_mb": retrain["peak_rss_mb"],
            "fct_listings": retrain["counts"]["fct_listings"],
            "stages": stage_table(retrain, retrain["counts"]["fct_listings"]),
        }
    if args.digest:
        summary["digest"] = median_run["digest"]
    out = Path(args.out) if args.out else RESULTS_DIR / f"e2e_{args.listings}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
