"""Faults: a flaky marketplace, a SIGKILL mid-partition, reruns and overlapping backfills, a full or read-only disk.

Every scenario runs the real raw_listings asset (and, where it matters, the partitioned dbt assets) with
`dagster.materialize` against the demo marketplace on 127.0.0.1, and checks the warehouse against the
marketplace's ground truth.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb

from autolist_assets.resources import Marketplace, Warehouse
from demo_market import DemoMarketServer, Faults, Market, MarketConfig
from reliability.common import table_hash

TODAY = dt.date(2026, 5, 20)
FAULT_OUTCOMES = {"429", "500", "502", "503", "403", "reset", "truncated", "slow"}
# Columns that say when or how fast a run went, not what it loaded: left out of the content hashes.
RUN_COLUMNS = ("scraped_at", "observed_at", "first_seen_at", "last_seen_at", "vehicle_first_seen_at",
               "vehicle_last_seen_at", "recorded_at", "duration_s", "listings_per_s", "hours_since_scrape",
               # when dbt built the row, so that the incremental models rebuild only what changed
               "normalized_at", "built_at", "states_built_at",
               # the card's age as printed ("il y a 3 heures"): the same ad shows another text an hour later
               "posted_text")
HASHED_TABLES = ("raw.listings", "intermediate.int_listings_accepted", "main.listings_rejected", "main.fct_listings",
                 "main.prices_by_model_year_city")


@contextlib.contextmanager
def data_dir_env(path: Path) -> Iterator[Path]:
    """Point AUTOLIST_DATA_DIR (the lake, the salt, dbt's profile) at `path` for the duration."""
    path.mkdir(parents=True, exist_ok=True)
    previous = os.environ.get("AUTOLIST_DATA_DIR")
    os.environ["AUTOLIST_DATA_DIR"] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop("AUTOLIST_DATA_DIR", None)
        else:
            os.environ["AUTOLIST_DATA_DIR"] = previous


def small_market(seed: int = 21, faults: Faults | None = None, **sizes) -> Market:
    config = dict(seed=seed, today=TODAY, history_days=8, avito_per_day=25, moteur_per_day=10)
    config.update(sizes)
    return Market(MarketConfig(**config, faults=faults or Faults.off()))


def partition_key(source: str, day: dt.date) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({"date": day.isoformat(), "source": source})


def materialize_raw(partition: dg.MultiPartitionKey | tuple[dt.date, dt.date], warehouse: Path,
                    server: DemoMarketServer, with_dbt: bool = False, **config) -> dg.ExecuteInProcessResult:
    """raw_listings (and the partitioned dbt assets) for one partition, or a window of days × both sites, as one run."""
    from autolist_assets.partitions import window_range_tags

    from autolist_assets.assets.raw import raw_listings
    from autolist_assets.assets.warehouse import build_partitioned_dbt_assets
    from autolist_assets.resources import build_resources

    assets = [raw_listings, build_partitioned_dbt_assets()] if with_dbt else [raw_listings]
    resources = {"warehouse": Warehouse(path=str(warehouse)),
                 "marketplace": Marketplace(avito_url=server.avito_url, moteur_url=server.moteur_url)}
    if with_dbt:
        resources["dbt"] = build_resources()["dbt"]
    window = isinstance(partition, tuple)
    return dg.materialize(assets, partition_key=None if window else partition,
                          tags=window_range_tags(*partition) if window else None, resources=resources,
                          raise_on_error=False,
                          run_config={"ops": {"raw_listings": {"config": config}}} if config else None)


def raw_rows(warehouse: Path, source: str, day: dt.date) -> list[str]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return [r[0] for r in con.execute(
            "select listing_id from raw.listings where source = ? and scrape_date = ? order by 1",
            [source, day]).fetchall()]
    finally:
        con.close()


def truth_ids(market: Market, source: str, day: dt.date) -> list[str]:
    return sorted(ad.listing_id for ad in market.listings(source, day))


# ------------------------------------------------------------------------------------ transport faults
@dataclass
class FaultRun:
    """A scrape of several partitions with a share of requests failing."""

    rate: float
    partitions: int = 0
    completed_exact: int = 0
    failed_loudly: int = 0
    lost: int = 0  # committed but not equal to the truth: must stay 0
    faults_injected: int = 0
    faults_by_kind: dict[str, int] = field(default_factory=dict)
    retries_reported: int = 0
    requests: int = 0
    details: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {"fault_rate": self.rate, "partitions": self.partitions, "completed_exact": self.completed_exact,
                "failed_loudly": self.failed_loudly, "partitions_lost": self.lost,
                "faults_injected": self.faults_injected, "faults_by_kind": self.faults_by_kind,
                "retries_reported": self.retries_reported, "requests": self.requests}


def faulty(rate: float) -> Faults:
    """Transport faults summing to `rate` of requests: 429 with Retry-After, 5xx, slow, resets, truncated, Cloudflare."""
    share = rate / 6
    return Faults(too_many_requests=share, retry_after_s=1, server_errors=share, slow=share, slow_s=1.2,
                  resets=share, truncated=share, cloudflare=share)


def fault_run(work_dir: Path, rate: float = 0.2, days: int = 2, seed: int = 21) -> FaultRun:
    """Scrape `days` days × 2 sites at `rate` faults; each partition must be exact, or fail loudly with nothing
    committed (its earlier rows untouched)."""
    market = small_market(seed, faulty(rate))
    warehouse = work_dir / "warehouse.duckdb"
    run = FaultRun(rate)
    with data_dir_env(work_dir), DemoMarketServer(market, fault_seed=seed) as server:
        for offset in range(1, days + 1):
            day = TODAY - dt.timedelta(days=offset)
            for source in ("avito", "moteur"):
                before = len(server.requests(source))
                result = materialize_raw(partition_key(source, day), warehouse, server, timeout_s=0.6)
                log = [r for r in server.requests(source)[before:] if r.path != "/robots.txt"]
                kinds = Counter(r.outcome for r in log if r.outcome in FAULT_OUTCOMES)
                run.partitions += 1
                run.requests += len(log)
                run.faults_injected += sum(kinds.values())
                for kind, n in kinds.items():
                    run.faults_by_kind[kind] = run.faults_by_kind.get(kind, 0) + n
                if result.success:
                    metadata = result.asset_materializations_for_node("raw_listings")[0].metadata
                    run.retries_reported += metadata["retries"].value
                    if raw_rows(warehouse, source, day) == truth_ids(market, source, day):
                        run.completed_exact += 1
                    else:
                        run.lost += 1
                        run.details.append(f"{source} {day}: committed rows differ from the truth")
                elif raw_rows(warehouse, source, day) == [] and _failure_recorded(warehouse, source, day):
                    run.failed_loudly += 1
                else:
                    run.lost += 1
                    run.details.append(f"{source} {day}: failed and left rows or no record")
    return run


def _failure_recorded(warehouse: Path, source: str, day: dt.date) -> bool:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("select count(*) from raw.parse_failures where source = ? and scrape_date = ? "
                           "and partition_failed", [source, day]).fetchone()[0] > 0
    finally:
        con.close()


# ------------------------------------------------------------------------------------ SIGKILL mid-partition
WORKER = [sys.executable, "-m", "reliability.worker"]


@dataclass
class CrashRun:
    killed_after_requests: int
    killed_mid_partition: bool
    warehouse_opens_after_kill: bool
    half_partitions_after_kill: int
    rows_after_rerun_exact: bool
    duplicates: int
    archives_intact: bool
    archive_records: int
    partial_left_after_rerun: bool
    reused_pages: int

    @property
    def ok(self) -> bool:
        return (self.killed_mid_partition and self.warehouse_opens_after_kill and self.half_partitions_after_kill == 0
                and self.rows_after_rerun_exact and self.duplicates == 0 and self.archives_intact
                and not self.partial_left_after_rerun)


def crash_run(work_dir: Path, seed: int = 23) -> CrashRun:
    """Kill a materialization of two partitions with SIGKILL while it scrapes the second, then rerun it."""
    from autolist_assets.sources.archive import read_archive

    market = small_market(seed, avito_per_day=40, moteur_per_day=15)
    day = TODAY - dt.timedelta(days=1)
    data_dir = work_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    warehouse = data_dir / "warehouse.duckdb"
    env = {**os.environ, "AUTOLIST_DATA_DIR": str(data_dir)}
    with DemoMarketServer(market) as server:
        partitions = ["avito|" + day.isoformat(), "moteur|" + day.isoformat()]
        args = [*WORKER, "raw", "--avito-url", server.avito_url, "--moteur-url", server.moteur_url,
                "--warehouse", str(warehouse), "--min-interval", "0.08", *partitions]
        # the kill lands once the second partition (moteur) is under way, after the first was committed
        process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        killed_after = 0
        while time.monotonic() < deadline and process.poll() is None:
            moteur = [r for r in server.requests("moteur") if r.path != "/robots.txt"]
            if len(moteur) >= 6:
                killed_after = len(moteur)
                os.kill(process.pid, signal.SIGKILL)
                break
            time.sleep(0.02)
        process.wait(timeout=30)
        killed = process.returncode == -signal.SIGKILL
        archive = data_dir / "lake" / "moteur" / f"{day.isoformat()}.warc.gz"
        partial_before = archive.with_name(archive.name + ".tmp").exists()
        try:
            con = duckdb.connect(str(warehouse), read_only=True)
            opens = True
            half = con.execute("select count(*) from raw.listings where source = 'moteur'").fetchone()[0]
            half = int(half != 0 and half != len(truth_ids(market, "moteur", day)))
            con.close()
        except duckdb.Error:
            opens, half = False, 1
        rerun = subprocess.run([*args[:-2], "--min-interval", "0", *partitions], env=env, capture_output=True,
                               text=True, timeout=300)
        if rerun.returncode != 0:
            raise RuntimeError(f"rerun after the kill failed: {rerun.stderr[-2000:]}")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        exact = all(raw_rows(warehouse, s, day) == truth_ids(market, s, day) for s in ("avito", "moteur"))
        duplicates = con.execute("select count(*) - count(distinct (source, scrape_date, listing_id)) "
                                 "from raw.listings").fetchone()[0]
        reused = con.execute("select coalesce(sum(reused_pages), 0) from raw.scrape_reports where source = 'moteur'"
                             ).fetchone()[0]
    finally:
        con.close()
    records, intact = 0, True
    for source in ("avito", "moteur"):
        path = data_dir / "lake" / source / f"{day.isoformat()}.warc.gz"
        try:
            records += sum(1 for _ in read_archive(path))  # warcio reads every record or raises
        except Exception:
            intact = False
    leftovers = [p for p in (data_dir / "lake").rglob("*") if p.name.endswith((".tmp", ".partial"))]
    return CrashRun(killed_after, killed and partial_before, opens, half, exact, duplicates, intact, records,
                    bool(leftovers), reused)


# ------------------------------------------------------------------------------------ idempotency
def warehouse_hashes(warehouse: Path, tables: tuple[str, ...] = HASHED_TABLES) -> dict[str, str]:
    """Content hash of each table (sorted rows, run-time columns left out)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        present = {r[0] for r in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables").fetchall()}
        return {t: table_hash(con, t, RUN_COLUMNS) for t in tables if t in present}
    finally:
        con.close()


@dataclass
class IdempotencyRun:
    same_partition_twice: bool
    overlapping_backfill: bool
    hashes: dict[str, dict[str, str]]

    @property
    def ok(self) -> bool:
        return self.same_partition_twice and self.overlapping_backfill


def idempotency_run(work_dir: Path, seed: int = 25) -> IdempotencyRun:
    """The same partitions twice give the same tables; so do two overlapping windows against one window.

    The three warehouses live in separate data dirs, which would each make their own PII salt: one salt for all."""
    os.environ.setdefault("AUTOLIST_PII_SALT", "reliability-idempotency")
    market = small_market(seed, history_days=6, avito_per_day=20, moteur_per_day=8)
    days = [TODAY - dt.timedelta(days=k) for k in (4, 3, 2)]  # oldest first
    tables = ("raw.listings", "intermediate.int_listings_normalized")
    hashes: dict[str, dict[str, str]] = {}
    with DemoMarketServer(market) as server:
        def build(name: str, windows: list[list[dt.date]]) -> dict[str, str]:
            with data_dir_env(work_dir / name) as data_dir:
                for window in windows:
                    result = materialize_raw((window[0], window[-1]), data_dir / "warehouse.duckdb", server,
                                             with_dbt=True)
                    if not result.success:
                        raise RuntimeError(f"{name}: window {window[0]}..{window[-1]} failed")
                return warehouse_hashes(data_dir / "warehouse.duckdb", tables)

        hashes["once"] = build("once", [days])
        hashes["twice"] = build("twice", [days, days])
        hashes["overlapping"] = build("overlapping", [days[:2], days[1:]])
    return IdempotencyRun(hashes["once"] == hashes["twice"], hashes["once"] == hashes["overlapping"], hashes)


# ------------------------------------------------------------------------------------ full or read-only disk
def can_mount() -> bool:
    """True where this process may mount a tmpfs (root with CAP_SYS_ADMIN): real full and read-only disks."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    probe = Path(tempfile.mkdtemp(prefix="autolist-mount-probe-"))
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                            capture_output=True).returncode == 0
        if ok:
            subprocess.run(["umount", str(probe)], check=True)
        return ok
    finally:
        probe.rmdir()


