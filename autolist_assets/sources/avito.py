"""Avito.ma parsers: the `__NEXT_DATA__` JSON carries the data, the DOM adds the displayed price text."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from autolist_assets.sources.schema import ListPage, ParseError
from autolist_assets.sources.text import (
    clean_text, parse_int, parse_km, parse_price_dh, parse_yes_no, strip_invisible,
)

_SCRIPT_MARKER = 'id="__NEXT_DATA__"'
_PRICE_TEXT_RE = re.compile(r"\d\s*(?:DH|MAD)\s*$|prix", re.IGNORECASE)
_EQUIPMENT_PREFIX = "car_"
_EQUIPMENT_EXTRA_KEYS = {"cd_mp3_bt"}
_MILEAGE_KEYS = {"mileage_exact", "mileage"}  # "mileage" held the old buckets
# params key -> (row field, value parser)
_SIMPLE_PARAMS = {
    "regdate": ("year", parse_int),
    "bv": ("gearbox", clean_text),
    "fuel": ("fuel", clean_text),
    "brand": ("brand", clean_text),
    "model": ("model", clean_text),
    "pfiscale": ("fiscal_power", parse_int),
    "doors": ("doors", parse_int),
    "v_origin": ("origin", clean_text),
    "auto_condition": ("condition", clean_text),
    "first_owner": ("first_owner", parse_yes_no),
}


def _script_bounds(html: str) -> tuple[int, int, int] | None:
    """(tag start, json start, json end) of the `__NEXT_DATA__` script, found without building a DOM."""
    marker = html.find(_SCRIPT_MARKER)
    if marker < 0:
        return None
    tag_start = html.rfind("<script", 0, marker)
    json_start = html.find(">", marker) + 1
    json_end = html.find("</script>", json_start)
    if tag_start < 0 or json_start <= 0 or json_end < 0:
        return None
    return tag_start, json_start, json_end


def extract_next_data(html: str) -> dict:
    """The parsed `__NEXT_DATA__` payload; string search first (fast), DOM lookup as a fallback."""
    bounds = _script_bounds(html)
    if bounds is not None:
        raw = html[bounds[1]:bounds[2]]
    else:
        node = LexborHTMLParser(html).css_first("script#__NEXT_DATA__")
        if node is None:
            raise ParseError("no __NEXT_DATA__ script")
        raw = node.text(deep=True)
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise ParseError(f"__NEXT_DATA__ is not JSON: {error}") from error


def _value(obj, *path):
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _money(obj) -> int | None:
    value = obj.get("value") if isinstance(obj, dict) else obj
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return int(value)
    return parse_price_dh(str(value))


def _iso_utc(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    # naive timestamps are taken as UTC, which is what the JSON uses
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)


def _param_items(params):
    """Params come as an object of groups (lists of items) or, on older pages, as one flat list."""
    if isinstance(params, dict):
        for group in params.values():
            if isinstance(group, list):
                yield from group
    elif isinstance(params, list):
        yield from params


def _apply_params(row: dict, params) -> None:
    equipment = None  # stays None when the page has no equipment flags at all (list pages)
    for item in _param_items(params):
        if not isinstance(item, dict):
            continue
        key = item.get("key")
        value = item.get("value")
        value = None if value is None else str(value)
        simple = _SIMPLE_PARAMS.get(key)
        if simple is not None:
            row[simple[0]] = simple[1](value)
        elif key in _MILEAGE_KEYS:
            shown = item.get("fullValue")
            row["mileage_text"] = strip_invisible(value if shown is None else str(shown))
            row["mileage_km"] = parse_km(value)
        elif key is None:
            continue
        elif key.startswith(_EQUIPMENT_PREFIX) or key in _EQUIPMENT_EXTRA_KEYS:
            equipment = equipment if equipment is not None else []
            if value == "1":
                equipment.append(clean_text(item.get("label")))
        elif key.isdigit():
            row["sector"] = clean_text(value)  # the sector hides behind a numeric key
    if equipment is not None:
        row["equipment"] = equipment


def _absolute(page_url: str, href: str) -> str:
    # the JSON already gives absolute URLs; urljoin is only needed for relative ones
    return href if href.startswith(("http://", "https://")) else urljoin(page_url, href)


def _ad_fields(ad: dict, page_url: str) -> dict:
    """Row fields present in one ad object (list or detail flavour)."""
    seller = ad.get("seller") if isinstance(ad.get("seller"), dict) else {}
    location = ad.get("location")
    if isinstance(location, dict):  # some deployments nest the city
        location = location.get("city", {}).get("name") if isinstance(location.get("city"), dict) \
            else location.get("name")
    is_shop = ad.get("isShop")
    seller_type = "shop" if is_shop or seller.get("type") == "STORE" else "private"
    phone = _value(seller, "phone", "number") or (ad.get("phone") if isinstance(ad.get("phone"), str) else None)
    row = {
        "listing_id": str(ad["listId"]) if ad.get("listId") is not None else None,
        "url": _absolute(page_url, ad["href"]) if ad.get("href") else None,
        "title": clean_text(ad.get("subject")),
        "price_dh": _money(ad.get("price")),
        "old_price_dh": _money(ad.get("oldPrice")),
        "monthly_payment_dh": _money(ad.get("monthlyPayment")),
        "city": clean_text(location) if isinstance(location, str) else None,
        "category": _value(ad, "category", "formatted"),
        "seller_type": seller_type,
        "seller_name": clean_text(seller.get("name")),
        "seller_phone": phone,
        "posted_at": _iso_utc(ad.get("listTime")) or _iso_utc(ad.get("date")),
        "image_count": len(ad["images"]) if isinstance(ad.get("images"), list) else None,
    }
    _apply_params(row, ad.get("params"))
    return row


def _markup_tree(html: str) -> LexborHTMLParser:
    """DOM of the page without the `__NEXT_DATA__` script: half the bytes, and it holds no markup."""
    bounds = _script_bounds(html)
    return LexborHTMLParser(html[:bounds[0]] if bounds else html)


def _card_price_texts(tree: LexborHTMLParser, page_url: str) -> dict[str, str]:
    """Displayed price per ad URL, read from the rendered cards (matched by text, class names rotate)."""
    prices: dict[str, str] = {}
    # one query for every paragraph of every card; the card is found by walking up to its link
    for paragraph in tree.css("a[href] p"):
        text = paragraph.text(deep=True)
        if not _PRICE_TEXT_RE.search(text):
            continue
        anchor = paragraph.parent
        while anchor is not None and anchor.tag != "a":
            anchor = anchor.parent
        href = anchor.attributes.get("href") if anchor is not None else None
        if href and href.endswith(".htm"):
            prices.setdefault(_absolute(page_url, href), strip_invisible(text))
    return prices


def parse_list_page(html: str, page_url: str) -> ListPage:
    """Cards (listing id, url, title, prices, year, mileage, gearbox, fuel, city, seller, date) and the next URL."""
    data = extract_next_data(html)
    ads = _value(data, "props", "pageProps", "componentProps", "ads", "ads")
    if not isinstance(ads, list):
        raise ParseError("no ads list in __NEXT_DATA__")
    tree = _markup_tree(html)
    price_texts = _card_price_texts(tree, page_url)
    cards = []
    for ad in ads:
        if not isinstance(ad, dict) or ad.get("listId") is None:
            continue
        card = _ad_fields(ad, page_url)
        card["price_text"] = price_texts.get(card["url"])
        cards.append(card)
    next_node = tree.css_first('link[rel="next"]')
    next_href = next_node.attributes.get("href") if next_node is not None else None
    return ListPage(cards=cards, next_url=_absolute(page_url, next_href) if next_href else None)


def _find_ad(data: dict) -> dict | None:
    ad = _value(data, "props", "pageProps", "componentProps", "adInfo", "ad")
    if isinstance(ad, dict):
        return ad
    # older deployments keep the ad in the Apollo cache
    apollo = _value(data, "props", "pageProps", "apolloState")
    if isinstance(apollo, dict):
        for entry in apollo.values():
            if isinstance(entry, dict) and isinstance(entry.get("ad"), dict) and "params" in entry["ad"]:
                return entry["ad"]
    return None


def parse_detail_page(html: str, page_url: str) -> dict:
    """Every row field the ad page gives, from `adInfo.ad` (clear-text seller name and phone included)."""
    ad = _find_ad(extract_next_data(html))
    if ad is None:
        raise ParseError("no ad object in __NEXT_DATA__")
    row = _ad_fields(ad, page_url)
    if row["url"] is None:
        row["url"] = page_url
    return row
