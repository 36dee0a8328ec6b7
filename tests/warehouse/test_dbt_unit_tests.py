"""The dbt unit tests (price and mileage parsing, brand and city canonicalization, the dedup rules) run here.

Pipeline runs leave them out (`SKIP_UNIT_TESTS`): their inputs are fixed, so one run per change is enough.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

from autolist_assets.assets.warehouse import SKIP_UNIT_TESTS, _dbt_args

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


def test_pipeline_builds_leave_the_unit_tests_out():
    assert all(arg in _dbt_args("build", min_date="2026-01-01", max_date="2026-01-01") for arg in SKIP_UNIT_TESTS)


def test_every_dbt_unit_test_passes(in_pipeline_dir, tmp_path, monkeypatch):
    # A copy of the built warehouse: the unit tests read the models' columns from it.
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    shutil.copy(in_pipeline_dir.data_dir / "warehouse.duckdb", data_dir / "warehouse.duckdb")
    monkeypatch.setenv("AUTOLIST_DATA_DIR", str(data_dir))
    target = tmp_path / "target"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "test", "--select", "test_type:unit", "--project-dir", str(PROJECT),
         "--profiles-dir", str(PROJECT), "--target-path", str(target), "--log-path", str(target)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    manifest = json.loads((target / "manifest.json").read_text())
    results = json.loads((target / "run_results.json").read_text())["results"]
    ran = {r["unique_id"]: r["status"] for r in results}
    assert set(ran) == set(manifest["unit_tests"]), "every unit test in the project ran"
    assert len(ran) >= 6
    assert set(ran.values()) == {"pass"}
