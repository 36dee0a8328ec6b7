"""Session set-up shared by every test: an isolated data dir and a prepared dbt manifest."""

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def isolated_data_dir(tmp_path_factory) -> Path:
    """Point every path the pipeline writes at a temporary folder, with a fixed test salt."""
    data_dir = tmp_path_factory.mktemp("autolist_data")
    os.environ["AUTOLIST_DATA_DIR"] = str(data_dir)
    os.environ["AUTOLIST_PII_SALT"] = "test-salt"
    os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home"))
    project = REPO_ROOT / "dbt_project"
    manifest = project / "target" / "manifest.json"
    if not manifest.exists():
        # `make test` parses first; this keeps a bare `pytest` working too.
        dbt = Path(sys.executable).parent / "dbt"
        subprocess.run(
            # Absolute paths: the manifest records them, and dbt later runs from another directory.
            [str(dbt), "parse", "--project-dir", str(project), "--profiles-dir", str(project), "--no-partial-parse", "--quiet"],
            cwd=REPO_ROOT,
            check=True,
        )
    return data_dir


@dataclass
class PipelineRun:
    """Two in-process runs of the whole graph over the same clean two-day window of the demo market."""

    data_dir: Path
    market: object
    window: tuple[date, date]
    truth_keys: set[str]
    runs: list  # (ExecuteInProcessResult, counts) per run


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, isolated_data_dir) -> PipelineRun:
    """The end-to-end fixture shared by the pipeline and app tests, in its own data dir."""
    import duckdb

    from autolist_assets.pipeline import run_window
    from autolist_assets.resources import Marketplace
    from demo_market import Faults, Market, MarketConfig
    from demo_market.server import DemoMarketServer

    today = datetime.now(timezone.utc).date()
    window = (today - timedelta(days=2), today - timedelta(days=1))
    market = Market(MarketConfig(seed=11, today=today, history_days=6, avito_per_day=200, moteur_per_day=60, faults=Faults.off()))
    truth_keys = {
        f"{source}:{listing_id}" for source in ("avito", "moteur") for listing_id in market.ground_truth(source, *window)["listing_id"]
    }
    data_dir = tmp_path_factory.mktemp("pipeline")
    previous = os.environ["AUTOLIST_DATA_DIR"]
    os.environ["AUTOLIST_DATA_DIR"] = str(data_dir)
    runs = []
    try:
        with DemoMarketServer(market) as server:
            resources = {"marketplace": Marketplace(avito_url=server.avito_url, moteur_url=server.moteur_url)}
            for _ in range(2):
                result = run_window(*window, resources=resources)
                con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
                counts = {
                    name: con.execute(sql).fetchone()[0]
                    for name, sql in {
                        "fct": "select count(*) from main.fct_listings",
                        "raw": "select count(*) from raw.listings",
                        "reports": "select count(*) from raw.scrape_reports",
                    }.items()
                }
                con.close()
                from reliability.faults import warehouse_hashes

                # content hashes (sorted rows, run-time columns left out): a rerun must give the same tables
                counts["hashes"] = warehouse_hashes(data_dir / "warehouse.duckdb")
                runs.append((result, counts))
    finally:
        os.environ["AUTOLIST_DATA_DIR"] = previous
    return PipelineRun(data_dir, market, window, truth_keys, runs)


@pytest.fixture
def in_pipeline_dir(pipeline, monkeypatch) -> PipelineRun:
    """Point paths (and the app) at the pipeline fixture's data dir for one test."""
    monkeypatch.setenv("AUTOLIST_DATA_DIR", str(pipeline.data_dir))
    return pipeline
