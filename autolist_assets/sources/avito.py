"""Avito.ma parsers: the `__NEXT_DATA__` JSON carries the data, the DOM adds the displayed price text."""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from urllib.parse import urljoin

import msgspec
import orjson
from selectolax.lexbor import LexborHTMLParser

from autolist_assets.sources.schema import ListPage, ParseError
from autolist_assets.sources.template import HEAD, HEAD_LINK_RE, TEXT, VALUE, unescape
from autolist_assets.sources.text import (
    MAX_STORABLE_DH, PLACEHOLDER_MAX_DH, clean_term, clean_text, is_instalment, looks_truncated, page_text, parse_int,
    parse_km, parse_price_dh, parse_relative_date_fr, parse_yes_no, strip_invisible, strip_term,
)

_SCRIPT_MARKER = 'id="__NEXT_DATA__"'
_PRICE_TEXT_RE = re.compile(r"\d\s*(?:DH|MAD)\s*$|prix", re.IGNORECASE)
_EQUIPMENT_PREFIX = "car_"
_EQUIPMENT_EXTRA_KEYS = {"cd_mp3_bt"}
_MILEAGE_KEYS = {"mileage_exact", "mileage"}  # "mileage" held the old buckets
# params key -> (row field, value parser)
_SIMPLE_PARAMS = {
    "regdate": ("year", parse_int),
    "bv": ("gearbox", clean_term),
    "fuel": ("fuel", clean_term),
    "brand": ("brand", clean_term),
    "model": ("model", clean_term),
    "pfiscale": ("fiscal_power", parse_int),
    "doors": ("doors", parse_int),
    "v_origin": ("origin", clean_term),
    "auto_condition": ("condition", clean_term),
    "first_owner": ("first_owner", parse_yes_no),
}


_SCRIPT_TEXTS = {str: (_SCRIPT_MARKER, "<script", ">", "</script>"),
                 bytes: (_SCRIPT_MARKER.encode(), b"<script", b">", b"</script>")}


def _script_bounds(html: str | bytes) -> tuple[int, int, int] | None:
    """(tag start, json start, json end) of the `__NEXT_DATA__` script, found without building a DOM."""
    script_marker, script_open, tag_end, script_close = _SCRIPT_TEXTS[type(html)]
    marker = html.find(script_marker)
    if marker < 0:
        return None
    tag_start = html.rfind(script_open, 0, marker)
    json_start = html.find(tag_end, marker) + 1
    json_end = html.find(script_close, json_start)
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
        # orjson reads these payloads twice as fast as json; past 1,024 levels it refuses, as a page payload never nests
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise ParseError(f"__NEXT_DATA__ is not JSON: {error}") from error


def _value(obj, *path):
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


MIN_PLAUSIBLE_DH = PLACEHOLDER_MAX_DH + 1


def _money(obj) -> int | None:
    value = obj.get("value") if isinstance(obj, dict) else obj
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if not MIN_PLAUSIBLE_DH <= value <= MAX_STORABLE_DH:  # "1 DH" is a placeholder; 1e308 is no price
            return None
        return int(value)
    if isinstance(value, str):
        return parse_price_dh(value)
    return None  # an object or a list where a number belongs


def _iso_utc(text: str | None) -> dt.datetime | None:
    if not text or not isinstance(text, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    # naive timestamps are taken as UTC, which is what the JSON uses
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)


@functools.lru_cache(maxsize=256)  # a site has a handful of category texts, asked for on every ad
def is_car_category(category: str | None) -> bool | None:
    """Cars for sale only: rentals ('Voitures de location') and other vehicles are not cars for this product."""
    if not category:
        return None
    return clean_text(category).lower().startswith("voitures d'occasion")


