"""Avito's typed path (msgspec into the fields the parser reads) gives exactly what the general path gives, and steps
aside for any payload of another shape; a page given as its fetched bytes reads as its text."""

import datetime as dt
import json

import pytest

from autolist_assets.sources import avito
from autolist_assets.sources.fetch import Response
from demo_market import Faults, Market, MarketConfig, avito_site
from tests.sources.demo_truth import TODAY

BASE = "https://www.avito.ma"


@pytest.fixture(scope="module")
def avito_pages() -> list[tuple[str, str, bool]]:
    """(url, html, is_list) of 4 list pages of a messy demo Avito and every ad page they link to."""
    market = Market(MarketConfig(seed=5, today=TODAY, history_days=10, faults=Faults.realistic()))
    size = market.config.avito_page_size
    pages = []
    for number in range(1, 5):
        pages.append((f"{BASE}{avito_site.LIST_PATH}?o={number}",
                      avito_site.render_list(market, BASE, number).body.decode(), True))
        for listing in market.feed_window("avito", (number - 1) * size, size, market.now())[0]:
            page = avito_site.render_detail(market, BASE, listing)
            if page.status == 200:
                pages.append((f"{BASE}/ad/{listing.listing_id}.htm", page.body.decode(), False))
    return pages


def _general_detail(html: str, url: str) -> dict:
    row = avito._ad_fields(avito._find_ad(avito.extract_next_data(html)), url)
    return row if row["url"] is not None else {**row, "url": url}


def _general_cards(html: str, url: str) -> list[dict]:
    ads = avito._value(avito.extract_next_data(html), "props", "pageProps", "componentProps", "ads", "ads")
    cards = [avito._ad_fields(ad, url) for ad in ads if isinstance(ad, dict)]
    return [card for card in cards if card["listing_id"] is not None]


def _typed(html: str):
    return avito._typed_component_props(html, avito._script_bounds(html))


def test_every_demo_page_takes_the_typed_path_and_reads_as_the_general_path(avito_pages):
    details = [(url, html) for url, html, is_list in avito_pages if not is_list]
    assert len(details) > 100
    equipped = without_payload = 0
    for url, html, is_list in avito_pages:
        if avito._script_bounds(html) is None:  # the site's share of pages rendered without `__NEXT_DATA__`
            without_payload += 1
            continue
        assert _typed(html) is not None, f"{url}: a demo payload no longer fits the typed path"
        if is_list:
            cards = avito.parse_list_page(html, url).cards
            assert len(cards) == 35
            general = _general_cards(html, url)
            assert [{k: v for k, v in card.items() if k not in ("price_text", "posted_text")} for card in cards] \
                == general, url
        else:
            row = avito.parse_detail_page(html, url)
            assert row == _general_detail(html, url), url
            equipped += bool(row.get("equipment"))
    assert equipped > len(details) / 2  # the params were read, not skipped
    assert without_payload < len(avito_pages) / 10


def _ad_page_with(html: str, change) -> str:
    """The ad page with its `adInfo.ad` object changed by `change(ad)`."""
    bounds = avito._script_bounds(html)
    data = json.loads(html[bounds[1]:bounds[2]])
    change(data["props"]["pageProps"]["componentProps"]["adInfo"]["ad"])
    return html[:bounds[1]] + json.dumps(data, ensure_ascii=False) + html[bounds[2]:]


def _set(key, value):
    return lambda ad: ad.__setitem__(key, value)


# payload shapes the typed path does not take: each must reach the general path and read as it reads
OFF_THE_TYPED_SHAPE = {
    "a price as a bare number": _set("price", 98_000),
    "a city nested in an object": _set("location", {"city": {"name": "Fès"}}),
    "a phone number as a number": lambda ad: ad["seller"].__setitem__("phone", {"number": 661234567}),
    "isShop as text": _set("isShop", "true"),
    "a title as a number": _set("subject", 2019),
    "an ad id as a float": _set("listId", 58141724.0),
    "a group of params that is no list": lambda ad: ad["params"].__setitem__("secondary", None),
    "a seller that is a list": _set("seller", ["Rachid"]),
}


@pytest.mark.parametrize("variant", OFF_THE_TYPED_SHAPE)
def test_payloads_of_another_shape_go_to_the_general_path(avito_pages, variant):
    url, html = next((url, html) for url, html, is_list in avito_pages if not is_list)
    changed = _ad_page_with(html, OFF_THE_TYPED_SHAPE[variant])
    assert _typed(changed) is None
    row = avito.parse_detail_page(changed, url)
    assert row == _general_detail(changed, url)
    assert row["brand"] == avito.parse_detail_page(html, url)["brand"] is not None


