"""Helpers shared by the reliability checks: a dbt run on a given data dir, table hashes, tables as text."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from autolist_assets import paths


def dbt(args: list[str], data_dir: Path, work_dir: Path) -> subprocess.CompletedProcess:
    """Run the project's dbt on `data_dir`'s warehouse, with its own target and log folders (never the shared ones)."""
    executable = Path(sys.executable).parent / "dbt"
    env = {**os.environ, "AUTOLIST_DATA_DIR": str(data_dir), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(
        [str(executable), *args, "--project-dir", str(paths.DBT_PROJECT_DIR), "--profiles-dir",
         str(paths.DBT_PROJECT_DIR), "--target-path", str(work_dir / "dbt_target"), "--log-path",
         str(work_dir / "dbt_logs"), "--no-partial-parse"],
        env=env, capture_output=True, text=True, check=False,
    )


def table_hash(con: duckdb.DuckDBPyConnection, table: str, exclude: tuple[str, ...] = ()) -> str:
    """sha256 of a table's rows in sorted order, leaving out columns that hold run times (not contents)."""
    columns = [row[0] for row in con.execute(
        "select column_name from information_schema.columns where table_schema || '.' || table_name = ? "
        "order by ordinal_position", [table]).fetchall() if row[0] not in exclude]
    if not columns:
        raise ValueError(f"no table {table}")
    listed = ", ".join(f'"{c}"' for c in columns)
    digest = hashlib.sha256()
    for row in con.execute(f"select {listed} from {table} order by all").fetchall():
        digest.update(repr(row).encode("utf-8"))
    return digest.hexdigest()


def markdown(rows: list[dict], columns: list[str] | None = None) -> str:
    """A small plain-text table."""
    if not rows:
        return "(none)"
    columns = columns or list(rows[0])
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns), "  ".join("-" * widths[c] for c in columns)]
    lines += ["  ".join(str(r.get(c, "")).ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join(lines)
