"""A dbt step reuses its asset's target folder, so a rerun with the same vars skips dbt's full parse."""

import shutil

import dagster as dg

from autolist_assets import paths
from autolist_assets.assets.warehouse import build_dbt_assets
from autolist_assets.definitions import defs

SKIPPED = "Nothing changed, skipping partial parsing."
PARSED = "Unable to do partial parsing"


def _marts_run(instance, log) -> str:
    """Materialize the marts; returns what dbt logged meanwhile (the log file collects every invocation)."""
    before = log.stat().st_size if log.exists() else 0
    result = dg.materialize([build_dbt_assets()], resources=defs.resources, instance=instance)
    assert result.success
    text = log.read_bytes()
    # dbt rotates its log at 10 MB: a shorter file is a new one
    return (text[before:] if len(text) >= before else text).decode()


def test_second_marts_run_skips_the_parse(in_pipeline_dir, tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    shutil.copytree(in_pipeline_dir.data_dir, data_dir)
    monkeypatch.setenv("AUTOLIST_DATA_DIR", str(data_dir))
    log = paths.DBT_PROJECT_DIR / "target" / build_dbt_assets().op.name / "dbt.log"
    with dg.instance_for_test() as instance:
        first = _marts_run(instance, log)  # a new data dir: the profile changed, so dbt parses
        second = _marts_run(instance, log)
    assert PARSED in first and SKIPPED not in first
    assert SKIPPED in second and PARSED not in second
