"""Parse throughput per site from archived pages: our parsers against a BeautifulSoup baseline, same pages, same run.

Usage: uv run python bench/parse.py [--list-pages 6] [--runs 7]
A "listing" costs its ad page plus its share of one list page (1/35 on avito, 1/15 on moteur): the corpus is
the first list pages of each site and the ad pages of every card on them, fetched over HTTP from the demo
marketplace (realistic content faults, no transport faults) into a WARC file, then read back from it. Both
parsers get each page as archived, its UTF-8 bytes, so decoding counts in their time. Throughput is listings per
CPU-second of one process (= per core): the median of the passes, and the best one (timeit's rule: slower passes
are the machine, not the code). The last line printed is one JSON object.
"""

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from autolist_assets.sources import HttpFetcher, PageArchive, avito, moteur, read_archive  # noqa: E402
from autolist_assets.sources.scrape import LIST_PATHS  # noqa: E402
from autolist_assets.sources.text import clean_text, page_text, parse_int, parse_km, parse_price_dh  # noqa: E402
from demo_market import DemoMarketServer, Faults, Market, MarketConfig  # noqa: E402

CONTENT_ONLY = Faults(hidden_price=0.12, placeholder_price=0.02, financing=0.15, non_cars=0.06, mileage_buckets=0.3,
                      cross_posts=0.15, reposts=0.05, price_drops=0.08)


def build_corpus(folder: Path, list_pages: int) -> dict[str, Path]:
    """Archive the first list pages of each site and every ad page they link to."""
    market = Market(MarketConfig(seed=42, today=dt.date(2026, 5, 20), history_days=20, faults=CONTENT_ONLY))
    archives = {}
    with DemoMarketServer(market) as server, HttpFetcher() as fetcher:
        for source, base in (("avito", server.avito_url), ("moteur", server.moteur_url)):
            parser = avito if source == "avito" else moteur
            path = folder / f"{source}.warc.gz"
            url = base + LIST_PATHS[source]
            with PageArchive(path) as archive:
                for _ in range(list_pages):
                    page = fetcher.get(url)
                    archive.write(page)
                    parsed = parser.parse_list_page(page.text, page.url)
                    for card in parsed.cards:
                        archive.write(fetcher.get(card["url"]))
                    url = parsed.next_url
            archives[source] = path
    return archives


def ours(source: str, pages: list) -> int:
    """Our adapters on every page; returns the listings parsed."""
    parser = avito if source == "avito" else moteur
    listings = 0
    for page in pages:
        if page["list"]:
            parser.parse_list_page(page["body"], page["url"])
        else:
            parser.parse_detail_page(page["body"], page["url"])
            listings += 1
    return listings


def _bs4_avito(page: bytes, is_list: bool) -> None:
    soup = BeautifulSoup(page_text(page), "html.parser")
    data = json.loads(soup.find("script", id="__NEXT_DATA__").string)
    props = data["props"]["pageProps"]["componentProps"]
    ads = props["ads"]["ads"] if is_list else [props["adInfo"]["ad"]]
    for ad in ads:
        row = {"id": ad["listId"], "title": clean_text(ad["subject"]), "price": (ad.get("price") or {}).get("value")}
        for group in (ad.get("params") or {}).values():
            for item in group:
                row[item["key"]] = item["value"]
    if is_list:  # displayed price texts, as our parser reads them
        for paragraph in soup.select("a[href] p"):
            paragraph.get_text()
        soup.find("link", rel="next")


def _bs4_moteur(page: bytes, is_list: bool) -> None:
    soup = BeautifulSoup(page_text(page), "html.parser")
    if is_list:
        for item in soup.select("div.row-item"):
            link = item.select_one("h3.title_mark_model a")
            price = item.select_one(".PriceListing")
            row = {"url": link["href"], "title": clean_text(link.get_text()),
                   "price": parse_price_dh(price.get_text()) if price else None}
            for icon in item.select("li > i"):
                row[" ".join(icon.get("class", []))] = clean_text(icon.parent.get_text())
        soup.select_one('a[rel="next"]')
        return
    lines = {}
    for line in soup.select("div.detail_line"):
        spans = line.find_all("span")
        lines[clean_text(spans[0].get_text())] = spans[1].get_text()
    row = {"title": clean_text(soup.select_one(".header_detail h1").get_text()),
           "price": parse_price_dh(soup.select_one("div.price-block").get_text()),
           "year": parse_int(lines.get("Année")), "km": parse_km(lines.get("Kilométrage")),
           "options": [node.get_text() for node in soup.select("div.option_ad")],
           "images": len(soup.select("img[data-u='image']")),
           "expired": soup.select_one("div#overview div.alert-warning") is not None}
    for node in soup.select("div#overview a"):
        row[node.get("href", "")] = node.get_text()


