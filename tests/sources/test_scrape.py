"""Scraping the demo market over HTTP recovers its ground truth exactly, archives every page and replays offline."""

import datetime as dt
import logging
import math
from contextlib import contextmanager
from pathlib import Path

import pytest
from demo_truth import PII_SALT, SCRAPE_DAYS, TODAY, displayed_brand, displayed_city

from autolist_assets.sources import (
    ROW_FIELDS, SOURCES, HttpFetcher, PageArchive, read_archive, reparse_archive, scrape_partition,
)
from autolist_assets.sources.privacy import hash_pii
from autolist_assets.sources.text import parse_km, parse_price_dh
from demo_market import DemoMarketServer, Faults, Market, MarketConfig
from demo_market.pages import relative_date_fr

PARTITIONS = [(source, day) for source in SOURCES for day in SCRAPE_DAYS]


@pytest.fixture(scope="module")
def scraped(market, tmp_path_factory):
    """Scrape every partition once, then stop the server so later checks run offline."""
    folder = tmp_path_factory.mktemp("warc")
    runs = {}
    server = DemoMarketServer(market).start()
    try:
        with HttpFetcher() as fetcher:
            for source, day in PARTITIONS:
                base_url = server.avito_url if source == "avito" else server.moteur_url
                path = folder / f"{source}-{day.isoformat()}.warc.gz"
                with PageArchive(path) as archive, _progress_lines() as lines:
                    result = scrape_partition(source, day, base_url, fetcher, archive, PII_SALT)
                runs[source, day] = dict(result=result, archive=path, base_url=base_url, log=lines)
    finally:
        server.stop()
    return runs


@contextmanager
def _progress_lines():
    """The page-by-page progress lines the scrape logs (to Python logging, not to the run's event log)."""
    lines: list[str] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = logging.getLogger("autolist_assets.sources.scrape")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.mark.parametrize("source, day", PARTITIONS)
def test_scrape_finds_exactly_the_ads_of_the_day(scraped, market, source, day):
    result = scraped[source, day]["result"]
    truth = market.ground_truth(source, day, day)
    assert len(truth) >= 8
    assert sorted(row["listing_id"] for row in result.rows) == sorted(truth.listing_id)
    assert result.listings_found == len(truth)
    assert result.parse_failures == 0
    assert result.http_status_counts == {200: result.pages_fetched}
    assert result.duration_s > 0
    # newest first, as the site lists them
    assert [row["posted_at"] for row in result.rows] == sorted((r["posted_at"] for r in result.rows), reverse=True)


@pytest.mark.parametrize("source, day", PARTITIONS)
def test_every_field_matches_the_ground_truth(scraped, market, source, day):
    run = scraped[source, day]
    truth = {ad.listing_id: ad for ad in market.listings(source, day)}
    for row in run["result"].rows:
        ad = truth[row["listing_id"]]
        assert tuple(row) == ROW_FIELDS
        expected = {
            "source": source, "url": run["base_url"] + ad.url_path, "title": ad.title, "price_dh": ad.price_dh,
            "old_price_dh": None, "monthly_payment_dh": None, "year": ad.year, "mileage_km": ad.mileage_km,
            "fuel": ad.fuel, "gearbox": ad.gearbox, "brand": displayed_brand(source, ad.brand), "model": ad.model,
            "fiscal_power": ad.fiscal_power, "doors": ad.doors, "origin": ad.origin,
            "first_owner": ad.first_owner, "city": displayed_city(source, ad.city), "sector": ad.sector,
            "seller_type": ad.seller_type, "seller_name_hash": hash_pii(ad.seller_name, PII_SALT),
            "seller_phone_hash": hash_pii(ad.seller_phone, PII_SALT), "posted_at": ad.posted_at,
            "image_count": ad.image_count, "equipment": list(ad.equipment),
            # moteur shows no condition and no category
            "condition": ad.condition if source == "avito" else None,
            "category": "Voitures d'occasion, à vendre" if source == "avito" else None,
            "is_car": True, "ad_status": "active", "mileage_min_km": ad.mileage_km, "mileage_max_km": ad.mileage_km,
            "posted_text": relative_date_fr(ad.posted_at, market.now()) if source == "avito" else None,
        }
        assert {key: row[key] for key in expected} == expected, row["url"]
        assert row["posted_at"].tzinfo is not None
        assert parse_price_dh(row["price_text"]) == ad.price_dh
        assert parse_km(row["mileage_text"]) == ad.mileage_km
        assert ("\u202f" in row["price_text"]) == (source == "avito" and ad.price_dh >= 1000)


def test_only_hashes_of_seller_data_leave_the_scraper(scraped, market):
    for (source, day), run in scraped.items():
        truth = {ad.listing_id: ad for ad in market.listings(source, day)}
        for row in run["result"].rows:
            ad = truth[row["listing_id"]]
            text_values = " | ".join(value for value in row.values() if isinstance(value, str))
            assert ad.seller_phone not in text_values.replace(" ", "")
            if ad.seller_type == "shop":  # private first names can equal a sector ("Hassan"), dealer names cannot
                assert ad.seller_name not in text_values
            assert len(row["seller_name_hash"]) == len(row["seller_phone_hash"]) == 64


def test_the_same_dealer_hashes_alike_on_both_sites(scraped, market):
    by_source = {source: set() for source in SOURCES}
    for (source, _), run in scraped.items():
        by_source[source] |= {row["seller_phone_hash"] for row in run["result"].rows
                              if row["seller_type"] == "shop"}
    # the dealer pool is shared, and moteur prints phones as "05 22 ..": normalisation must make them meet
    assert by_source["avito"] & by_source["moteur"]


