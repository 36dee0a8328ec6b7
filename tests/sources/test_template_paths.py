"""The template fast paths read exactly what the DOM extractors read, and step aside on any page that differs."""

import re

import pytest
from selectolax.lexbor import LexborHTMLParser

from autolist_assets.sources import avito, moteur
from demo_market import Faults, Market, MarketConfig, avito_site, moteur_site
from tests.sources.demo_truth import TODAY

BASE = "https://www.moteur.ma"


@pytest.fixture(scope="module")
def moteur_pages() -> list[tuple[str, str, bool]]:
    """(url, html, is_list) for the 4 newest and the 4 oldest list pages of a messy demo Moteur.ma (ads expire after 30 days)
    and every ad page they link to."""
    market = Market(MarketConfig(seed=7, today=TODAY, history_days=35, faults=Faults.realistic()))
    now = market.now()
    size = market.config.moteur_page_size
    total = market.feed_window("moteur", 0, 0, now)[1]
    pages = []
    for offset in [*range(0, 4 * size, size), *range(total - 4 * size, total, size)]:
        pages.append((f"{BASE}{moteur_site.LIST_PATH}{offset}", moteur_site.render_list(market, offset).body.decode(),
                      True))
        for listing in market.feed_window("moteur", offset, size, now)[0]:
            pages.append((BASE + listing.url_path, moteur_site.render_detail(listing, now).body.decode(), False))
    return pages


def test_moteur_template_path_reads_every_demo_page_as_the_dom_does(moteur_pages):
    ad_pages = [(url, html) for url, html, is_list in moteur_pages if not is_list]
    list_pages = [(url, html) for url, html, is_list in moteur_pages if is_list]
    assert len(ad_pages) == 8 * 15 and len(list_pages) == 8
    for url, html in ad_pages:
        fast = moteur._ad_page_from_template(html)
        assert fast is not None, f"{url}: the demo's ad page no longer matches the template"
        assert fast == moteur._ad_page_from_dom(html), url
    for url, html in list_pages:
        fast = moteur._list_from_template(html)
        assert fast is not None, f"{url}: the demo's list page no longer matches the template"
        assert fast == moteur._list_from_dom(html), url
    # the demo's quirks reach the fast path: hidden prices, expired ads, shops and private sellers, zero-width spaces
    rows = [moteur.parse_detail_page(html, url) for url, html in ad_pages]
    assert {row["seller_type"] for row in rows} == {"shop", "private"}
    assert any(row["price_dh"] is None and row["price_text"] for row in rows)
    expired = sum(row["ad_status"] == "expired" for row in rows)
    assert 0 < expired == sum("alert-warning" in html for _, html in ad_pages)
    assert any("\u200b" in row["attributes"]["Année"] or "\u200b" in html for (_, html), row in zip(ad_pages, rows))