def test_odd_values_the_typed_path_takes_read_as_the_general_path_reads_them(avito_pages):
    url, html = next((url, html) for url, html, is_list in avito_pages if not is_list)

    def odd(ad):
        ad["listId"] = str(ad["listId"])  # digits as text
        ad["price"] = {"value": "1 DH"}  # a placeholder, as text
        ad["oldPrice"] = {"value": 1e308}
        ad["params"]["primary"][0]["value"] = 2019  # numbers where text belongs, the cache keeps them apart
        ad["params"]["extra"] = [{"key": "car_abs", "label": "ABS", "value": 1}, "not an item", None,
                                 {"key": "car_esp", "label": "ESP", "value": True}, {"label": "Airbags"}]
        ad["images"] = [{"src": "a.jpg"}, None]

    changed = _ad_page_with(html, odd)
    assert _typed(changed) is not None
    row = avito.parse_detail_page(changed, url)
    assert row == _general_detail(changed, url)
    assert row["equipment"] == ["ABS"] and row["image_count"] == 2 and row["price_dh"] is None
    assert row["attributes"]["ESP"] == "True" and row["attributes"]["Airbags"] is None


def test_a_list_page_with_an_ad_that_is_no_object_is_read_by_the_general_path(avito_pages):
    url, html = next((url, html) for url, html, is_list in avito_pages if is_list)
    bounds = avito._script_bounds(html)
    data = json.loads(html[bounds[1]:bounds[2]])
    data["props"]["pageProps"]["componentProps"]["ads"]["ads"].insert(3, "an ad")
    changed = html[:bounds[1]] + json.dumps(data, ensure_ascii=False) + html[bounds[2]:]
    assert _typed(changed) is None
    page = avito.parse_list_page(changed, url)
    assert page.skipped == ["card_without_id"]
    assert page.cards == avito.parse_list_page(html, url).cards


def test_pages_as_fetched_bytes_read_as_their_text(avito_pages):
    for url, html, is_list in avito_pages:
        body = html.encode()
        if is_list:
            assert avito.parse_list_page(body, url) == avito.parse_list_page(html, url), url
        else:
            assert avito.parse_detail_page(body, url) == avito.parse_detail_page(html, url), url


def test_bytes_that_are_not_utf8_read_as_response_text_decodes_them(avito_pages):
    url, html = next((url, html) for url, html, is_list in avito_pages if not is_list)
    name = avito.parse_detail_page(html, url)["seller_name"]
    # a byte that starts no UTF-8 character, in the seller's name inside the payload
    body = html.encode().replace(f'"name":"{name}"'.encode(), b'"name":"\xff' + name.encode() + b'"', 1)
    assert body != html.encode()
    response = Response(url=url, status=200, headers={"content-type": "text/html; charset=utf-8"}, body=body,
                        fetched_at=dt.datetime(2026, 5, 20, tzinfo=dt.timezone.utc), fetcher="http")
    assert response.page is body
    row = avito.parse_detail_page(response.page, url)
    assert row == avito.parse_detail_page(response.text, url)
    assert row["seller_name"] == "\ufffd" + name


@pytest.mark.parametrize(("headers", "body", "page"), [
    ({"content-type": "text/html; charset=utf-8"}, "Prix 173\u202f000 DH".encode(), "Prix 173\u202f000 DH".encode()),
    ({}, b"\xef\xbb\xbfPrix", b"Prix"),  # a UTF-8 byte-order mark is not part of the page
    ({"Content-Type": "text/html; charset=ISO-8859-1"}, "Fès".encode("latin-1"), "Fès"),  # other charsets: text
    ({}, "Fès".encode("utf-16"), "Fès"),
    ({"content-type": "text/html; charset=x-unknown"}, "Fès".encode(), "Fès".encode()),  # unknown: read as UTF-8
])
def test_a_response_gives_parsers_its_utf8_bytes_or_else_its_text(headers, body, page):
    response = Response(url="https://www.avito.ma/", status=200, headers=headers, body=body,
                        fetched_at=dt.datetime(2026, 5, 20, tzinfo=dt.timezone.utc), fetcher="http")
    assert response.page == page
    assert response.text == (page if isinstance(page, str) else page.decode())
