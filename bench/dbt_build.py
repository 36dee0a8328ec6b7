"""Benchmark: `dbt build` over N synthetic raw listings, then one incremental daily run on top of them.

Rows are generated straight into raw.listings with one vectorised DuckDB statement (no scraping is measured),
spread over 60 scrape days × both sites, with realistic shares of hidden prices, buckets, reposts and cross-posts.
The builds run as the pipeline runs them: in one process per run, on one parse (`--subprocess`: one `dbt`
process per command, as before 2026-12-01). Prints progress, then one JSON line: wall_s, peak_rss_mb (of the
dbt processes), rows_per_s, incremental_wall_s.

    uv run python bench/dbt_build.py --rows 1000000
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from autolist_assets.assets.warehouse import SKIP_UNIT_TESTS  # noqa: E402
from autolist_assets.raw_tables import ensure_raw_tables  # noqa: E402

PROJECT = REPO / "dbt_project"
DAYS = 60
FIRST_DAY = date(2026, 1, 1)

BRANDS = [("Dacia", ["Logan", "Sandero", "Duster"]), ("Renault", ["Clio", "Megane", "Kangoo"]),
          ("Volkswagen", ["Golf", "Polo", "Tiguan"]), ("Mercedes-Benz", ["Classe C", "Classe E", "GLC"]),
          ("Peugeot", ["208", "308", "3008"]), ("Hyundai", ["Tucson", "Accent", "i10"]),
          ("Toyota", ["Yaris", "Corolla", "RAV4"]), ("BMW", ["Série 3", "X5", "Série 5"])]
CITIES = ["Casablanca", "Rabat", "Marrakech", "Tanger", "Fès", "Agadir", "Meknès", "Salé", "Kénitra", "Oujda",
          "Tétouan", "El Jadida", "Témara", "Mohammédia", "Safi", "Nador"]


def generate(con: duckdb.DuckDBPyConnection, rows: int, first_day: date, days: int, id_offset: int = 0) -> None:
    """Insert `rows` synthetic listings for `days` scrape days from first_day, in one SQL statement."""
    brand_list = [b for b, _ in BRANDS]
    model_list = [models for _, models in BRANDS]
    con.execute(
        f"""
        insert into raw.listings by name
        with cars as (
            select
                i,
                -- one ad in ten is another ad of the car listed just before it: a repost a day later, or a
                -- cross-post when the two ads fall on different sites
                case when hash(i || ':dup') % 10 = 0 and i > {id_offset} then i - 1 else i end as car
            from range({id_offset}, {id_offset + rows}) as t(i)
        ),
        base as (
            select
                i,
                car,
                -- hash(x || ':k'), not hash(x, 'k'): the latter combines hash(x) with a constant, so every such
                -- column shared hash(x)'s low bits, and 1M rows fell into 216 of the 7,680 brand × model × year
                -- × city blocks (4,000 listings a block, a storm of false duplicates for the dedup join)
                hash(i || ':seed') as h,
                hash(car || ':seed') as hc,
                cast(hash(car || ':b') % {len(BRANDS)} as integer) as b,
                cast(hash(car || ':m') % 3 as integer) as m,
                cast(hash(car || ':c') % {len(CITIES)} as integer) as c
            from cars
        ),
        shaped as (
            select
                *,
                cast(DATE '{first_day.isoformat()}' + cast(i % {days} as integer) as date) as day,
                case when h % 3 = 0 then 'moteur' else 'avito' end as site,
                2005 + cast(hc % 20 as integer) as yr,
                cast(5000 + (hash(car || ':km') % 300000) as bigint) as km,
                -- half the second ads ask 2,000 DH less
                cast(40000 + cast(hash(car || ':p') % 400 as bigint) * 1000
                    - case when car <> i and h % 2 = 0 then 2000 else 0 end as bigint) as price
            from base
        )
        select
            day as scrape_date,
            site as source,
            cast(i as varchar) as listing_id,
            'https://example.test/' || i as url,
            ({brand_list})[b + 1] || ' ' || ({model_list})[b + 1][m + 1] as title,
            case
                when h % 10 = 0 then 'Demander le prix'
                when h % 50 = 1 then '1 DH'
                when site = 'moteur' then format('{{:,}} Dhs', price)
                else format('{{:,}} DH', price)
            end as price_text,
            case when h % 10 = 0 or h % 50 = 1 then null else price end as price_dh,
            cast(case when h % 7 = 0 then price + 10000 end as bigint) as old_price_dh,
            cast(null as bigint) as monthly_payment_dh,
            yr as year,
            case when site = 'avito' and h % 4 = 0
                then format('{{}} - {{}}', (km // 10000) * 10000, (km // 10000) * 10000 + 9999)
                else cast(km as varchar) end as mileage_text,
            case when site = 'avito' and h % 4 = 0 then null else km end as mileage_km,
            (['Diesel', 'Essence', 'Hybride'])[cast(hc % 3 as integer) + 1] as fuel,
            (['Manuelle', 'Automatique'])[cast(hc % 2 as integer) + 1] as gearbox,
            case when site = 'moteur' then upper(({brand_list})[b + 1]) else ({brand_list})[b + 1] end as brand,
            ({model_list})[b + 1][m + 1] as model,
            6 + cast(hc % 3 as integer) as fiscal_power,
            5 as doors,
            'WW au Maroc' as origin,
            'Excellent' as condition,
            hc % 2 = 0 as first_owner,
            case when site = 'moteur' then strip_accents(({CITIES})[c + 1]) else ({CITIES})[c + 1] end as city,
            cast(null as varchar) as sector,
            case when h % 3 = 0 then 'shop' else 'private' end as seller_type,
            md5('seller' || (hc % 20000)) as seller_name_hash,
            cast(null as varchar) as seller_phone_hash,
            cast(day as timestamptz) + to_seconds(cast(h % 86400 as bigint)) as posted_at,
            5 as image_count,
            case when h % 100 = 3 then 'Voitures de location' else 'Voitures d''occasion, à vendre' end as category,
            cast([] as varchar[]) as equipment,
            cast(day as timestamptz) + interval 23 hour as scraped_at
        from shaped
        """
    )


def _report(args: list[str], target: Path) -> None:
    results = json.loads((target / "run_results.json").read_text())["results"]
    slowest = sorted(results, key=lambda r: -r["execution_time"])[:8]
    print(f"  dbt {args[0]} {' '.join(args[1:3])}: {len(results)} nodes, slowest: "
          + ", ".join(f"{r['unique_id'].split('.')[-1]} {r['execution_time']:.1f} s" for r in slowest), file=sys.stderr)


def run_steps(steps: list[tuple[list[str], Path]], env: dict, subprocesses: bool = False) -> tuple[list[float], float, float]:
    """Run dbt commands as one pipeline run does: in one new process, on one parse (autolist_assets/dbt_in_process.py),
    or with `subprocesses`, one `dbt` process per command (how the pipeline ran dbt until 2026-12-01).

    Returns the seconds of each command (the in-process parse counts in the first), the wall time of the whole
    process (start-up and imports included), and the peak RSS in MB of any process run so far.
    """
    started = time.perf_counter()
    if subprocesses:
        times = []
        for args, target in steps:
            begun = time.perf_counter()
            subprocess.run([str(Path(sys.executable).parent / "dbt"), *args, "--project-dir", str(PROJECT),
                            "--profiles-dir", str(PROJECT), "--quiet", "--target-path", str(target)], env=env, check=True)
            times.append(time.perf_counter() - begun)
    else:
        done = subprocess.run([sys.executable, __file__, "--steps", json.dumps([[a, str(t)] for a, t in steps])],
                              env=env, check=True, capture_output=True, text=True)
        times = json.loads(done.stdout.splitlines()[-1])
    wall = time.perf_counter() - started
    for args, target in steps:
        _report(args, target)
    return times, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _steps_in_this_process(steps: list) -> None:
    """The child of run_steps: each command through InProcessDbt, as dagster-dbt drives it; prints their seconds.

    dbt is imported before the clock starts, as a Dagster run process has it from loading the Definitions
    (dagster_dbt imports it); run_steps' process wall time counts that import too.
    """
    import dbt.cli.main  # noqa: F401

    from autolist_assets.dbt_in_process import InProcessDbt

    times = []
    for args, target in steps:
        begun = time.perf_counter()
        env = {"DBT_PROJECT_DIR": str(PROJECT), "DBT_PROFILES_DIR": str(PROJECT), "DBT_TARGET_PATH": target,
               "DBT_LOG_PATH": target}
        dbt = InProcessDbt(["dbt", *args], env=env)
        errors = [line for line in dbt.stdout if b'"level": "error"' in line]
        if dbt.wait() != 0:
            raise SystemExit(f"dbt {' '.join(args)} failed: {errors}")
        times.append(time.perf_counter() - begun)
    print(json.dumps(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    parser.add_argument("--subprocess", action="store_true",
                        help="one `dbt` process per command, as the pipeline ran dbt before 2026-12-01")
    parser.add_argument("--steps", help=argparse.SUPPRESS)  # run_steps' child
    options = parser.parse_args()
    if options.steps:
        return _steps_in_this_process(json.loads(options.steps))

    data_dir = Path(tempfile.mkdtemp(prefix="autolist_bench_"))
    env = {**os.environ, "AUTOLIST_DATA_DIR": str(data_dir), "DO_NOT_TRACK": "1"}
    # One target folder per step, as the pipeline keeps one per dbt asset (autolist_assets/resources.py).
    marts_target, partitioned_target = data_dir / "target_marts", data_dir / "target_partitioned"
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    ensure_raw_tables(con)
    started = time.perf_counter()
    generate(con, options.rows, FIRST_DAY, DAYS)
    con.close()
    print(f"generated {options.rows:,} raw rows in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    (build,), wall, peak = run_steps([(["build", *SKIP_UNIT_TESTS], marts_target)], env, options.subprocess)
    print(f"full dbt build: {wall:.1f} s with the process ({build:.1f} s the command), peak RSS {peak:.0f} MB",
          file=sys.stderr)

    # One new day of listings (the daily partitions), then the daily run, in a new process as a Dagster run: the
    # partitioned models replace that day only, and the unpartitioned marts are rebuilt from all the trusted rows.
    # Like the pipeline's runs, these builds leave the dbt unit tests to CI.
    new_day = FIRST_DAY + timedelta(days=DAYS)
    daily_rows = max(1, options.rows // DAYS)
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    generate(con, daily_rows, new_day, 1, id_offset=options.rows)
    con.close()
    window = json.dumps({"min_date": new_day.isoformat(), "max_date": new_day.isoformat()})
    (inc_partitioned, inc_rest), inc_process, peak = run_steps([
        (["build", "--select", "tag:partitioned", "--vars", window, *SKIP_UNIT_TESTS], partitioned_target),
        (["build", "--exclude", "tag:partitioned", *SKIP_UNIT_TESTS], marts_target),
    ], env, options.subprocess)
    print(f"incremental daily run: {inc_partitioned:.1f} s partitioned + {inc_rest:.1f} s marts "
          f"({inc_process:.1f} s with the process)", file=sys.stderr)

    if not options.keep:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps({
        "rows": options.rows,
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(peak),
        "rows_per_s": round(options.rows / wall),
        "incremental_rows": daily_rows,
        "incremental_wall_s": round(inc_partitioned + inc_rest, 1),
        "incremental_partitioned_s": round(inc_partitioned, 1),
        "incremental_marts_s": round(inc_rest, 1),
        "incremental_process_s": round(inc_process, 1),
        "dbt": "subprocess per command" if options.subprocess else "in process",
    }))


if __name__ == "__main__":
    main()
