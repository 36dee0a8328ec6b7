"""The one place resources are declared: the warehouse, the marketplace sites and dbt."""

from __future__ import annotations

import fcntl
import os
import sys
from contextlib import contextmanager
from functools import cached_property
from importlib.metadata import version as package_version
from pathlib import Path
from typing import IO, Iterator, Optional

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from pydantic import PrivateAttr

from autolist_assets import paths

# Assets that write warehouse.duckdb share this pool so that concurrent runs queue instead of
# failing on DuckDB's single-writer lock (see .dagster_home/dagster.yaml for its limit).
WAREHOUSE_POOL = "duckdb_warehouse"

DEMO_AVITO_URL = "http://127.0.0.1:8765"
DEMO_MOTEUR_URL = "http://127.0.0.1:8766"


class Warehouse(dg.ConfigurableResource):
    """The DuckDB warehouse file; connections are opened per use and closed straight after (`held` keeps one for a
    step of many commits). A run that uses it holds `<warehouse>.lock` from start to end, so two runs on one machine
    take turns even when the pool does not keep them apart."""

    path: str = ""
    _run_lock: Optional[IO] = PrivateAttr(default=None)

    def resolved_path(self) -> str:
        return self.path or str(paths.warehouse_path())

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # The duckdb_warehouse pool alone is not enough with SQLite instance storage: two processes polling for the
        # freed slot can both claim it (a select, then an update, with no row lock), and then one run meets
        # DuckDB's file lock. An OS lock cannot race, and it is released if the process dies. Sensors only read, and
        # already skip a tick while a run writes: they never wait here.
        if context.dagster_run is None:
            return
        path = Path(self.resolved_path())
        try:
            path.parent.mkdir(parents=True, exist_ok=True)  # a first run creates the data dir
            lock = open(f"{path}.lock", "a")
        except OSError:
            return  # a data dir that refuses writes: the assets' own checks name it
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if context.log is not None:
                context.log.info(f"waiting for another run to finish with {path}")
            fcntl.flock(lock, fcntl.LOCK_EX)
        self._run_lock = lock

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._run_lock is not None:
            self._run_lock.close()  # closing the file releases the lock
            self._run_lock = None

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(self.resolved_path(), read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def held(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One read-write connection for a step of many small commits: opening and closing one per commit (a
        checkpoint each) cost 55 ms a time. The warehouse pool keeps other writers out meanwhile. A disk that
        refuses the open or the closing checkpoint raises an error that names the file, as a refused write does."""
        path = self.resolved_path()
        try:
            con = duckdb.connect(path)
        except Exception as error:
            raise paths.write_error(error, path) if paths.is_write_failure(error) else error
        try:
            yield con
        except BaseException:
            try:
                con.close()
            except Exception:
                pass  # the step's own error says more
            raise
        try:
            con.close()
        except Exception as error:
            raise paths.write_error(error, path) if paths.is_write_failure(error) else error


class Marketplace(dg.ConfigurableResource):
    """Where the two sites live and how to fetch them: only the base URLs differ from the live sites."""

    avito_url: str = os.environ.get("AUTOLIST_AVITO_URL", DEMO_AVITO_URL)
    moteur_url: str = os.environ.get("AUTOLIST_MOTEUR_URL", DEMO_MOTEUR_URL)
    # "http" (httpx) or "browser" (headless Chromium through Selenium), per source.
    avito_fetcher: str = os.environ.get("AUTOLIST_AVITO_FETCHER", "http")
    moteur_fetcher: str = os.environ.get("AUTOLIST_MOTEUR_FETCHER", "http")

    def base_url(self, source: str) -> str:
        return {"avito": self.avito_url, "moteur": self.moteur_url}[source]

    def fetcher_kind(self, source: str) -> str:
        return {"avito": self.avito_fetcher, "moteur": self.moteur_fetcher}[source]


class AutoListDbtCliResource(DbtCliResource):
    """DbtCliResource without four costs per dbt step that these assets never need.

    Each command runs in this process on a manifest parsed once (autolist_assets/dbt_in_process.py), not in a
    `dbt` subprocess that imports dbt and parses the project again. Before each command, dagster-dbt loads a dbt
    adapter into this process (reading the whole parsed project, half of a dbt step's time at 60,000 listings) for
    row counts and column metadata, which no asset here asks for; and it asks `dbt --version` in a subprocess where
    the installed package already says it. It also gives every step a new target folder for its artifacts and logs.
    """

    # AUTOLIST_DBT_SUBPROCESS=1 goes back to one `dbt` subprocess per command, dagster-dbt's own way.
    in_process: bool = os.environ.get("AUTOLIST_DBT_SUBPROCESS", "0") != "1"

    def cli(self, args, **kwargs):  # noqa: ANN001, ANN201 (dagster-dbt's signature)
        if not self.in_process:
            return super().cli(args, **kwargs)
        from autolist_assets.dbt_in_process import popen_in_process

        with popen_in_process():
            return super().cli(args, **kwargs)

    def _get_unique_target_path(self, *, context) -> Path:  # noqa: ANN001 (dagster-dbt's signature)
        # One folder per dbt asset, kept from run to run: its run_results.json and dbt.log are where a data engineer
        # looks, and a `dbt` subprocess (AUTOLIST_DBT_SUBPROCESS=1) whose vars and environment match the last run's
        # finds its partial-parse state there. The warehouse pool runs one dbt step at a time, so two steps never
        # share the folder.
        name = context.op_execution_context.op.name if context is not None else "adhoc"
        return paths.DBT_TARGET_DIR / name

    def _initialize_dbt_core_adapter(self, args):  # noqa: ANN001, ARG002 (dagster-dbt's signature)
        return None

    @cached_property
    def _cli_version(self):
        from packaging.version import parse

        return parse(package_version("dbt-core"))


def build_resources() -> dict[str, dg.ConfigurableResource]:
    """The resources of a default run (the demo marketplace on 127.0.0.1)."""
    return {
        "warehouse": Warehouse(),
        "marketplace": Marketplace(),
        "dbt": AutoListDbtCliResource(
            project_dir=str(paths.DBT_PROJECT_DIR),
            profiles_dir=str(paths.DBT_PROJECT_DIR),
            # The dbt beside this interpreter, so runs work whether or not the venv is on PATH.
            dbt_executable=os.path.join(os.path.dirname(sys.executable), "dbt"),
        ),
    }
