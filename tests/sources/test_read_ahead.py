"""Pages fetched ahead (eight at a time from a local site, the next list page read as soon as it arrives) change
when pages are read, never which pages are fetched or what the rows say."""

import collections
import datetime as dt
import time

import pytest
from demo_truth import PII_SALT, TODAY

from autolist_assets.sources import HttpFetcher, avito, moteur, scrape_partition
from demo_market import DemoMarketServer, Faults, Market, MarketConfig

DAY = dt.date(2026, 5, 18)


@pytest.fixture(scope="module")
def market() -> Market:
    # Several list pages a day on both sites (35 and 15 cards a page), with gone ads and relative dates.
    return Market(MarketConfig(seed=5, today=TODAY, avito_per_day=160, moteur_per_day=70, history_days=4,
                               faults=Faults(deleted=0.1, mileage_buckets=0.3, hidden_price=0.1)))


def _scrape(market: Market, source: str, workers: int):
    with DemoMarketServer(market) as server, HttpFetcher() as fetcher:
        base = server.avito_url if source == "avito" else server.moteur_url
        result = scrape_partition(source, DAY, base, fetcher, None, PII_SALT, workers=workers)
        paths = collections.Counter(record.path for record in server.requests(source))
        return result, paths, base


@pytest.fixture
def slow_ad_pages(monkeypatch):
    """Ad pages that take 3 ms to parse, so the pages asked for ahead have always arrived before the walk needs
    them: every read-ahead branch runs, whatever the machine's speed."""
    for site in (avito, moteur):
        def slow(html, url, parse=site.parse_detail_page):
            time.sleep(0.003)
            return parse(html, url)
        monkeypatch.setattr(site, "parse_detail_page", slow)


@pytest.mark.parametrize("source", ["avito", "moteur"])
def test_reading_ahead_fetches_the_pages_a_one_at_a_time_walk_fetches(market, source, slow_ad_pages):
    ahead, ahead_paths, ahead_base = _scrape(market, source, workers=8)
    alone, alone_paths, alone_base = _scrape(market, source, workers=1)
    list_pages = [path for path in alone_paths if not path.endswith(".htm") and "/detail-annonce/" not in path]
    assert len(list_pages) >= 4  # the walk crosses pages, where it reads ahead
    assert ahead_paths == alone_paths
    assert ahead.pages_fetched == alone.pages_fetched == sum(alone_paths.values())
    assert ahead.gone == alone.gone > 0
    assert len(ahead.rows) == len(alone.rows) > 50
    # the same rows in the same order (the URL names each run's own server port)
    strip = lambda rows, base: [{**row, "url": row["url"].replace(base, "")} for row in rows]  # noqa: E731
    assert strip(ahead.rows, ahead_base) == strip(alone.rows, alone_base)
