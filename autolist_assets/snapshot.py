"""Read-only access to the serving snapshot, shared by the Streamlit app and the REST API (plain Python, no Dagster).

The pipeline publishes serving.duckdb by renaming a new file over the old one. Opening a DuckDB file costs
about 10 ms, so one read-only connection is kept per published file and every query runs on a cursor of
it. The file is attached to an in-memory database rather than opened by path: DuckDB caches open
databases by path, and a second connect to a renamed-over path would return the old file while any
connection to it is still open. A file's identity (device, inode, mtime) decides when to attach anew;
queries already running finish on the file they started on, which stays readable until they close it.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

from autolist_assets import paths

SCHEMA = "snap"


class SnapshotMissing(FileNotFoundError):
    """No snapshot has been published yet in this data dir."""


_lock = threading.Lock()
_current: tuple[tuple, duckdb.DuckDBPyConnection] | None = None


def snapshot_path() -> Path:
    return paths.serving_path()


def version() -> float | None:
    """The snapshot's mtime, a cache key that changes with every publish; None when there is none."""
    try:
        return snapshot_path().stat().st_mtime
    except FileNotFoundError:
        return None


def _identity(path: Path) -> tuple:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise SnapshotMissing(f"no serving snapshot at {path}: run `make demo` to publish one") from None
    return (str(path), stat.st_dev, stat.st_ino, stat.st_mtime_ns)


def _attach(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach '{path.as_posix()}' as {SCHEMA} (read_only)")
    except BaseException:
        con.close()
        raise
    return con


def _connection() -> duckdb.DuckDBPyConnection:
    global _current
    path = snapshot_path()
    # The rename that publishes a snapshot can race an open(): retry on the new file.
    for attempt in range(3):
        identity = _identity(path)
        with _lock:
            if _current is not None and _current[0] == identity:
                return _current[1]
            try:
                con = _attach(path)
            except duckdb.IOException:
                if attempt == 2:
                    raise
            else:
                # The previous file's connection is dropped here and closes once its last query has finished.
                _current = (identity, con)
                return con
        time.sleep(0.05)
    raise RuntimeError("unreachable")


@contextmanager
def cursor() -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the current snapshot, its tables reachable by bare name; raises SnapshotMissing."""
    parent = _connection()
    with _lock:  # creating cursors is not documented as thread-safe
        cur = parent.cursor()
    try:
        cur.execute(f"use {SCHEMA}")
        yield cur
    finally:
        cur.close()
        del parent


def frame(sql: str, params=()) -> pd.DataFrame:
    """A parameterised query's result as a DataFrame."""
    with cursor() as cur:
        return cur.execute(sql, list(params)).df()


def rows(sql: str, params=()) -> list[dict]:
    """A parameterised query's result as dicts of plain Python values (dates, datetimes, ints, str)."""
    with cursor() as cur:
        result = cur.execute(sql, list(params))
        names = [column[0] for column in result.description]
        return [dict(zip(names, row)) for row in result.fetchall()]


def tables() -> set[str]:
    """The snapshot's table names (older snapshots may lack a table added since)."""
    return {row["table_name"] for row in rows(
        "select table_name from information_schema.tables where table_catalog = ?", (SCHEMA,))}
