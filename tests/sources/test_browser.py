"""A real headless Chromium fetches demo pages, and the same parsers recover the ground truth from its DOM."""

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import pytest
from demo_truth import PII_SALT, displayed_brand, displayed_city

from autolist_assets.sources import BrowserFetcher, HttpFetcher
from autolist_assets.sources import avito, moteur
from autolist_assets.sources.privacy import hash_pii
from autolist_assets.sources.text import parse_price_dh
from demo_market import DemoMarketServer

AVITO_LIST = "/fr/maroc/voitures_d_occasion-%C3%A0_vendre"


@pytest.fixture(scope="module")
def server(market):
    with DemoMarketServer(market) as running:
        yield running


@pytest.fixture(scope="module")
def browser():
    with BrowserFetcher() as fetcher:  # one Chromium for the whole module
        yield fetcher


def test_browser_list_page_gives_the_newest_ads(server, browser, market):
    response = browser.get(f"{server.avito_url}{AVITO_LIST}?o=2")
    assert response.fetcher == "browser" and response.status == 200
    page = avito.parse_list_page(response.text, response.url)
    size = market.config.avito_page_size
    expected = market.feed("avito")[size:2 * size]
    assert [card["listing_id"] for card in page.cards] == [ad.listing_id for ad in expected]
    for card, ad in zip(page.cards, expected):
        assert (card["title"], card["price_dh"], card["year"], card["mileage_km"], card["posted_at"], card["city"]) \
            == (ad.title, ad.price_dh, ad.year, ad.mileage_km, ad.posted_at, ad.city)
        assert parse_price_dh(card["price_text"]) == ad.price_dh
    assert page.next_url == f"{server.avito_url}{AVITO_LIST}?o=3"


def test_browser_detail_page_parses_like_the_http_one(server, browser, market):
    ad = market.listings("moteur", dt.date(2026, 5, 18))[2]
    url = server.moteur_url + ad.url_path
    from_browser = moteur.parse_detail_page(browser.get(url).text, url)
    with HttpFetcher() as http:
        assert from_browser == moteur.parse_detail_page(http.get(url).text, url)
    assert from_browser["listing_id"] == ad.listing_id
    assert from_browser["brand"] == displayed_brand("moteur", ad.brand) and from_browser["model"] == ad.model
    assert from_browser["city"] == displayed_city("moteur", ad.city)
    assert (from_browser["mileage_km"], from_browser["fuel"], from_browser["posted_at"], from_browser["price_dh"]) \
        == (ad.mileage_km, ad.fuel, ad.posted_at, ad.price_dh)
    assert from_browser["equipment"] == list(ad.equipment)
    assert hash_pii(from_browser["seller_phone"], PII_SALT) == hash_pii(ad.seller_phone, PII_SALT)


def test_the_browser_opens_voir_plus_and_parses_the_page_like_http(server, browser, market):
    ad = next(ad for ad in market.listings("avito", dt.date(2026, 5, 18)) if ad.equipment)
    url = server.avito_url + ad.url_path
    rendered = browser.get(url)
    with HttpFetcher() as http:
        raw = http.get(url)
    assert "Voir plus" in raw.text and 'data-expanded="false"' in raw.text
    assert "Voir plus</button>" not in rendered.text and 'data-expanded="true"' in rendered.text
    parsed = avito.parse_detail_page(rendered.text, url)
    assert parsed == avito.parse_detail_page(raw.text, url)
    assert parsed["equipment"] == list(ad.equipment) and parsed["listing_id"] == ad.listing_id


def test_a_browser_run_leaves_nothing_in_the_temp_dir(server, monkeypatch):
    # Chromium leaves its process-singleton directory in $TMPDIR at every exit; the fetcher gives it a private one.
    # A short temp dir of the test's own: the singleton's socket path must fit in 108 bytes, pytest's tmp_path does not.
    temp = Path(tempfile.mkdtemp(prefix="al-"))
    monkeypatch.setenv("TMPDIR", str(temp))
    tempfile.tempdir = None  # re-read TMPDIR
    try:
        with BrowserFetcher() as fetcher:
            assert fetcher.get(f"{server.avito_url}{AVITO_LIST}").status == 200
            scratch = list(temp.iterdir())
            assert [p.name[:18] for p in scratch] == ["autolist-chromium-"]
            assert any(p.name.startswith("org.chromium.") for p in scratch[0].iterdir())
        assert list(temp.iterdir()) == []
    finally:
        tempfile.tempdir = None
        shutil.rmtree(temp, ignore_errors=True)
