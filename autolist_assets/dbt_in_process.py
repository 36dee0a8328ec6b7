"""dbt commands run inside the Dagster step's process instead of a `dbt` subprocess.

A dbt subprocess pays its fixed cost on every step: about 2 s of imports, and a parse of the whole project,
which is a full re-parse (about 2 s more) whenever the partition window's vars change, that is every day.
Here the project is parsed once per process, without vars, and each command runs on that manifest through
dbt's programmatic API (`dbtRunner`); the window vars only matter when nodes are compiled
(macros/partition_window.sql). On 1M listings the daily run's two dbt steps took 18.6–18.7 s instead of
25.6–29.2 s in the same hour (bench/BENCHMARKS.md).

dagster-dbt only knows how to run dbt as a subprocess, so `InProcessDbt` stands in for `subprocess.Popen`:
it runs the command on a thread and serves dbt's events as the JSON lines `dbt --log-format json` prints.
Everything downstream (asset materializations, asset checks, errors) is dagster-dbt's own code.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from autolist_assets import paths

# dagster-dbt passes these as environment variables to its subprocess; dbtRunner takes them as flags.
_ENV_FLAGS = {
    "DBT_TARGET_PATH": "--target-path",
    "DBT_LOG_PATH": "--log-path",
    "DBT_PROJECT_DIR": "--project-dir",
    "DBT_PROFILES_DIR": "--profiles-dir",
    "DBT_INDIRECT_SELECTION": "--indirect-selection",
}
# The files a parse reads: a change to any of them makes a cached manifest stale.
_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests")
_STDOUT_LEVELS = {"info", "warn", "error"}  # what `dbt` prints at its default log level

_manifests: dict[tuple, Any] = {}
_lock = threading.Lock()  # one dbt command at a time per process: dbt's flags and adapters are process-global


def _fingerprint(project_dir: Path) -> tuple:
    found = []
    for name in _PROJECT_FILES:
        root = project_dir / name
        for path in [root] if root.is_file() else sorted(root.rglob("*")) if root.is_dir() else []:
            stat = path.stat()
            found.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def parsed_manifest(project_dir: Path, profiles_dir: Path, callbacks: Sequence = ()) -> Any:
    """The project's manifest, parsed without vars: once per process and warehouse, again when a file changes.

    The parse keeps its partial-parse state under the data dir, so the next process re-reads only what changed.
    A new data dir starts from the state `make manifest` left in the project's target dir: the project's own
    profile is parsed as dbt_project/parse_profile (a fixed warehouse path), which dbt's state check accepts for
    every data dir. dbt re-parses what changed since, or the whole project when the state does not match (a `dbt
    parse` run by hand with the real profile rewrites it); a parse of the unchanged project takes about 1 s, not 4–5.
    """
    from dbt.cli.main import dbtRunner

    key = (str(project_dir), str(profiles_dir), str(paths.data_dir()), _fingerprint(project_dir))
    if key not in _manifests:
        target = paths.data_dir() / "dbt_parse"
        if profiles_dir == project_dir == paths.DBT_PROJECT_DIR:
            profiles_dir = paths.DBT_PARSE_PROFILES_DIR
            _seed_parse_state(paths.DBT_TARGET_DIR / _PARSE_STATE, target / _PARSE_STATE)
        # no manifest.json (1 MB, 0.3 s): the manifest is used from memory; the partial-parse state is still written
        result = dbtRunner(callbacks=list(callbacks)).invoke(
            ["parse", "--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir),
             "--target-path", str(target), "--log-path", str(target), "--no-write-json", "--quiet"]
        )
        if not result.success:
            raise RuntimeError(f"dbt parse of {project_dir} failed: {result.exception or 'see the errors above'}")
        _manifests.clear()  # one project per process in practice; never keep stale ones
        _manifests[key] = result.result
    return _manifests[key]


_PARSE_STATE = "partial_parse.msgpack"


def _seed_parse_state(seed: Path, state: Path) -> None:
    """Copy `make manifest`'s parse state into a data dir that has none yet (atomically: processes may race)."""
    if state.exists() or not seed.exists():
        return
    state.parent.mkdir(parents=True, exist_ok=True)
    partial = state.with_name(f"{state.name}.{os.getpid()}.{threading.get_ident()}")
    shutil.copyfile(seed, partial)
    os.replace(partial, state)