@functools.lru_cache(maxsize=1 << 16, typed=True)
def _param_effect(key, value, label, shown) -> tuple[tuple | None, tuple[tuple[str, object], ...], tuple | None]:
    """What one params item adds: (attribute label and text, row fields, equipment).

    The equipment is None for other params, () for an equipment flag that is off, and (its name,) when it is on.
    Pages repeat the same few hundred items, so the effects are cached (typed: 1, 1.0 and True stay apart).
    """
    value = None if value is None else str(value)
    attribute = None
    if label is not None:
        text = shown if shown is not None else value
        attribute = (str(label), None if text is None else strip_term(str(text)))  # a label alone shows no value
    simple = _SIMPLE_PARAMS.get(key)
    if simple is not None:
        return attribute, ((simple[0], simple[1](value)),), None
    if key in _MILEAGE_KEYS:
        text = strip_invisible(value if shown is None else str(shown))
        return attribute, (("mileage_text", text), ("mileage_km", parse_km(value))), None
    if key is None:
        return attribute, (), None
    if key.startswith(_EQUIPMENT_PREFIX) or key in _EQUIPMENT_EXTRA_KEYS:
        return attribute, (), (clean_term(label),) if value == "1" else ()
    if key.isdigit():
        return attribute, (("sector", clean_term(value)),), None  # the sector hides behind a numeric key
    return attribute, (), None


_ITEM_FIELDS = operator.itemgetter("key", "value", "label", "fullValue")  # one C call for the four reads


def _item_effect(item: dict) -> tuple[tuple | None, tuple[tuple[str, object], ...], tuple | None]:
    """`_param_effect` of one decoded params item."""
    try:
        args = _ITEM_FIELDS(item)
    except KeyError:  # an item without one of the four: absent reads as None
        args = (item.get("key"), item.get("value"), item.get("label"), item.get("fullValue"))
    try:
        return _param_effect(*args)
    except TypeError:  # an object or a list where text belongs cannot be a cache key
        return _param_effect.__wrapped__(*args)


_NO_EFFECT = (None, (), None)
_JSON_VALUE = msgspec.json.Decoder()


@functools.lru_cache(maxsize=1 << 16)
def _raw_item_effect(item: bytes) -> tuple[tuple | None, tuple[tuple[str, object], ...], tuple | None]:
    """`_item_effect` of one params item still in JSON: most items (equipment flags, gearboxes, fuels, brands) come
    byte for byte the same on page after page, so their text is the cache key and most are never decoded."""
    decoded = _JSON_VALUE.decode(item)
    return _item_effect(decoded) if isinstance(decoded, dict) else _NO_EFFECT


def _apply_params(row: dict, params) -> None:
    equipment = None  # stays None when the page has no equipment flags at all (list pages)
    attributes = {}
    # params come as an object of groups (lists of items) or, on older pages, as one flat list; no generator:
    # a list page runs this for 35 ads of about 20 items each. Items are decoded dicts, or raw JSON on the typed path.
    groups = params.values() if isinstance(params, dict) else (params,) if isinstance(params, list) else ()
    for group in groups:
        if not isinstance(group, list):
            continue
        for item in group:
            if type(item) is msgspec.Raw:
                attribute, fields, flags = _raw_item_effect(bytes(item))
            elif isinstance(item, dict):
                attribute, fields, flags = _item_effect(item)
            else:
                continue
            if attribute is not None:
                attributes[attribute[0]] = attribute[1]
            if fields:
                row.update(fields)
            if flags is not None:
                if equipment is None:
                    equipment = []
                equipment.extend(flags)
    if equipment is not None:
        row["equipment"] = equipment
    if attributes:
        row["attributes"] = attributes


