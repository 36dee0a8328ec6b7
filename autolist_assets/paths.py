"""Where AutoList reads and writes: every path the pipeline touches is derived here.

Paths are resolved at call time from AUTOLIST_DATA_DIR, so tests can point a whole run at a
temporary directory by setting one environment variable.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DBT_PARSE_PROFILES_DIR = DBT_PROJECT_DIR / "parse_profile"  # the profile parses run with (see its profiles.yml)
DBT_TARGET_DIR = DBT_PROJECT_DIR / "target"  # `make manifest`'s manifest and parse state, each dbt asset's folder
DBT_DOCS_DIR = DBT_TARGET_DIR / "docs"  # the docs site, apart from the parse state
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


class DataDirError(OSError):
    """The data dir cannot take the pipeline's writes (read-only, full, missing rights): the message names the path."""


def min_free_bytes() -> int:
    """Free space a run needs before it starts writing (AUTOLIST_MIN_FREE_MB, default 64 MB)."""
    return int(float(os.environ.get("AUTOLIST_MIN_FREE_MB", "64")) * 1024 * 1024)


def ensure_writable(directory: Path | None = None) -> Path:
    """Fail before the first write, naming the folder, when it is read-only or its disk is (nearly) full.

    A run that starts anyway could only fail halfway; failing here leaves the warehouse exactly as it was.
    """
    directory = Path(directory) if directory is not None else data_dir()
    probe = directory / f".write-probe-{os.getpid()}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as handle:
            handle.write(b"\0" * 4096)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise DataDirError(
            error.errno, f"cannot write to the data dir {directory}: {error.strerror or error} "
            "(read-only or full? set AUTOLIST_DATA_DIR to a writable folder)", str(directory),
        ) from error
    finally:
        try:
            probe.unlink(missing_ok=True)
        except OSError:
            pass
    free = shutil.disk_usage(directory).free
    if free < min_free_bytes():
        raise DataDirError(
            28, f"the disk of the data dir {directory} is nearly full: {free // 1024} KB free, "
            f"{min_free_bytes() // 1024} KB needed (AUTOLIST_MIN_FREE_MB)", str(directory),
        )
    return directory


def write_error(error: BaseException, path: Path | str) -> DataDirError:
    """A write that failed midway (disk full, read-only), re-raised with the file it was writing."""
    errno = getattr(error, "errno", None) or 5
    reason = getattr(error, "strerror", None) or str(error)
    return DataDirError(errno, f"cannot write {path}: {reason} (disk full or read-only? nothing of this "
                               "partition was committed)", str(path))


def is_write_failure(error: BaseException) -> bool:
    """An error that comes from the disk refusing a write (full, read-only, too large), whoever raised it."""
    if isinstance(error, OSError):
        return True
    text = str(error).lower()
    return any(marker in text for marker in ("no space left", "read-only file system", "file too large",
                                             "could not write", "disk quota", "permission denied"))