@pytest.mark.parametrize("source, day", PARTITIONS)
def test_the_archive_holds_every_fetched_page(scraped, source, day):
    run = scraped[source, day]
    result = run["result"]
    pages = list(read_archive(run["archive"]))
    assert len(pages) == result.pages_fetched
    urls = [page.url for page in pages]
    assert {row["url"] for row in result.rows} <= set(urls)
    list_pages = [page for page in pages if "detail-annonce" not in page.url and not page.url.endswith(".htm")]
    assert len(list_pages) >= 2  # the day's ads start after today's
    assert all(page.status == 200 and page.fetcher == "http" and page.body for page in pages)
    assert all(page.fetched_at.tzinfo is not None for page in pages)
    assert all(page.headers.get("content-type", page.headers.get("Content-Type", "")).startswith("text/html")
               for page in pages)
    assert not Path(str(run["archive"]) + ".tmp").exists()


def test_moteur_pages_really_contain_zero_width_spaces(scraped):
    bodies = [page.body.decode() for page in read_archive(scraped["moteur", SCRAPE_DAYS[0]]["archive"])]
    assert any("\u200b" in body for body in bodies if "detail_line" in body)


@pytest.mark.parametrize("source, day", PARTITIONS)
def test_reparse_rebuilds_identical_rows_without_network(scraped, source, day):
    run = scraped[source, day]
    replay = reparse_archive(source, day, run["archive"], PII_SALT)
    assert replay.rows == run["result"].rows
    assert replay.pages_fetched == run["result"].pages_fetched
    assert replay.http_status_counts == run["result"].http_status_counts


def test_progress_lines_name_the_partition(scraped):
    lines = scraped["avito", SCRAPE_DAYS[0]]["log"]
    assert lines and all(line.startswith(f"avito {SCRAPE_DAYS[0]}") for line in lines)


def test_moteur_skips_detail_pages_of_pages_that_are_too_recent(scraped, market):
    # one detail per too-recent page, plus the day's ads and the one older ad that ends the walk
    run = scraped["moteur", SCRAPE_DAYS[1]]
    newer = sum(len(market.listings("moteur", market.today - dt.timedelta(days=k)))
                for k in range(0, (market.today - SCRAPE_DAYS[1]).days))
    assert run["result"].pages_fetched < newer / 2


def test_a_day_without_ads_gives_no_rows(market):
    with DemoMarketServer(market) as server, HttpFetcher() as fetcher:
        result = scrape_partition("avito", market.first_day - dt.timedelta(days=3), server.avito_url, fetcher,
                                  None, PII_SALT)
    assert result.rows == [] and result.listings_found == 0
    # a search over page numbers, not a walk through every page, finds that no page holds the day
    assert 1 <= result.pages_fetched <= -(-len(market.feed("avito")) // market.config.avito_page_size)


def test_gone_or_broken_ad_pages_are_counted_and_keep_the_card(scraped, tmp_path):
    run = scraped["avito", SCRAPE_DAYS[0]]
    rows = run["result"].rows
    gone_url, broken_url = rows[0]["url"], rows[1]["url"]
    damaged = tmp_path / "damaged.warc.gz"
    with PageArchive(damaged) as archive:
        for page in read_archive(run["archive"]):
            if page.url == gone_url:
                page.status, page.body = 404, b"<html><body>Page introuvable</body></html>"
            elif page.url == broken_url:
                page.body = b"<html><head><title>Just a moment...</title></head><body></body></html>"
            archive.write(page)
    replay = reparse_archive("avito", SCRAPE_DAYS[0], damaged, PII_SALT)
    assert replay.http_status_counts == {200: run["result"].pages_fetched - 1, 404: 1}
    assert replay.parse_failures == 1
    by_id = {row["listing_id"]: row for row in replay.rows}
    assert set(by_id) == {row["listing_id"] for row in rows}
    for original in rows[:2]:
        card_only = by_id[original["listing_id"]]
        # list-page fields survive, detail-only fields are missing
        assert card_only["price_dh"] == original["price_dh"] and card_only["year"] == original["year"]
        assert card_only["brand"] is None and card_only["seller_phone_hash"] is None
    assert by_id[rows[2]["listing_id"]] == rows[2]


def test_moteur_search_for_the_day_steps_over_deleted_ads(tmp_path):
    """A list page whose last ad is deleted still dates itself by the ad above it: the search lands on the day's
    first page, instead of stopping early and walking (and dating) every page from there."""
    market = Market(MarketConfig(seed=11, today=TODAY, avito_per_day=10, moteur_per_day=150, history_days=8,
                                 faults=Faults(deleted=0.3)))
    day = TODAY - dt.timedelta(days=6)
    with DemoMarketServer(market) as server, HttpFetcher() as fetcher:
        result = scrape_partition("moteur", day, server.moteur_url, fetcher, None, PII_SALT)
        list_pages = [r for r in server.requests("moteur") if "/detail-annonce/" not in r.path and "robots" not in r.path]
    truth = {ad.listing_id for ad in market.listings("moteur", day) if ad.gone_status is None}
    assert {row["listing_id"] for row in result.rows} == truth
    size = market.config.moteur_page_size
    pages_of_the_day = -(-len(market.listings("moteur", day)) // size) + 1
    pages_in_all = -(-len(market.feed("moteur")) // size)
    # the search (two probes a doubling and a halving), then the day's pages and the one where it ends
    assert len(list_pages) <= pages_of_the_day + 1 + 2 * math.ceil(math.log2(pages_in_all)) + 1
