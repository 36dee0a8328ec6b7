"""Time `make demo DEMO_SERVE=0` from a fresh clone, twice, and report scrape throughput and peak memory.

Usage: uv run python bench/demo_run.py [--runs 2] [--days 14]
The last line printed is one JSON object of the figures.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO_ROOT = Path(__file__).resolve().parent.parent
# The seed projects scrape about 500 listings per minute; our scraper is compared against that.
SEED_LISTINGS_PER_S = 500 / 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--days", type=int, default=14)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="autolist-bench-") as tmp:
        clone = Path(tmp) / "autolist"
        subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(clone)], check=True)
        env = {k: v for k, v in os.environ.items() if k not in {"AUTOLIST_DATA_DIR", "DAGSTER_HOME", "VIRTUAL_ENV"}}
        walls = []
        for run in range(args.runs):
            started = time.perf_counter()
            proc = subprocess.run(
                ["make", "demo", "DEMO_SERVE=0", f"DEMO_DAYS={args.days}"],
                cwd=clone, env=env, capture_output=True, text=True,
            )
            walls.append(round(time.perf_counter() - started, 1))
            if proc.returncode != 0:
                sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
                raise SystemExit(f"make demo failed on run {run + 1} with status {proc.returncode}")
            print(f"run {run + 1}: {walls[-1]} s", flush=True)
        # ru_maxrss of children is the largest single descendant (the pipeline process), in KiB on Linux.
        peak_rss_mb = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
        con = duckdb.connect(str(clone / "data" / "warehouse.duckdb"), read_only=True)
        listings, pages, scrape_s = con.execute(
            "select sum(listings), sum(pages), sum(duration_s) from raw.scrape_reports where mode = 'fetch'"
        ).fetchone()
        fct = con.execute("select count(*) from main.fct_listings").fetchone()[0]
        con.close()

    listings_per_s = round(listings / scrape_s, 1)
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()} {os.cpu_count()} cores",
                "days": args.days,
                "first_run_wall_s": walls[0],
                "second_run_wall_s": walls[-1],
                "fct_listings": fct,
                "listings_scraped": listings,
                "pages_fetched": pages,
                "scrape_listings_per_s": listings_per_s,
                "scrape_vs_seed_ratio": round(listings_per_s / SEED_LISTINGS_PER_S, 1),
                "peak_rss_mb": peak_rss_mb,
            }
        )
    )


if __name__ == "__main__":
    main()