@contextlib.contextmanager
def tiny_disk(path: Path, size_kb: int) -> Iterator[Path]:
    """A real filesystem of `size_kb` mounted at `path` (tmpfs), unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """`path` made read-only: a read-only bind mount as root (root ignores file modes), else chmod."""
    if can_mount():
        subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,ro,bind", str(path)], check=True)
            yield path
        finally:
            subprocess.run(["umount", "-l", str(path)], check=False)
    else:
        modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
        for p in modes:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield path
        finally:
            for p, mode in modes.items():
                p.chmod(mode)


@dataclass
class DiskRun:
    kind: str  # "read_only", "nearly_full", "full_mid_write"
    failed: bool
    message: str
    names_path: bool
    warehouse_unchanged: bool

    @property
    def ok(self) -> bool:
        return self.failed and self.names_path and self.warehouse_unchanged


def disk_runs(work_dir: Path, seed: int = 27) -> list[DiskRun]:
    """A read-only data dir, and a full disk (before and during a write): clear errors, the warehouse intact."""
    market = small_market(seed, history_days=4, avito_per_day=30, moteur_per_day=10)
    day = TODAY - dt.timedelta(days=1)
    runs: list[DiskRun] = []
    with DemoMarketServer(market) as server:
        def scrape(data_dir: Path, min_free_mb: str) -> subprocess.CompletedProcess:
            env = {**os.environ, "AUTOLIST_DATA_DIR": str(data_dir), "AUTOLIST_MIN_FREE_MB": min_free_mb}
            # a subprocess, as a scheduled run would be; a full disk must not take the test process with it
            return subprocess.run(
                [*WORKER, "raw", "--avito-url", server.avito_url, "--moteur-url", server.moteur_url,
                 "--warehouse", str(data_dir / "warehouse.duckdb"), "avito|" + day.isoformat()],
                env=env, capture_output=True, text=True, timeout=300)

        def attempt(kind: str, data_dir: Path, min_free_mb: str) -> None:
            warehouse = data_dir / "warehouse.duckdb"
            before = warehouse_hashes(warehouse, ("raw.listings", "raw.scrape_reports"))
            result = scrape(data_dir, min_free_mb)
            message = next((line for line in reversed(result.stdout.splitlines()) if line.startswith("ERROR")), "")
            after = warehouse_hashes(warehouse, ("raw.listings", "raw.scrape_reports"))
            runs.append(DiskRun(kind, result.returncode != 0, message, str(data_dir) in message, before == after))

        # a warehouse with one good partition, to be kept intact
        seeded = work_dir / "seed"
        seeded.mkdir(parents=True, exist_ok=True)
        good = subprocess.run(
            [*WORKER, "raw", "--avito-url", server.avito_url, "--moteur-url", server.moteur_url,
             "--warehouse", str(seeded / "warehouse.duckdb"), "moteur|" + day.isoformat()],
            env={**os.environ, "AUTOLIST_DATA_DIR": str(seeded)}, capture_output=True, text=True, timeout=300)
        if good.returncode != 0:
            raise RuntimeError(good.stdout[-2000:] + good.stderr[-2000:])

        ro_dir = work_dir / "read_only"
        shutil.copytree(seeded, ro_dir)
        with read_only(ro_dir):
            attempt("read_only", ro_dir, "0")
        if can_mount():
            size = sum(p.stat().st_size for p in seeded.rglob("*") if p.is_file())
            # The same scrape on a roomy copy first: "full mid-write" gets room for that partition's archive and
            # not for the warehouse's commit that follows. A fixed margin held the commit or not depending on how
            # well the archive compressed.
            sizing = work_dir / "sizing"
            shutil.copytree(seeded, sizing)
            if scrape(sizing, "0").returncode != 0:
                raise RuntimeError("the sizing scrape failed on a roomy disk")
            archive_kb = (sizing / "lake" / "avito" / f"{day.isoformat()}.warc.gz").stat().st_size // 1024
            for kind, extra_kb, min_free in (("nearly_full", 900, "64"), ("full_mid_write", archive_kb + 12, "0")):
                with tiny_disk(work_dir / kind, size // 1024 + extra_kb) as disk:
                    for item in seeded.iterdir():
                        (shutil.copytree if item.is_dir() else shutil.copy2)(item, disk / item.name)
                    attempt(kind, disk, min_free)
    return runs