def _listing_id(value) -> str | None:
    """The ad id as text when it is one (an integer, or digits); None for anything else a page may hold there."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value) if value > 0 else None
    if isinstance(value, str) and value.strip().isdigit():
        return value.strip()
    return None


def _absolute(page_url: str, href: str) -> str:
    # the JSON already gives absolute URLs; urljoin is only needed for relative ones
    return href if href.startswith(("http://", "https://")) else urljoin(page_url, href)


def _text(value) -> str | None:
    """A JSON value that should be text: numbers are read as their digits, anything else (objects, lists) as absent."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _ad_fields(ad: dict, page_url: str) -> dict:
    """Row fields present in one ad object (list or detail flavour); a field of the wrong type counts as absent."""
    seller = ad.get("seller") if isinstance(ad.get("seller"), dict) else {}
    location = ad.get("location")
    if isinstance(location, dict):  # some deployments nest the city
        location = location.get("city", {}).get("name") if isinstance(location.get("city"), dict) \
            else location.get("name")
    is_shop = ad.get("isShop")
    seller_type = "shop" if is_shop is True or seller.get("type") == "STORE" else "private"
    phone = _text(_value(seller, "phone", "number")) or _text(ad.get("phone"))
    href = _text(ad.get("href"))
    category = _text(_value(ad, "category", "formatted"))
    row = {
        "listing_id": _listing_id(ad.get("listId")),
        "url": _absolute(page_url, href) if href else None,
        "title": clean_text(_text(ad.get("subject"))),
        "price_dh": _money(ad.get("price")),
        "old_price_dh": _money(ad.get("oldPrice")),
        "monthly_payment_dh": _money(ad.get("monthlyPayment")),
        "city": clean_term(location) if isinstance(location, str) else None,
        "category": category,
        "is_car": is_car_category(category or _text(_value(ad, "category", "name"))),
        "seller_type": seller_type,
        "seller_name": clean_text(_text(seller.get("name"))),
        "seller_phone": phone,
        "posted_at": _iso_utc(ad.get("listTime")) or _iso_utc(ad.get("date")),
        "image_count": len(ad["images"]) if isinstance(ad.get("images"), list) else None,
    }
    _apply_params(row, ad.get("params"))
    return row


# The typed path. Pages of the usual shape are decoded by msgspec straight into the few fields `_ad_fields` reads,
# each with the type it has on such pages, and params items are kept as raw JSON (see `_raw_item_effect`): about
# twice as fast as decoding every value. A payload of any other shape (a field of another type, an ad that is no
# object, the Apollo cache) fails that decoding and goes to the general path, `extract_next_data` and
# `_ad_fields`, which reads anything; `tests/sources/test_avito_typed_path.py` checks that both agree. One
# difference is kept: an integer past 64 bits is read exactly here, where orjson turns it into a float.
class _Category(msgspec.Struct):
    name: str | None = None
    formatted: str | None = None


class _Money(msgspec.Struct):
    value: int | float | str | None = None


class _Phone(msgspec.Struct):
    number: str | None = None


class _Seller(msgspec.Struct):
    type: str | None = None
    name: str | None = None
    phone: _Phone | None = None


class _Ad(msgspec.Struct):
    listId: int | str | None = None
    href: str | None = None
    subject: str | None = None
    category: _Category | None = None
    price: _Money | None = None
    oldPrice: _Money | None = None
    monthlyPayment: _Money | None = None
    location: str | None = None
    seller: _Seller | None = None
    isShop: bool | None = None
    phone: str | None = None
    listTime: str | None = None
    date: str | None = None
    images: list[msgspec.Raw] | None = None
    params: dict[str, list[msgspec.Raw]] | list[msgspec.Raw] | None = None


class _AdInfo(msgspec.Struct):
    ad: _Ad | None = None


class _Ads(msgspec.Struct):
    ads: list[_Ad] | None = None


class _ComponentProps(msgspec.Struct):
    adInfo: _AdInfo | None = None
    ads: _Ads | None = None


class _PageProps(msgspec.Struct):
    componentProps: _ComponentProps | None = None


class _Props(msgspec.Struct):
    pageProps: _PageProps | None = None


class _NextData(msgspec.Struct):
    props: _Props | None = None


_TYPED_DECODER = msgspec.json.Decoder(_NextData)


def _typed_component_props(html: str | bytes, bounds: tuple[int, int, int] | None) -> _ComponentProps | None:
    """`props.pageProps.componentProps` of a payload of the usual shape; None for any other payload or none."""
    if bounds is None:
        return None
    # bytes are read in place, and as UTF-8: a payload that is not goes to the general path, which decodes as
    # `Response.text` does
    payload = memoryview(html)[bounds[1]:bounds[2]] if isinstance(html, bytes) else html[bounds[1]:bounds[2]]
    try:
        data = _TYPED_DECODER.decode(payload)
    except (msgspec.DecodeError, RecursionError):  # ValidationError included: another shape
        return None
    page_props = data.props.pageProps if data.props is not None else None
    return page_props.componentProps if page_props is not None else None


