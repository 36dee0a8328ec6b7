"""Session set-up shared by every test: an isolated data dir and a prepared dbt manifest."""

import os
import subprocess
import sys
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
