"""The `autolist` command: run the pipeline for a window, or the whole demo (marketplace, run, UIs)."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

from autolist_assets import paths

DAGSTER_URL = "http://127.0.0.1:3000"
STREAMLIT_URL = "http://127.0.0.1:8501"
DBT_DOCS_URL = "http://127.0.0.1:8080"
API_PORT = 8000
API_DOCS_URL = f"http://127.0.0.1:{API_PORT}/docs"
DEMO_PORTS = {"avito": 8765, "moteur": 8766}


def _today() -> date:
    return date.fromisoformat(os.environ["DEMO_TODAY"]) if os.environ.get("DEMO_TODAY") else datetime.now(timezone.utc).date()


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for_port(port: int, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not _port_open(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} did not start listening on 127.0.0.1:{port} within {timeout_s:.0f} s")
        time.sleep(0.2)


def _start(cmd: list[str]) -> subprocess.Popen:
    # A new session per child: the terminal's Ctrl-C reaches only us, and we stop each child ourselves,
    # which `dagster dev` requires (it ignores signals when started in the background).
    return subprocess.Popen(cmd, start_new_session=True)


def _stop(children: list[subprocess.Popen]) -> None:
    for child in reversed(children):
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGINT)
    for child in reversed(children):
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)


def materialize(days: int, today: date) -> bool:
    """Materialize every asset for the last `days` days × both sites; True when every step succeeded."""
    import dagster as dg

    from autolist_assets.partitions import last_days
    from autolist_assets.pipeline import run_window

    first, last = last_days(days, today)
    print(f"Materializing {days} days × 2 sites ({first} .. {last}) as one run", flush=True)
    started = time.perf_counter()
    # The terminal gets INFO and up (a line per partition and step); DEBUG events stay in the run's log in the UI.
    result = run_window(first, last, instance=dg.DagsterInstance.get(),
                        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}})
    print(f"Run {result.run_id} {'succeeded' if result.success else 'FAILED'} in {time.perf_counter() - started:.1f} s", flush=True)
    return result.success


def demo(days: int, serve: bool) -> int:
    """Start the demo marketplace, materialize the window, then serve the Dagster UI, the app and the API until Ctrl-C."""
    # A shell that starts us in the background sets SIGINT to "ignore", and children would inherit that:
    # handle SIGINT and SIGTERM ourselves so Ctrl-C and kill both stop the whole demo, children included.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    busy = [port for port in [*DEMO_PORTS.values(), *([3000, 8501, 8080, API_PORT] if serve else [])] if _port_open(port)]
    if busy:
        print(f"Ports already in use on 127.0.0.1: {busy}. Is another `make demo` running?", file=sys.stderr)
        return 1
    today = _today()
    children: list[subprocess.Popen] = []
    try:
        children.append(
            _start(
                [sys.executable, "-m", "demo_market", "--avito-port", str(DEMO_PORTS["avito"]),
                 "--moteur-port", str(DEMO_PORTS["moteur"]), "--today", today.isoformat()]
            )
        )
        for port in DEMO_PORTS.values():
            _wait_for_port(port, 30, "The demo marketplace")
        ok = materialize(days, today)
        if not ok:
            print("Some assets failed: see the run log above.", file=sys.stderr)
            return 1
        print(f"Warehouse: {paths.warehouse_path()}\nServing snapshot: {paths.serving_path()}", flush=True)
        if not serve:
            return 0
        bin_dir = os.path.dirname(sys.executable)
        dbt_args = ["--project-dir", str(paths.DBT_PROJECT_DIR), "--profiles-dir", str(paths.DBT_PROJECT_DIR),
                    "--target-path", str(paths.DBT_DOCS_DIR)]
        # The docs' catalog reads the warehouse, so it is generated now, before anything else opens it.
        subprocess.run([os.path.join(bin_dir, "dbt"), "docs", "generate", *dbt_args, "--quiet"], check=True)
        children.append(
            _start([os.path.join(bin_dir, "dbt"), "docs", "serve", *dbt_args, "--host", "127.0.0.1", "--port", "8080", "--no-browser"])
        )
        children.append(
            _start([os.path.join(bin_dir, "dagster"), "dev", "-w", str(paths.REPO_ROOT / "workspace.yaml"),
                    "-h", "127.0.0.1", "-p", "3000"])
        )
        children.append(
            _start([os.path.join(bin_dir, "streamlit"), "run", str(paths.REPO_ROOT / "streamlit_app" / "app.py"),
                    "--server.address", "127.0.0.1", "--server.port", "8501", "--server.headless", "true"])
        )
        children.append(
            _start([sys.executable, "-m", "uvicorn", "api.app:app", "--app-dir", str(paths.REPO_ROOT),
                    "--host", "127.0.0.1", "--port", str(API_PORT), "--log-level", "warning"])
        )
        _wait_for_port(8501, 60, "Streamlit")
        _wait_for_port(API_PORT, 60, "The REST API")
        _wait_for_port(3000, 120, "The Dagster UI")
        _wait_for_port(8080, 30, "The dbt docs server")
        print(
            f"\nDagster UI:    {DAGSTER_URL}\nStreamlit app: {STREAMLIT_URL}\ndbt docs:      {DBT_DOCS_URL}\n"
            f"REST API:      {API_DOCS_URL}\nPress Ctrl-C to stop.\n",
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(1)
        print("A demo process exited; stopping the rest.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        _stop(children)


def import_csv(files: list[str], source: str) -> int:
    """Load CSV exports into raw.imported_listings; prints a summary per file and a JSON line last."""
    import json

    import duckdb

    from autolist_assets.sources.csv_import import ImportLayoutError, load_csv_exports

    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        print(f"No such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    con = duckdb.connect(str(paths.warehouse_path()))
    try:
        results = load_csv_exports([Path(f) for f in files], con, source, paths.pii_salt())
    except ImportLayoutError as error:
        print(f"Import failed: {error}", file=sys.stderr)
        return 2
    finally:
        con.close()
    summary = {"files": [], "imported": 0, "rejected": 0, "rejected_by_reason": {}}
    for result in results:
        imported, rejected = len(result.rows), len(result.rejections)
        print(f"{result.path} ({result.source}): {result.rows_read} rows read, {imported} imported, {rejected} rejected")
        for reason, count in result.rejected_by_reason.items():
            print(f"    {reason}: {count}")
            summary["rejected_by_reason"][reason] = summary["rejected_by_reason"].get(reason, 0) + count
        if result.unmapped:
            print(f"    columns not used: {', '.join(result.unmapped)}")
        summary["files"].append({"path": str(result.path), "source": result.source, "read": result.rows_read,
                                 "imported": imported, "rejected": rejected})
        summary["imported"] += imported
        summary["rejected"] += rejected
    print(json.dumps(summary, ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="autolist", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("materialize", help="materialize every asset for the last N days of both sites")
    run.add_argument("--days", type=int, default=14)
    show = sub.add_parser("demo", help="run the demo marketplace, materialize, then serve the UIs")
    show.add_argument("--days", type=int, default=14)
    show.add_argument("--no-serve", action="store_true", help="exit after materializing")
    load = sub.add_parser("import", help="load CSV exports of Avito or Moteur.ma scrapes into the raw layer")
    load.add_argument("paths", nargs="+", metavar="PATH")
    load.add_argument("--source", choices=["avito", "moteur", "auto"], default="auto")
    args = parser.parse_args(argv)
    if args.command == "import":
        return import_csv(args.paths, args.source)
    if args.command == "materialize":
        return 0 if materialize(args.days, _today()) else 1
    return demo(args.days, serve=not args.no_serve)


if __name__ == "__main__":
    sys.exit(main())