def _money_of(money: _Money | None) -> int | None:
    return None if money is None else _money(money.value)


def _typed_ad_fields(ad: _Ad, page_url: str) -> dict:
    """`_ad_fields` of an ad decoded on the typed path: the same row, without the type checks its types make moot."""
    seller = ad.seller
    category = ad.category
    formatted = category.formatted if category is not None else None
    phone = seller.phone.number if seller is not None and seller.phone is not None else None
    row = {
        "listing_id": _listing_id(ad.listId),
        "url": _absolute(page_url, ad.href) if ad.href else None,
        "title": clean_text(ad.subject),
        "price_dh": _money_of(ad.price),
        "old_price_dh": _money_of(ad.oldPrice),
        "monthly_payment_dh": _money_of(ad.monthlyPayment),
        "city": clean_term(ad.location) if ad.location is not None else None,
        "category": formatted,
        "is_car": is_car_category(formatted or (category.name if category is not None else None)),
        "seller_type": "shop" if ad.isShop is True or (seller is not None and seller.type == "STORE") else "private",
        "seller_name": clean_text(seller.name) if seller is not None else None,
        "seller_phone": phone or ad.phone,
        "posted_at": _iso_utc(ad.listTime) or _iso_utc(ad.date),
        "image_count": len(ad.images) if ad.images is not None else None,
    }
    _apply_params(row, ad.params)
    return row


def _card_texts(tree: LexborHTMLParser, page_url: str) -> dict[str, dict]:
    """Displayed price and relative date per ad URL, read from the rendered cards by text (class names rotate)."""
    cards: dict[str, dict] = {}
    # one query for every paragraph of every card; the card is found by walking up to its link
    for paragraph in tree.css("a[href] p"):
        text = paragraph.text(deep=True)
        kind = _card_text_kind(text)
        if kind is None or (kind == "price_text" and paragraph.css_first("del") is not None):
            continue
        anchor = paragraph.parent
        while anchor is not None and anchor.tag != "a":
            anchor = anchor.parent
        _note_card_text(cards, page_url, anchor.attributes.get("href") if anchor is not None else None, kind, text)
    return cards


def _card_text_kind(text: str) -> str | None:
    """'posted_text', 'price_text' or None for one paragraph of a card (a struck-through price is the old one)."""
    if text.startswith("il y a"):
        return "posted_text"
    if _PRICE_TEXT_RE.search(text) and not is_instalment(text):
        return "price_text"
    return None


def _note_card_text(cards: dict, page_url: str, href: str | None, kind: str, text: str) -> None:
    if href and href.endswith(".htm"):
        cards.setdefault(_absolute(page_url, href), {}).setdefault(kind, strip_invisible(text))


# The list page's markup, before `__NEXT_DATA__`, as a whole template (see template.py). Class names are generated
# and rotate, so they are free values; the elements and their order are not.
_P_CONTENT = rf"{TEXT}(?:(?:<span>{TEXT}</span>|<del>{TEXT}</del>){TEXT})*+"
_T_CARD = (
    rf"<a class={VALUE} href={VALUE}><div class={VALUE}><img class={VALUE} data-src={VALUE} src={VALUE} alt={VALUE}>"
    rf"</div><div class={VALUE}>(?:<p class={VALUE}(?: title={VALUE})?>{_P_CONTENT}</p>"
    rf"|<div class={VALUE}>(?:<span class={VALUE}>{TEXT}</span>)*+</div>)*+</div></a>"
)
_T_LIST_MARKUP_RE = re.compile(
    rf'{HEAD}<body><div id="__next"><header class={VALUE}><a href={VALUE}>{TEXT}</a></header><main>'
    rf"<h1 class={VALUE}>{TEXT}</h1><p class={VALUE}>{TEXT}</p><div class={VALUE}>(?P<cards>(?:{_T_CARD})*+)</div>"
    r'</main></div>'
)
# within the matched cards: each card's link, then its paragraphs
_T_LINK_OR_PARAGRAPH_RE = re.compile(rf'<a class="[^"]*" (href="[^"]*")>|<p class="[^"]*"(?: title="[^"]*")?>({_P_CONTENT})</p>')
_T_INLINE_TAG_RE = re.compile(r"</?(?:span|del)>")