# Each variant keeps the page valid HTML that the DOM reads fine, but breaks the template somewhere.
VARIANTS = {
    "a comment hiding a second price": lambda h: h.replace(
        '<div class="detail_ad">', '<!-- <div class="price-block">1 Dhs</div> --><div class="detail_ad">'),
    "whitespace between elements": lambda h: h.replace('<div class="detail_line">', '\n  <div class="detail_line">'),
    "a script in the body": lambda h: h.replace("</body>", '<script>var price = "<div>";</script></body>'),
    "an element inside a value": lambda h: h.replace('<span class="text_bold">', '<span class="text_bold"><b>', 1)
    .replace("</span></div>", "</b></span></div>", 1),
    "an extra class on the price block": lambda h: h.replace("text_bold price-block", "text_bold price-block promo"),
    "a carriage return in a value": lambda h: h.replace("</span></div>", "\r\n</span></div>", 1),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_moteur_pages_off_the_template_go_to_the_dom(moteur_pages, variant):
    url, html = next((url, html) for url, html, is_list in moteur_pages if not is_list)
    changed = VARIANTS[variant](html)
    assert changed != html
    assert moteur._ad_page_from_template(changed) is None
    row = moteur.parse_detail_page(changed, url)
    # the DOM still reads the page; a comment never becomes the price
    assert row == moteur._ad_row(moteur._ad_page_from_dom(changed), url)
    assert row["price_text"] == moteur.parse_detail_page(html, url)["price_text"]


def test_moteur_list_pages_off_the_template_go_to_the_dom(moteur_pages):
    url, html = next((url, html) for url, html, is_list in moteur_pages if is_list)
    changed = html.replace('<div class="PriceListing">', '<div class="PriceListing"><span class="badge">Top</span>', 1)
    assert moteur._list_from_template(changed) is None
    cards = moteur.parse_list_page(changed, url).cards
    assert cards[0]["price_text"].startswith("Top")
    assert cards[1:] == moteur.parse_list_page(html, url).cards[1:]


@pytest.fixture(scope="module")
def avito_list_pages() -> list[tuple[str, str]]:
    """(url, html) of 10 list pages of a messy demo Avito: instalments, struck-out old prices, shop badges, rentals."""
    faults = Faults(hidden_price=0.12, placeholder_price=0.02, financing=0.15, non_cars=0.06, price_drops=0.3)
    market = Market(MarketConfig(seed=11, today=TODAY, history_days=10, faults=faults))
    base = "https://www.avito.ma"
    return [(f"{base}{avito_site.LIST_PATH}?o={number}", avito_site.render_list(market, base, number).body.decode())
            for number in range(1, 11)]


def _avito_dom_texts(html: str, url: str) -> tuple[dict, str | None]:
    bounds = avito._script_bounds(html)
    tree = LexborHTMLParser(html[:bounds[0]])
    next_link = tree.css_first('link[rel="next"]')
    return avito._card_texts(tree, url), next_link.attributes.get("href") if next_link is not None else None


def test_avito_template_path_reads_every_demo_list_page_as_the_dom_does(avito_list_pages):
    shown = []
    for url, html in avito_list_pages:
        markup = html[:avito._script_bounds(html)[0]]
        fast = avito._list_markup_from_template(markup, url)
        assert fast is not None, f"{url}: the demo's list page no longer matches the template"
        assert fast == _avito_dom_texts(html, url), url
        shown += fast[0].values()
    assert len(shown) == 10 * 35
    prices = [card["price_text"] for card in shown if "price_text" in card]
    # an instalment or a struck-out old price is never the price; every card shows a date
    assert prices and not any("mois" in price for price in prices)
    assert all(card["posted_text"].startswith("il y a") for card in shown)
    assert any("<del>" in html for _, html in avito_list_pages) and any("/ mois" in html for _, html in avito_list_pages)


AVITO_VARIANTS = {
    "a comment in a card": lambda h: h.replace("</p></div></a>", "</p><!-- <p>1 DH</p> --></div></a>", 1),
    "a bold price": lambda h: h.replace('dJAfqm">', 'dJAfqm"><b>', 1).replace(" DH</p>", " DH</b></p>", 1),
    "a link written href-first": lambda h: h.replace('<link rel="next" href=', '<link href=', 1)
    .replace('?o=2">', '?o=2" rel="next">', 1),
    "an extra wrapper around the cards": lambda h: h.replace("<main>", "<main><section>", 1)
    .replace("</main>", "</section></main>", 1),
}


@pytest.mark.parametrize("variant", AVITO_VARIANTS)
def test_avito_list_pages_off_the_template_go_to_the_dom(avito_list_pages, variant):
    url, html = avito_list_pages[0]
    changed = AVITO_VARIANTS[variant](html)
    assert changed != html
    assert avito._list_markup_from_template(changed[:avito._script_bounds(changed)[0]], url) is None
    page = avito.parse_list_page(changed, url)
    texts, next_href = _avito_dom_texts(changed, url)
    assert [card["price_text"] for card in page.cards] == [texts.get(card["url"], {}).get("price_text")
                                                          for card in page.cards]
    assert page.next_url == next_href == f"https://www.avito.ma{avito_site.LIST_PATH}?o=2"
    assert page.cards[0]["price_text"] == avito.parse_list_page(html, url).cards[0]["price_text"]


def test_avito_card_texts_after_an_empty_link_belong_to_no_card(avito_list_pages):
    url, html = avito_list_pages[0]
    first, second = re.findall(r'<a class="[^"]*" href="([^"]*\.htm)">', html)[:2]
    # the first card shows no price, so a price read after the emptied second link would land on it
    start, end = html.index(f'href="{first}"'), html.index(f'href="{second}"')
    card = re.sub(r'(<p class="[^"]*">)[^<]*(?:DH|[Pp]rix)[^<]*(</p>)', r"\1Voiture propre\2", html[start:end])
    changed = html[:start] + card + html[end:].replace(f'href="{second}"', 'href=""', 1)
    fast = avito._list_markup_from_template(changed[:avito._script_bounds(changed)[0]], url)
    assert fast is not None and fast == _avito_dom_texts(changed, url)
    assert "price_text" not in fast[0][first] and second not in fast[0]
    assert "price_text" in avito._list_markup_from_template(html[:avito._script_bounds(html)[0]], url)[0][second]


def test_moteur_pages_as_fetched_bytes_read_as_their_text(moteur_pages):
    for url, html, is_list in moteur_pages:
        parse = moteur.parse_list_page if is_list else moteur.parse_detail_page
        assert parse(html.encode(), url) == parse(html, url), url
