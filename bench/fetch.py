"""Fetch throughput against the demo marketplace on 127.0.0.1: the HTTP fetcher against headless Chromium.

Usage: uv run python bench/fetch.py [--runs 3]
Each run scrapes the same partitions (yesterday on both sites, list + ad pages, archived to WARC) once per
fetcher; local hosts get no politeness delay, so this measures the fetchers, not the rate limit (a live site
is capped at ~1 request/s per host by default). The last line printed is one JSON object.
"""

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autolist_assets.sources import BrowserFetcher, HttpFetcher, PageArchive, scrape_partition  # noqa: E402
from demo_market import DemoMarketServer, Market, MarketConfig  # noqa: E402

TODAY = dt.date(2026, 5, 20)
DAY = TODAY - dt.timedelta(days=1)


def run_once(kind: str, server: DemoMarketServer, folder: Path) -> dict:
    """Scrape both sites' partition with one fetcher; pages and listings per wall-clock second."""
    fetcher = BrowserFetcher() if kind == "browser" else HttpFetcher()
    pages = listings = 0
    started = time.perf_counter()
    with fetcher:
        for source, base in (("avito", server.avito_url), ("moteur", server.moteur_url)):
            with PageArchive(folder / f"{kind}-{source}.warc.gz") as archive:
                result = scrape_partition(source, DAY, base, fetcher, archive, "bench-salt")
            pages += result.pages_fetched
            listings += len(result.rows)
    elapsed = time.perf_counter() - started
    return {"pages": pages, "listings": listings, "seconds": elapsed, "pages_per_s": pages / elapsed,
            "listings_per_s": listings / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    market = Market(MarketConfig(seed=42, today=TODAY, history_days=10, avito_per_day=120, moteur_per_day=40))
    figures: dict[str, dict] = {}
    with DemoMarketServer(market) as server, tempfile.TemporaryDirectory() as folder:
        for kind in ("http", "browser"):
            runs = [run_once(kind, server, Path(folder)) for _ in range(args.runs)]
            figures[kind] = {
                "pages": runs[0]["pages"], "listings": runs[0]["listings"],
                "pages_per_s": round(statistics.median(r["pages_per_s"] for r in runs), 1),
                "listings_per_s": round(statistics.median(r["listings_per_s"] for r in runs), 1),
                "seconds": round(statistics.median(r["seconds"] for r in runs), 2),
            }
            print(f"{kind}: {figures[kind]['listings']} listings, {figures[kind]['pages']} pages in "
                  f"{figures[kind]['seconds']} s (median of {args.runs}): {figures[kind]['pages_per_s']} pages/s",
                  flush=True)
    print(json.dumps({
        "benchmark": "fetch", "date": dt.date.today().isoformat(), "runs": args.runs, **figures,
        "http_vs_browser": round(figures["http"]["pages_per_s"] / figures["browser"]["pages_per_s"], 1),
    }))


if __name__ == "__main__":
    main()
