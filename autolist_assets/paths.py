"""Where AutoList reads and writes: every path the pipeline touches is derived here.

Paths are resolved at call time from AUTOLIST_DATA_DIR, so tests can point a whole run at a
temporary directory by setting one environment variable.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DEFAULT_DATA_DIR = REPO_ROOT / "data"


def data_dir() -> Path:
    """The root of everything the pipeline writes (AUTOLIST_DATA_DIR, default ./data)."""
    path = Path(os.environ.get("AUTOLIST_DATA_DIR") or DEFAULT_DATA_DIR).resolve()
    # dbt's profiles.yml reads the same variable, so the subprocess must see the resolved value.
    os.environ["AUTOLIST_DATA_DIR"] = str(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def warehouse_path() -> Path:
    """The DuckDB file that the raw assets and dbt write."""
    return data_dir() / "warehouse.duckdb"


def serving_path() -> Path:
    """The read-only snapshot that the app reads, replaced atomically after each build."""
    return data_dir() / "serving.duckdb"


def lake_dir() -> Path:
    """The raw page archive: one WARC file per scrape partition."""
    return data_dir() / "lake"


def archive_path(source: str, day: str) -> Path:
    """The WARC file that holds every page fetched for one (source, day) partition."""
    return lake_dir() / source / f"{day}.warc.gz"


def models_dir() -> Path:
    """The model registry: one folder per trained model version."""
    return data_dir() / "models"


def pii_salt() -> str:
    """The salt for hashing seller names and phones: AUTOLIST_PII_SALT, else a random per-install one.

    The salt is never committed; a generated one is kept beside the data so that hashes stay stable
    across runs of the same installation.
    """
    if salt := os.environ.get("AUTOLIST_PII_SALT"):
        return salt
    salt_file = data_dir() / ".pii_salt"
    if not salt_file.exists():
        salt_file.write_text(secrets.token_hex(16))
        salt_file.chmod(0o600)
    return salt_file.read_text().strip()


def recommender_path() -> Path:
    """The trained recommender, read by the app and the API."""
    return models_dir() / "recommender" / "recommender.pkl"
