"""REST API latency under load: /v1/estimate, recommendations and similar listings at a fixed request rate.

Usage: uv run python bench/api_load.py [--rate 100] [--seconds 25] [--workers 1] [--endpoints estimate,similar]
Needs the demo data (make demo DEMO_SERVE=0): the API is started with uvicorn on a free port over the snapshot
and models of AUTOLIST_DATA_DIR (default ./data), with its rate limit off. This process is the load generator:
an open-loop schedule (asyncio, keep-alive HTTP/1.1 connections) sends `rate` requests a second whatever the answers' pace, one endpoint
at a time, with request bodies and ids drawn from the snapshot's listings (mileages jittered, so no two
estimate bodies repeat). Latency is measured from each request's scheduled time, so a server that falls
behind is charged for the queue too. The last line printed is one JSON object of the figures.
"""

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import duckdb  # noqa: E402
import httpx  # noqa: E402
import numpy as np  # noqa: E402

from autolist_assets import paths  # noqa: E402
from ml.recommender.model import load_recommender  # noqa: E402

WARMUP_S = 2.0
KEEPALIVE_S = 3.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def workload(seed: int) -> dict[str, list[tuple[str, str, dict | None]]]:
    """(method, path, body) requests per endpoint, drawn from the snapshot and the recommender."""
    rng = random.Random(seed)
    con = duckdb.connect(":memory:")
    con.execute(f"attach '{paths.serving_path().as_posix()}' as snap (read_only)")
    cars = con.execute(
        """
        select brand, model, model_year, mileage_km, fuel, gearbox, city, price_dh, listing_key, vehicle_id, still_active
        from snap.listings where brand is not null and model is not null and model_year between 1980 and 2027
        """
    ).fetchall()
    users = [u for (u,) in con.execute("select distinct user_id from snap.user_recommendations order by 1").fetchall()]
    con.close()
    known = load_recommender(paths.recommender_path()).item_index
    estimate, similar = [], []
    for brand, model, year, km, fuel, gearbox, city, price, key, vehicle_id, active in cars:
        body = {"brand": brand, "model": model, "model_year": year, "fuel": fuel, "gearbox": gearbox, "city": city,
                "asking_price_dh": int(price) if price and 1000 <= price <= 10_000_000 else None}
        if km is not None:
            body["mileage_km"] = int(min(max(km * rng.uniform(0.9, 1.1), 0), 1_000_000))
        estimate.append(("POST", "/v1/estimate", {k: v for k, v in body.items() if v is not None}))
        if active and key in known:
            similar.append(("GET", f"/v1/listings/{vehicle_id}/similar?k=10", None))
    recommendations = [("GET", f"/v1/users/{u}/recommendations?k=10", None) for u in users]
    for requests in (estimate, similar, recommendations):
        rng.shuffle(requests)
    return {"estimate": estimate, "recommendations": recommendations, "similar": similar}