def baseline(source: str, pages: list) -> int:
    """BeautifulSoup (html.parser, the backend installed) extracting the same fields."""
    parse = _bs4_avito if source == "avito" else _bs4_moteur
    listings = 0
    for page in pages:
        parse(page["body"], page["list"])
        listings += not page["list"]
    return listings


def calibration() -> float:
    """CPU seconds of a fixed pure-Python loop: how fast the machine is at this moment."""
    started = time.process_time()
    sum(range(300_000))
    return time.process_time() - started


def rounds(sites: dict[str, list], runs: int) -> dict[str, dict[str, list[float]]]:
    """Listings per CPU-second of every pass, in rounds: each round times the calibration loop, then our parsers and
    the baseline on each site. This machine's speed drifts by up to half from one second to the next, and a pass of
    ours lasts about 10 ms, so passes close together share the machine's pace; spreading them across rounds (a
    baseline pass takes about a second) samples its slow and fast moments alike."""
    rates = {source: {"ours": [], "bs4": [], "calibration": []} for source in sites}
    for _ in range(runs):
        for source, pages in sites.items():
            rates[source]["calibration"].append(calibration())
            for name, function in (("ours", ours), ("bs4", baseline)):
                started = time.process_time()
                listings = function(source, pages)
                rates[source][name].append(listings / (time.process_time() - started))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--list-pages", type=int, default=6)
    parser.add_argument("--runs", type=int, default=7, help="rounds: one pass of each parser on each site per round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        archives = build_corpus(Path(folder), args.list_pages)
        sites = {}
        for source, path in archives.items():
            marker = "detail-annonce" if source == "moteur" else ".htm"
            # the pages as archived and as the scraper hands them over: bytes, decoded by each parser (both sites
            # send UTF-8)
            sites[source] = [{"body": r.page, "url": r.url, "list": marker not in r.url} for r in read_archive(path)]
    results = {}
    for source, rates in rounds(sites, args.runs).items():
        pages = sites[source]
        ours_rate, bs4_rate = statistics.median(rates["ours"]), statistics.median(rates["bs4"])
        results[source] = {
            "listings": sum(not page["list"] for page in pages), "pages": len(pages),
            "megabytes": round(sum(len(page["body"]) for page in pages) / 1e6, 2),
            "listings_per_s_per_core": round(ours_rate), "best_listings_per_s_per_core": round(max(rates["ours"])),
            "bs4_listings_per_s_per_core": round(bs4_rate), "bs4_ratio": round(ours_rate / bs4_rate, 1),
            # the slowest calibration loop of the rounds against the fastest: the machine's own drift
            "machine_slowdown": round(max(rates["calibration"]) / min(rates["calibration"]), 2),
        }
        print(f"{source}: {results[source]['listings']} listings ({len(pages)} pages): "
              f"ours {ours_rate:,.0f}/s per core (best {max(rates['ours']):,.0f}), bs4 {bs4_rate:,.0f}/s per core, ratio {ours_rate / bs4_rate:.1f}x, "
              f"machine slowdown {results[source]['machine_slowdown']}x", flush=True)
    slowest = min(results, key=lambda s: results[s]["listings_per_s_per_core"])
    print(json.dumps({
        "benchmark": "parse", "date": dt.date.today().isoformat(), "runs": args.runs,
        "listings_per_s_per_core": results[slowest]["listings_per_s_per_core"], "slowest_site": slowest,
        "best_listings_per_s_per_core": min(r["best_listings_per_s_per_core"] for r in results.values()),
        "bs4_ratio": results[slowest]["bs4_ratio"], "bs4_ratio_min": min(r["bs4_ratio"] for r in results.values()),
        "bs4_backend": "html.parser", "sites": results,
    }))


if __name__ == "__main__":
    main()