def _release_database() -> None:
    """Close the DuckDB database dbt-duckdb keeps open between commands of one process.

    Its environment outlives a command, and DuckDB refuses a second handle on the file with other settings (a
    read-only connection of the next step) while the first is open.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    environment = DuckDBConnectionManager._ENV
    if environment is not None:
        environment.close()
    DuckDBConnectionManager.close_all_connections()


class _Lines:
    """The `stdout` of an InProcessDbt: JSON lines (bytes) until the command ends."""

    def __init__(self, lines: queue.SimpleQueue):
        self._lines = lines
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        while (line := self._lines.get()) is not None:
            yield line
        self.closed = True

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc) -> None:
        self.closed = True


class InProcessDbt:
    """A `subprocess.Popen` look-alike for a `dbt` command line, run in this process by dbtRunner."""

    def __init__(self, args: Sequence[str], stdout: Any = None, stderr: Any = None, env: dict | None = None,
                 cwd: Any = None):
        self.args = list(args)
        self.returncode: int | None = None
        env = env or {}
        flags = [arg for name, flag in _ENV_FLAGS.items() if env.get(name) for arg in (flag, env[name])]
        self._argv = [*self.args[1:], *flags, "--quiet"]  # args[0] is the dbt executable
        self._project_dir = Path(env.get("DBT_PROJECT_DIR") or cwd or paths.DBT_PROJECT_DIR)
        self._profiles_dir = Path(env.get("DBT_PROFILES_DIR") or self._project_dir)
        self._lines: queue.SimpleQueue = queue.SimpleQueue()
        self.stdout = _Lines(self._lines)
        self._thread = threading.Thread(target=self._run, name="dbt-in-process", daemon=True)
        self._thread.start()

    def _emit(self, event: Any) -> None:
        from dbt_common.events.functions import msg_to_json

        if event.info.level in _STDOUT_LEVELS:
            self._lines.put(msg_to_json(event).encode())

    def _error(self, message: str) -> None:
        self._lines.put(json.dumps({"info": {"level": "error", "msg": message, "name": "InProcessDbtError"},
                                    "data": {}}).encode())

    def _run(self) -> None:
        from dbt.cli.main import dbtRunner

        try:
            with _lock:
                manifest = parsed_manifest(self._project_dir, self._profiles_dir, [self._emit])
                # dbt's documented way to reuse a parse: every command compiles its nodes afresh into it.
                try:
                    result = dbtRunner(manifest=manifest, callbacks=[self._emit]).invoke(self._argv)
                finally:
                    _release_database()
            if result.exception is not None:
                self._error(f"dbt {' '.join(self._argv)} failed: {result.exception}")
            self.returncode = 0 if result.success else 2 if result.exception is not None else 1
        except BaseException as error:  # noqa: BLE001 (whatever happens, the step must see it and end)
            self._error(f"dbt {' '.join(self._argv)} failed: {error!r}")
            self.returncode = 2
        finally:
            self._lines.put(None)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"dbt {' '.join(self._argv)} still running after {timeout} s")
        return self.returncode if self.returncode is not None else 2

    def send_signal(self, signal: int) -> None:
        # dbt runs on a thread here and cannot be interrupted: the step ends when its current command does.
        pass


_swap_lock = threading.Lock()


@contextmanager
def popen_in_process() -> Iterator[None]:
    """While it is open, dagster-dbt's `subprocess.Popen` (one call, in DbtCliInvocation.run) is InProcessDbt.

    Only that module's reference is swapped, and only for the synchronous part of `DbtCliResource.cli`; the
    command then runs on its own thread. dagster-dbt is pinned in uv.lock, and tests/warehouse checks the swap
    still reaches the Popen call (a dbt subprocess would show up as another process).
    """
    from dagster_dbt.core import dbt_cli_invocation

    in_process = types.SimpleNamespace(Popen=InProcessDbt, PIPE=subprocess.PIPE, STDOUT=subprocess.STDOUT)
    with _swap_lock:
        real, dbt_cli_invocation.subprocess = dbt_cli_invocation.subprocess, in_process
        try:
            yield
        finally:
            dbt_cli_invocation.subprocess = real