def _list_markup_from_template(markup: str, page_url: str) -> tuple[dict[str, dict], str | None] | None:
    """(card texts, next href) of a list page's markup that matches the whole template; None otherwise."""
    match = _T_LIST_MARKUP_RE.fullmatch(markup)
    if match is None:
        return None
    # as the DOM: the first <link rel="next">; the template only allows rel-then-href links in the head
    next_href = next((href for rel, href in HEAD_LINK_RE.findall(match["head"]) if rel == "next"), None)
    cards: dict[str, dict] = {}
    href, card = "", None  # the template opens every card with its link, so a paragraph always follows one
    for link, content in _T_LINK_OR_PARAGRAPH_RE.findall(match["cards"]):
        if link:  # 'href="…"': an empty link is a link too, one that leads to no card
            href, card = unescape(link[6:-1]), None
            continue
        kind, text = _paragraph(content)
        if kind is None or not href.endswith(".htm"):  # as `_note_card_text`, with the card's URL joined once
            continue
        if card is None:
            card = cards.setdefault(_absolute(page_url, href), {})
        card.setdefault(kind, text)
    return cards, (unescape(next_href) if next_href is not None else None)


@functools.lru_cache(maxsize=1 << 12)  # cities, dates, years, fuels and seller badges repeat from card to card
def _paragraph(content: str) -> tuple[str | None, str]:
    """(kind, text as stored) of one matched card paragraph's markup: what `_card_text_kind` makes of its text, None for a
    paragraph that is neither a date nor the price (a struck-through price is the old one)."""
    text = unescape(_T_INLINE_TAG_RE.sub("", content) if "<" in content else content)
    kind = _card_text_kind(text)
    return (None if kind == "price_text" and "<del>" in content else kind), strip_invisible(text)


_AD_ID_RE = re.compile(r"_(\d{6,10})\.htm$")
_GEARBOXES = {"Automatique", "Manuelle"}
_FUELS = {"Diesel", "Essence", "Hybride", "Electrique", "LPG"}


def _where(text: str) -> dict:
    """'Voitures d'occasion dans Casablanca, Maarif' -> category, city, sector."""
    category, _, place = text.partition(" dans ")
    city, _, sector = place.partition(",")
    return {"category": clean_text(category), "is_car": is_car_category(category), "city": clean_text(city),
            "sector": clean_text(sector) or None}


def _dom_cards(tree: LexborHTMLParser, page_url: str, now: dt.datetime | None) -> list[dict]:
    """Cards read from the markup alone (no JSON): by link shape, image alt and the texts' own shapes."""
    cards = []
    for anchor in tree.css("a[href]"):
        href = anchor.attributes.get("href") or ""
        match = _AD_ID_RE.search(href)
        if not match:
            continue
        image = anchor.css_first("img[alt]")
        card = {"listing_id": match.group(1), "url": _absolute(page_url, href),
                "title": clean_text(image.attributes.get("alt")) if image is not None else None,
                "posted_at_exact": False}
        for paragraph in anchor.css("p"):
            text = strip_invisible(paragraph.text(deep=True)) or ""
            if text.startswith("il y a"):
                card["posted_text"] = text
                card["posted_at"] = parse_relative_date_fr(text, now) if now is not None else None
            elif " dans " in text:
                card.update(_where(text))
            elif paragraph.css_first("del") is not None or is_instalment(text):
                continue
            elif _PRICE_TEXT_RE.search(text):
                card.setdefault("price_text", text)
            elif paragraph.attributes.get("title") is None and "seller_name" not in card:
                badge = paragraph.css_first("span")
                card["seller_type"] = "shop" if badge is not None and "Shop" in badge.text() else "private"
                card["seller_name"] = clean_text(text.replace(badge.text(), "") if badge is not None else text)
        for span in anchor.css("span"):
            value = clean_text(span.text(deep=True))
            if value and value.isdigit() and len(value) == 4:
                card["year"] = int(value)
            elif value in _GEARBOXES:
                card["gearbox"] = value
            elif value in _FUELS:
                card["fuel"] = value
        card["price_dh"] = parse_price_dh(card.get("price_text"))
        cards.append(card)
    return cards


