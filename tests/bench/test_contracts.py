"""The benchmarks' last lines are interfaces others read (issues #3 and #9): run each small and check its JSON."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _last_json(*args: str, cwd: Path = REPO_ROOT) -> dict:
    result = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=600)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_parse_benchmark_reports_the_slowest_site_and_the_bs4_ratio():
    result = _last_json("bench/parse.py", "--list-pages", "1", "--runs", "1")
    sites = result["sites"]
    # one list page each: 35 Avito cards, 15 Moteur cards, and every ad page they link to
    assert (sites["avito"]["listings"], sites["moteur"]["listings"]) == (35, 15)
    assert (sites["avito"]["pages"], sites["moteur"]["pages"]) == (36, 16)
    slowest = min(sites, key=lambda s: sites[s]["listings_per_s_per_core"])
    assert result["slowest_site"] == slowest
    assert result["listings_per_s_per_core"] == sites[slowest]["listings_per_s_per_core"] > 0
    assert result["bs4_ratio"] == sites[slowest]["bs4_ratio"]
    assert result["bs4_ratio_min"] == min(s["bs4_ratio"] for s in sites.values()) > 3  # DOM + JSON beat html.parser


def test_e2e_benchmark_runs_the_whole_graph_and_prints_its_figures(tmp_path):
    result = _last_json("bench/e2e.py", "--listings", "900", "--runs", "1", "--no-incremental",
                        "--work-dir", str(tmp_path), "--out", str(tmp_path / "e2e.json"))
    assert json.loads((tmp_path / "e2e.json").read_text())["wall_s"] == result["wall_s"]
    assert 0.85 * 900 <= result["listings"] <= 1.15 * 900
    assert 0.5 * result["listings"] < result["fct_listings"] <= result["listings"]
    cores = os.cpu_count() or 1
    assert result["listings_per_s_per_core"] == round(result["listings"] / result["wall_s"] / cores, 1)
    # the import figure is the median of fresh interpreters timed apart from the runs, so on a machine whose speed
    # drifts it can exceed the run's own start-up (3.15 against 2.84 s once); each stays a part of the wall time
    assert 0 < result["startup_s"] < result["wall_s"]
    assert 0 < result["dagster_import_s"] < result["definitions_import_s"] < result["wall_s"]
    stages = {s["stage"]: s for s in result["stages"]}
    for stage in ("scrape+archive+parse+raw", "dbt staging+int (partitioned)", "dbt marts", "price model",
                  "predictions", "recommender", "serving snapshot"):
        assert stages[stage]["wall_s"] > 0, stage
    # the overhead row is what the steps do not account for: negative would mean a step counted twice
    overhead = stages["Dagster and process overhead (start-up, imports, events)"]["wall_s"]
    assert 0 <= overhead < result["wall_s"] / 2
    assert result["peak_rss_mb"] >= max(s["peak_rss_mb"] or 0 for s in result["stages"])
    assert not list(tmp_path.glob("autolist-e2e-*"))  # the data dir is removed unless --keep
