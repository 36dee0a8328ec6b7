"""The dbt project, loaded lazily from a manifest that `make` prepares with `dbt parse`."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from autolist_assets import paths


class ManifestMissingError(RuntimeError):
    """Raised when the dbt manifest has not been prepared yet."""


@cache
def dbt_project() -> DbtProject:
    """The DbtProject, with its manifest checked; never runs dbt itself (that would need the network)."""
    project = DbtProject(project_dir=paths.DBT_PROJECT_DIR, profiles_dir=paths.DBT_PROJECT_DIR)
    manifest: Path = project.manifest_path
    if not manifest.exists():
        raise ManifestMissingError(
            f"dbt manifest not found at {manifest}: run `make manifest` "
            "(uv run dbt parse --project-dir dbt_project --profiles-dir dbt_project) first."
        )
    return project