_AD_COUNT_RE = re.compile(r"\d[\d ]* annonces?")


def _counts_ads(tree: LexborHTMLParser) -> bool:
    """Whether the markup is a list page by its own words: its count of ads ('663 annonces'), which a page past the
    last one still shows above no cards."""
    return any(_AD_COUNT_RE.fullmatch(clean_text(node.text(deep=True)) or "") for node in tree.css("main p"))


def parse_list_page(html: str | bytes, page_url: str, fetched_at: dt.datetime | None = None) -> ListPage:
    """Cards (listing id, url, title, prices, year, mileage, gearbox, fuel, city, seller, date) and the next URL.

    `html` is the page's text, or its UTF-8 bytes as fetched. Without `__NEXT_DATA__` the cards come from the
    markup; their dates are then relative to `fetched_at`."""
    bounds = _script_bounds(html)
    # the DOM's half of the page (the JSON holds no markup); a cut before "<script" splits no UTF-8 sequence
    markup = page_text(html[:bounds[0]] if bounds else html)
    from_template = _list_markup_from_template(markup, page_url) if bounds else None
    tree = None
    if from_template is not None:
        texts, next_href = from_template
    else:
        texts, tree = None, LexborHTMLParser(markup)
        next_node = tree.css_first('link[rel="next"]')
        next_href = next_node.attributes.get("href") if next_node is not None else None
    next_url = _absolute(page_url, next_href) if next_href else None
    props = _typed_component_props(html, bounds)
    if props is not None and props.ads is not None and props.ads.ads is not None:
        ads = [_typed_ad_fields(ad, page_url) for ad in props.ads.ads]
        return _list_page_of(ads, page_url, texts, tree, markup, next_url, fetched_at)
    html = page_text(html)
    try:
        data = extract_next_data(html)
    except ParseError:
        if looks_truncated(html):
            raise ParseError("truncated page: the document stops before </html>") from None
        tree = tree or LexborHTMLParser(markup)
        cards = _dom_cards(tree, page_url, fetched_at)
        if not cards and not _counts_ads(tree):
            raise  # an empty answer or another page, read as "no ads", would end the walk and lose the day
        return ListPage(cards=cards, next_url=next_url, from_markup=True)
    ads = _value(data, "props", "pageProps", "componentProps", "ads", "ads")
    if not isinstance(ads, list):
        raise ParseError("no ads list in __NEXT_DATA__")
    ads = [_ad_fields(ad, page_url) if isinstance(ad, dict) else None for ad in ads]
    return _list_page_of(ads, page_url, texts, tree, markup, next_url, fetched_at)


def _list_page_of(ads: list[dict | None], page_url: str, texts: dict | None, tree: LexborHTMLParser | None,
                  markup: str, next_url: str | None, fetched_at: dt.datetime | None) -> ListPage:
    """Cards of the payload's ads (their fields, None for an ad that is no object) with the texts the markup shows."""
    if texts is None:
        texts = _card_texts(tree, page_url)
    cards = []
    skipped = []
    for card in ads:
        if card is None or card["listing_id"] is None:
            skipped.append("card_without_id")
            continue
        shown = texts.get(card["url"], {})
        card["price_text"] = shown.get("price_text")
        card["posted_text"] = shown.get("posted_text")
        cards.append(card)
    if not cards and not skipped:
        # the JSON lists no ad while the markup shows some: a stale or stripped payload, the markup is the page
        shown = _dom_cards(tree or LexborHTMLParser(markup), page_url, fetched_at)
        if shown:
            return ListPage(cards=shown, next_url=next_url, from_markup=True)
    return ListPage(cards=cards, next_url=next_url, skipped=skipped)


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