class Connections:
    """Keep-alive HTTP/1.1 connections to the API, opened on demand: an idle one is reused, else a new one opens,
    so a slow answer never holds back the next request (httpx's async client cost about 6 ms of CPU a request,
    as much as the server; this costs 0.5 ms)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        now = time.monotonic()
        while self.idle:
            reader, writer, since = self.idle.pop()
            # uvicorn closes a connection idle for 5 s: never reuse one that old, it may be closing.
            if now - since < KEEPALIVE_S and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, path: str, body: dict | None) -> int:
        payload = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Length: {len(payload)}\r\n"
                + ("Content-Type: application/json\r\n" if body is not None else "") + "\r\n").encode()
        reader, writer = await self._connection()
        try:
            writer.write(head + payload)
            headers = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
            status = int(headers.split(" ", 2)[1])
            length = int(headers.split("content-length:", 1)[1].split("\r\n", 1)[0])
            await reader.readexactly(length)
        except BaseException:
            writer.close()
            raise
        self.idle.append((reader, writer, time.monotonic()))
        return status

    def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


async def run_phase(port: int, requests: list, rate: float, seconds: float) -> dict:
    """Send `rate` requests a second for `seconds` on a fixed schedule; latencies in ms from the scheduled time."""
    latencies: list[float] = []
    errors: list[str] = []
    total = int(rate * (seconds + WARMUP_S))
    connections = Connections("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2

    async def one(i: int) -> None:
        scheduled = start + i / rate
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        method, path, body = requests[i % len(requests)]
        try:
            status = await asyncio.wait_for(connections.request(method, path, body), timeout=30)
            if status != 200:
                errors.append(f"{status} {path}")
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, ValueError, IndexError) as error:
            errors.append(f"{type(error).__name__} {path}")
        if i >= rate * WARMUP_S:
            latencies.append((loop.time() - scheduled) * 1000)

    began = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(total)))
    elapsed = time.perf_counter() - began
    connections.close()
    measured = np.array(latencies)
    return {
        "requests": len(measured), "errors": len(errors), "error_samples": errors[:5],
        "achieved_rate": round(total / elapsed, 1),
        "p50_ms": round(float(np.percentile(measured, 50)), 1), "p90_ms": round(float(np.percentile(measured, 90)), 1),
        "p99_ms": round(float(np.percentile(measured, 99)), 1), "max_ms": round(float(measured.max()), 1),
    }


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its threads, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="requests a second, per endpoint phase")
    parser.add_argument("--seconds", type=float, default=25.0, help="measured seconds per endpoint")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--endpoints", default="estimate,recommendations,similar", help="phases to run, in order")
    args = parser.parse_args()
    if not paths.serving_path().exists() or not paths.recommender_path().exists():
        print(f"No snapshot or recommender in {paths.data_dir()}: run `make demo DEMO_SERVE=0` first.", file=sys.stderr)
        return 2
    requests = workload(args.seed)
    port = free_port()
    env = {**os.environ, "AUTOLIST_API_RATE_PER_S": "0"}  # the limiter must not shape the load it is measured under
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.app:app", "--app-dir", str(REPO_ROOT), "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--workers", str(args.workers)],
        env=env, start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    results: dict[str, dict] = {}
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base_url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the API did not start")
            time.sleep(0.3)
        load_before = os.getloadavg()
        for name in args.endpoints.split(","):
            server_cpu = process_cpu_s(server.pid) if args.workers == 1 else None
            results[name] = asyncio.run(run_phase(port, requests[name], args.rate, args.seconds))
            if server_cpu is not None:
                used = process_cpu_s(server.pid) - server_cpu
                results[name]["server_cpu_share"] = round(used / (args.seconds + WARMUP_S), 2)
            r = results[name]
            print(f"{name:16s} {r['requests']:5d} requests at {r['achieved_rate']:5.1f}/s  p50 {r['p50_ms']:6.1f} ms  "
                  f"p90 {r['p90_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  max {r['max_ms']:6.1f} ms  errors {r['errors']}"
                  + (f"  server CPU {r['server_cpu_share']:.0%} of a core" if "server_cpu_share" in r else ""), flush=True)
            for sample in r["error_samples"]:
                print(f"    error: {sample}")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    with duckdb.connect(str(paths.serving_path()), read_only=True) as con:
        listings = con.execute("select count(*) from listings").fetchone()[0]
    summary = {
        "date": datetime.now(timezone.utc).date().isoformat(),
        "rate_per_s": args.rate, "seconds_per_endpoint": args.seconds, "workers": args.workers,
        "listings": listings, "cpus": os.cpu_count(), "load_avg_1m_before": round(load_before[0], 2),
        "generator_cpu_s": round(resource.getrusage(resource.RUSAGE_SELF).ru_utime + resource.getrusage(resource.RUSAGE_SELF).ru_stime, 1),
        "errors": sum(r["errors"] for r in results.values()),
    }
    for name, r in results.items():
        summary.update({f"p50_ms_{name}": r["p50_ms"], f"p99_ms_{name}": r["p99_ms"], f"achieved_rate_{name}": r["achieved_rate"]})
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