def parse_detail_page(html: str | bytes, page_url: str) -> dict:
    """Every row field the ad page gives, from `adInfo.ad` or, without JSON, from the labelled markup.

    `html` is the page's text, or its UTF-8 bytes as fetched: the usual payload is then read without decoding the
    page."""
    props = _typed_component_props(html, _script_bounds(html))
    if props is not None and props.adInfo is not None and props.adInfo.ad is not None:
        row = _typed_ad_fields(props.adInfo.ad, page_url)
    else:
        html = page_text(html)
        try:
            ad = _find_ad(extract_next_data(html))
        except ParseError:
            if looks_truncated(html):
                raise ParseError("truncated page: the document stops before </html>") from None
            return _dom_detail(html, page_url)
        if ad is None:
            raise ParseError("no ad object in __NEXT_DATA__")
        row = _ad_fields(ad, page_url)
    if row["url"] is None:
        row["url"] = page_url
    return row


# Detail-page label -> (row field, value parser); each attribute's icon has the label as its alt text.
_DOM_LABELS = {
    "Année-Modèle": ("year", parse_int), "Kilométrage": ("mileage_text", strip_invisible),
    "Boite de vitesses": ("gearbox", clean_text), "Type de carburant": ("fuel", clean_text),
    "Marque": ("brand", clean_text), "Modèle": ("model", clean_text), "Puissance fiscale": ("fiscal_power", parse_int),
    "Nombre de portes": ("doors", parse_int), "Origine": ("origin", clean_text), "État": ("condition", clean_text),
    "Première main": ("first_owner", parse_yes_no), "Secteur": ("sector", clean_text),
}
EQUIPMENT_LABELS = frozenset({
    "Jantes aluminium", "Airbags", "Climatisation", "Système de navigation/GPS", "Toit ouvrant", "Sièges cuir",
    "Radar de recul", "Caméra de recul", "Vitres électriques", "ABS", "ESP", "Régulateur de vitesse",
    "Limiteur de vitesse", "CD/MP3/Bluetooth", "Ordinateur de bord", "Verrouillage centralisé à distance",
})


def _dom_detail(html: str, page_url: str) -> dict:
    """Ad page fields from the markup: attributes by icon alt text, price next to the h1, never by class names."""
    tree = LexborHTMLParser(html)
    title = tree.css_first("h1")
    if title is None:
        raise ParseError("neither __NEXT_DATA__ nor an h1: not an avito ad page")
    match = _AD_ID_RE.search(page_url)
    row: dict = {"listing_id": match.group(1) if match else None, "url": page_url,
                 "title": clean_text(title.text(deep=True)), "equipment": []}
    attributes = {}
    for icon in tree.css("img[alt]"):
        label = clean_text(icon.attributes.get("alt"))
        if not label or icon.parent is None:
            continue
        if label in EQUIPMENT_LABELS:
            row["equipment"].append(label)
        elif label in _DOM_LABELS:
            # value and label are glued in the container's text ("2022Année-Modèle"): strip the label span
            value = "".join(node.text(deep=True) for node in icon.parent.iter() if node.text(deep=True) != label)
            attributes[label] = strip_invisible(value)
            field, parse = _DOM_LABELS[label]
            row[field] = parse(value)
    row["attributes"] = attributes or None
    row["mileage_km"] = parse_km(row.get("mileage_text"))
    block = title.parent
    for paragraph in block.css("p") if block is not None else ():
        text = strip_invisible(paragraph.text(deep=True)) or ""
        if paragraph.css_first("del") is None and not is_instalment(text) and "price_text" not in row:
            row["price_text"] = text
            row["price_dh"] = parse_price_dh(text)
    moment = tree.css_first("time[datetime]")
    row["posted_at"] = _iso_utc(moment.attributes.get("datetime")) if moment is not None else None
    for span in tree.css("span"):
        text = span.text(deep=True)
        if " dans " in text and "city" not in row:
            row.update(_where(text))
        elif text in ("Professionnel", "Particulier") and span.parent is not None:
            row["seller_type"] = "shop" if text == "Professionnel" else "private"
            name = span.parent.css_first("p")
            row["seller_name"] = clean_text(name.text(deep=True)) if name is not None else None
    row["image_count"] = len(tree.css("div.picture img"))
    return row
