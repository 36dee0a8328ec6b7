"""Moteur.ma parsers: Bootstrap cards on the list, labelled `detail_line` rows on the ad page."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser

from autolist_assets.sources.schema import ListPage, ParseError
from autolist_assets.sources.template import HEAD, TEXT, VALUE, unescape
from autolist_assets.sources.text import (
    clean_term, clean_text, looks_truncated, page_text, parse_int, parse_km, parse_price_dh, parse_yes_no,
    strip_invisible,
)

_ID_RE = re.compile(r"/detail-annonce/(\d+)")
# Brand and model are separated by two no-break spaces; brands themselves use hyphens, never spaces.
_BRAND_SPLIT_RE = re.compile(r"\u00a0\u00a0+|\s{2,}")
_LIST_ICON_FIELDS = {"icon-normal-calendar-month": "year", "icon-normal-pointer": "city", "icon-fuel": "fuel"}
# The site prints Moroccan wall-clock time.
MOROCCO = ZoneInfo("Africa/Casablanca")
_TIME = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?"
_ISO_DATE_RE = re.compile(rf"^(\d{{4}})-(\d{{1,2}})-(\d{{1,2}}){_TIME}$")
_FR_DATE_RE = re.compile(rf"^(\d{{1,2}})/(\d{{1,2}})/(\d{{4}})(?: à)?{_TIME}$")
_CARD_SELECTOR = "h3.title_mark_model a, a.slide, .PriceListing, .price, li > i"


def listing_id_from_url(url: str) -> str | None:
    """The numeric ad id in `/detail-annonce/<id>/...`."""
    match = _ID_RE.search(url)
    return match.group(1) if match else None


def split_title(raw_title: str) -> tuple[str | None, str | None]:
    """'DACIA\\xa0\\xa0Sandero' -> ('DACIA', 'Sandero'); falls back to the first word as the brand."""
    text = strip_invisible(raw_title) or ""
    parts = _BRAND_SPLIT_RE.split(text, maxsplit=1)
    if len(parts) < 2:
        parts = text.split(None, 1)
    if not parts or not parts[0]:
        return None, None
    return clean_text(parts[0]), clean_text(parts[1]) if len(parts) > 1 else None


@functools.lru_cache(maxsize=1 << 12)  # titles are the brand and the model: a few hundred distinct ones
def _title_parts(raw_title: str) -> tuple[str | None, str | None, str | None]:
    """(title, brand, model) of a card's or an ad page's title text."""
    return (clean_text(raw_title), *split_title(raw_title))


def parse_local_datetime(text: str | None) -> dt.datetime | None:
    """Moteur 'Date' value (local time: '2025-04-29 14:03', '2025-04-29', '29/04/2025') -> tz-aware UTC."""
    value = clean_text(text)
    if not value:
        return None
    match = _ISO_DATE_RE.match(value)
    if match:
        year, month, day, hour, minute, second = match.groups()
    else:
        match = _FR_DATE_RE.match(value)
        if not match:
            return None
        day, month, year, hour, minute, second = match.groups()
    try:
        local = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None
    return (local - _utc_offset(local.year, local.month, local.day, local.hour)).replace(tzinfo=dt.timezone.utc)


@functools.lru_cache(maxsize=1 << 12)
def _utc_offset(year: int, month: int, day: int, hour: int) -> dt.timedelta:
    """Morocco's UTC offset at a local wall-clock hour, as `astimezone` applies it (the clocks change on the hour).

    fold=0: in the hour repeated when Ramadan time starts, the earlier instant is assumed."""
    return dt.datetime(year, month, day, hour, tzinfo=MOROCCO).utcoffset()


@dataclass
class _Card:
    """What a list card shows, as text: both extractors fill it."""

    href: str | None  # the title link's, else the photo link's
    raw_title: str
    price_text: str | None
    meta: dict  # year / city / fuel text, told apart by their icon


def parse_list_page(html: str | bytes, page_url: str) -> ListPage:
    """Cards (id, url, title, brand, model, price, year, city, fuel) and the next page's URL; `html` is the page's
    text, or its UTF-8 bytes as fetched."""
    raw_cards, next_href = _read(html, _list_from_template, _list_from_dom)
    cards = []
    skipped = []
    for raw in raw_cards:
        url = _join(page_url, raw.href) if raw.href else None
        listing_id = listing_id_from_url(url) if url else None
        if listing_id is None:
            skipped.append("card_without_id")
            continue
        title, brand, model = _title_parts(raw.raw_title)
        card = {
            "listing_id": listing_id, "url": url, "title": title, "brand": brand,
            "model": model, "price_text": raw.price_text, "price_dh": parse_price_dh(raw.price_text), **raw.meta,
        }
        if "year" in card:
            card["year"] = _int_term(card["year"])
        cards.append(card)
    return ListPage(cards=cards, next_url=_join(page_url, next_href) if next_href else None, skipped=skipped)


_PLAIN_PATH_RE = re.compile(r"/(?!/)[!$&'()*+,\-./0-9:=@A-Z_a-z~%]*")
_DOT_SEGMENT_RE = re.compile(r"/\.\.?(?:/|$)")


def _join(page_url: str, href: str) -> str:
    """urljoin(page_url, href). The site links with root-relative paths (`/fr/voiture/...`): for a plain one (no
    query, fragment, parameters, empty or dot segments, nothing urljoin would rewrite) the answer is the page's
    origin followed by the path, at a tenth of urljoin's cost (16 links a list page)."""
    if _PLAIN_PATH_RE.fullmatch(href) and "//" not in href and ";" not in href and not _DOT_SEGMENT_RE.search(href):
        return _page_origin(page_url) + href
    return urljoin(page_url, href)


@functools.lru_cache(maxsize=64)
def _page_origin(page_url: str) -> str:
    return urljoin(page_url, "/")[:-1]


@functools.lru_cache(maxsize=256)  # a handful of icon class lists, five on every card
def _icon_field(classes: str) -> str | None:
    # meta items are told apart by their icon, never by position (button texts share the list)
    return next((_LIST_ICON_FIELDS[c] for c in classes.split() if c in _LIST_ICON_FIELDS), None)


def _list_from_dom(html: str) -> tuple[list[_Card], str | None]:
    """The reference extractor: lexbor's DOM, one selector query per card."""
    tree = LexborHTMLParser(html)
    items = tree.css("div.row-item")
    if not items and tree.css_first("div.listing, ul.pagination") is None:
        # an empty answer (or another page) read as "no ads" would end the walk and lose the day quietly
        raise ParseError("not a moteur list page: no cards, no listing block, no pagination")
    cards = []
    for item in items:
        title_node = link = price_node = None
        meta = {}
        # one query per card, dispatched here: selector calls dominate the parse time
        for node in item.css(_CARD_SELECTOR):
            tag = node.tag
            classes = node.attributes.get("class") or ""
            if tag == "i":
                field_name = _icon_field(classes)
                if field_name is not None:
                    meta[field_name] = clean_term(node.parent.text(deep=True))
            elif tag == "a":
                if "slide" in classes.split():
                    link = link or node
                else:
                    title_node = title_node or node
            elif price_node is None:
                price_node = node
        link = title_node or link
        cards.append(_Card(
            href=link.attributes.get("href") if link is not None else None,
            raw_title=title_node.text(deep=True) if title_node is not None else "",
            price_text=strip_invisible(price_node.text(deep=True)) if price_node is not None else None,
            meta=meta,
        ))
    next_node = tree.css_first('a[rel="next"]') or tree.css_first("li.next a")
    return cards, next_node.attributes.get("href") if next_node is not None else None


def _origin(customs_cleared: bool | None, imported_new: bool | None) -> str | None:
    """Map moteur's two yes/no rows to avito's 'Origine' vocabulary."""
    if imported_new:
        return "Importée neuve"
    if customs_cleared is True:
        return "Dédouanée"
    if customs_cleared is False:
        return "Pas encore dédouanée"
    # no customs row at all: a car sold new in Morocco
    return "WW au Maroc" if imported_new is False else None


_DETAIL_SELECTOR = (
    "div.detail_line span, .header_detail h1, .breadcrumb li, div#overview a, div#overview .author-name, "
    "div#overview div.alert-warning, div.price-block, div.option_ad, img[data-u='image']"
)


@dataclass
class _AdPage:
    """What an ad page shows, as text, before any value is interpreted: both extractors fill it."""

    lines: dict = field(default_factory=dict)  # detail_line label -> value text
    raw_title: str | None = None  # the h1 without its city span
    crumbs: list = field(default_factory=list)
    price_text: str | None = None
    options: list = field(default_factory=list)
    seller_type: str = "private"
    seller_name: str | None = None
    phone: str | None = None
    city: str | None = None
    expired: bool = False
    image_count: int = 0


def parse_detail_page(html: str | bytes, page_url: str) -> dict:
    """Every row field the ad page gives (clear-text seller name and phone included); `html` is the page's text, or
    its UTF-8 bytes as fetched."""
    return _ad_row(_read(html, _ad_page_from_template, _ad_page_from_dom), page_url)


def _read(html: str | bytes, from_template, from_dom):
    """What a page shows, read by its whole template when it matches, else by the DOM; a cut page is an error."""
    html = page_text(html)
    shown = from_template(html)  # a page that matches its whole template ends with its </html>
    if shown is not None:
        return shown
    if looks_truncated(html):
        raise ParseError("truncated page: the document stops before </html>")
    return from_dom(html)


def _ad_page_from_dom(html: str) -> _AdPage:
    """The reference extractor: one selector query over lexbor's DOM, whatever the markup looks like."""
    tree = LexborHTMLParser(html)
    page = _AdPage()
    label = header = price_node = None
    # one document-order query for the whole page, dispatched here: each css() call walks the whole DOM
    for node in tree.css(_DETAIL_SELECTOR):
        tag = node.tag
        classes = node.attributes.get("class") or ""
        if tag == "span" and "col-md-6" in classes:
            label = clean_term(node.text(deep=True))  # a value belongs to the label just before it
        elif tag == "span" and "text_bold" in classes and label is not None:
            page.lines[label] = strip_invisible(node.text(deep=True))
            label = None
        elif tag == "h1":
            header = header or node
        elif tag == "li":
            page.crumbs.append(clean_term(node.text(deep=True)))
        elif tag == "img":
            page.image_count += 1
        elif tag == "a":
            _overview_link(page, node.attributes.get("href") or "", node.text(deep=True))
        elif "author-name" in classes:
            if page.seller_name is None:
                page.seller_name = clean_text(node.text(deep=True))
        elif "alert-warning" in classes:
            page.expired = True
        elif "option_ad" in classes:
            page.options.append(clean_term(node.text(deep=True).replace("✔", "")))
        elif "price-block" in classes and price_node is None:
            price_node = node
    if header is None and not page.lines:
        raise ParseError("neither a header nor detail lines: not a moteur ad page")
    if header is not None:
        raw = header.text(deep=True)
        city_span = header.css_first("span")
        page.raw_title = raw.replace(city_span.text(deep=True), "") if city_span is not None else raw
    page.price_text = strip_invisible(price_node.text(deep=True)) if price_node is not None else None
    return page


def _overview_link(page: _AdPage, href: str, text: str) -> None:
    """A link of the seller box: the dealer's stock page, the phone, or the city."""
    if "stock-professionnel" in href:
        page.seller_type, page.seller_name = "shop", clean_text(text)
    elif href.startswith("tel:"):
        page.phone = href[4:]
    elif "ville" in href:
        page.city = clean_term(text)


# The site's templates (see template.py): the page header, then the ad page and the list page.
_T_HEAD = (
    rf'{HEAD}<body><nav class="navbar navbar-default"><a class="navbar-brand" href={VALUE}>{TEXT}</a></nav>'
)
_T_AD_PAGE_RE = re.compile(
    _T_HEAD
    + rf'<div class="container"><ol class="breadcrumb">(?P<crumbs>(?:<li>(?:<a href={VALUE}>{TEXT}</a>|{TEXT})'
    rf"</li>)*+)</ol>"
    rf'<div class="header_detail"><h1>(?P<title>{TEXT})(?:<span class="city">(?P<title_city>{TEXT})</span>)?'
    r"</h1></div>"
    r'<div class="row"><div class="col-md-8"><div id="slider1_container"><div data-u="slides">'
    rf'(?P<slides>(?:<div><img data-u="image" src={VALUE} alt={VALUE}></div>)*+)</div></div>'
    r'<div class="options"><h2>Options</h2><div class="row">'
    rf'(?P<options>(?:<div class="col-md-4 option_ad">{TEXT}</div>)*+)</div>'
    rf'<div class="col-md-12">{TEXT}</div></div></div>'
    rf'<div class="col-md-4"><div class="color_primary text_bold price-block">(?P<price>{TEXT})</div>'
    rf'<div class="detail_ad">(?P<lines>(?:<div class="detail_line"><span class="col-md-6 col-xs-6">{TEXT}</span>'
    rf'<span class="text_bold">{TEXT}</span></div>)*+)</div>'
    rf'<div id="overview">(?P<warning><div class="alert alert-warning">{TEXT}</div>)?'
    r'<div class="author"><i class="icon-normal-user"></i> '
    rf'(?:<a class="author-name" href=(?P<shop_href>{VALUE})>(?P<shop_name>{TEXT})</a>'
    rf'|<span class="author-name">(?P<private_name>{TEXT})</span>)<span class="badge">{TEXT}</span></div>'
    rf'<div class="phone"><i class="icon-normal-checkbox-checked"></i> <a href=(?P<phone_href>{VALUE})>{TEXT}</a>'
    rf'</div><div class="city"><i class="icon-normal-pointer"></i> <a href=(?P<city_href>{VALUE})>'
    rf"(?P<city>{TEXT})</a></div></div></div></div></div></body></html>"
)
_T_CRUMB_RE = re.compile(r"<li>(?:<a [^>]*>)?([^<]*)")
# A matched `lines` group is these lines back to back, and texts hold no "<": split, not searched
_T_LINE_START = '<div class="detail_line"><span class="col-md-6 col-xs-6">'
_T_LINE_MIDDLE = '</span><span class="text_bold">'
_T_LINE_END = "</span></div>"
_T_OPTION_RE = re.compile(r'option_ad">([^<]*)<')


# Labels, most values, breadcrumbs and option names repeat from page to page: each matched text is read once
@functools.lru_cache(maxsize=1 << 12)
def _detail_line(line: str) -> tuple[str, str]:
    """(label, value) of one matched line without its start: 'Carburant</span><span ...>Diesel</span></div>'."""
    label, _, value = line[:-len(_T_LINE_END)].partition(_T_LINE_MIDDLE)
    return clean_term(unescape(label)), strip_invisible(unescape(value))


@functools.lru_cache(maxsize=1 << 10)
def _term(text: str) -> str:
    return clean_term(unescape(text))


@functools.lru_cache(maxsize=1 << 10)
def _option(text: str) -> str:
    return clean_term(unescape(text).replace("✔", ""))


def _ad_page_from_template(html: str) -> _AdPage | None:
    """The ad page's texts read from a whole-template match, or None when the page is not exactly the template."""
    match = _T_AD_PAGE_RE.fullmatch(html)  # its groups read by name: a groupdict would copy all of them
    if match is None:
        return None
    page = _AdPage(
        lines=dict(map(_detail_line, match["lines"].split(_T_LINE_START)[1:])),
        crumbs=list(map(_term, _T_CRUMB_RE.findall(match["crumbs"]))),
        price_text=strip_invisible(unescape(match["price"])),
        options=list(map(_option, _T_OPTION_RE.findall(match["options"]))),
        expired=match["warning"] is not None,
        image_count=match["slides"].count("<img "),
    )
    title, title_city = unescape(match["title"]), unescape(match["title_city"] or "")
    page.raw_title = (title + title_city).replace(title_city, "")  # as the DOM extractor strips the city span
    if match["shop_href"] is not None:
        _overview_link(page, unescape(match["shop_href"][1:-1]), unescape(match["shop_name"]))
    else:
        page.seller_name = clean_text(unescape(match["private_name"]))
    _overview_link(page, unescape(match["phone_href"][1:-1]), "")
    _overview_link(page, unescape(match["city_href"][1:-1]), unescape(match["city"]))
    return page


_T_LIST_PAGE_RE = re.compile(
    _T_HEAD
    + rf'<div class="container"><h1>{TEXT}</h1><p class="count">{TEXT}</p><div class="listing">'
    r'(?P<cards>(?:<div class="row-item row-item-checkout link">'
    rf'<div class="col-md-4 col-sm-4 col-xs-12"><a class="slide" href={VALUE}><img src={VALUE} alt={VALUE}></a></div>'
    rf'<div class="col-md-8 col-sm-8 col-xs-12"><h3 class="title_mark_model"><a href={VALUE}>{TEXT}</a></h3>'
    rf'<div class="PriceListing">{TEXT}</div><ul class="list-inline meta">'
    rf'(?:<li(?: class={VALUE})?><i class={VALUE}></i>{TEXT}</li>)*+'
    rf"<li><a class=\"btn btn-primary\" href={VALUE}>{TEXT}</a></li></ul></div></div>)*+)</div>"
    rf'<ul class="pagination">(?P<pages>(?:<li class={VALUE}><a(?: rel={VALUE})?(?: href={VALUE})?>{TEXT}</a></li>)*+)'
    r"</ul></div></body></html>"
)
_T_CARD_RE = re.compile(
    r'<a class="slide" href="([^"]*)"><img [^>]*></a></div><div [^>]*><h3 class="title_mark_model"><a href="([^"]*)">'
    r'([^<]*)</a></h3><div class="PriceListing">([^<]*)</div><ul class="list-inline meta">((?:<li[^>]*><i [^>]*></i>'
    r"[^<]*</li>)*)")
_T_META_RE = re.compile(r'<i class="([^"]*)"></i>([^<]*)<')
_T_NEXT_RE = re.compile(r'<li class="([^"]*)"><a(?: rel="([^"]*)")?(?: href="([^"]*)")?>')


def _list_from_template(html: str) -> tuple[list[_Card], str | None] | None:
    """A list page's cards read from a whole-template match, or None when the page is not exactly the template."""
    match = _T_LIST_PAGE_RE.fullmatch(html)
    if match is None:
        return None
    cards = []
    for slide_href, title_href, title, price, meta_items in _T_CARD_RE.findall(match["cards"]):
        meta = {}
        for classes, text in _T_META_RE.findall(meta_items):
            field_name = _icon_field(classes)
            if field_name is not None:
                meta[field_name] = _term(text)
        cards.append(_Card(href=unescape(title_href or slide_href), raw_title=unescape(title),
                           price_text=strip_invisible(unescape(price)), meta=meta))
    links = _T_NEXT_RE.findall(match["pages"])
    # as the DOM extractor: the first a[rel="next"], else the first li.next's link
    chosen = next((link for link in links if link[1] == "next"), None) \
        or next((link for link in links if "next" in link[0].split()), None)
    next_href = unescape(chosen[2]) if chosen is not None and chosen[2] else None
    return cards, next_href


# Years, powers, door counts and "Oui"/"Non" (str, or None when a line is missing) are a small vocabulary: parse_int
# and parse_yes_no cached, as clean_term caches clean_text
_int_term = functools.lru_cache(maxsize=1 << 10)(parse_int)
_yes_no_term = functools.lru_cache(maxsize=1 << 6)(parse_yes_no)


def _ad_row(page: _AdPage, page_url: str) -> dict:
    """The warehouse row of one ad page, from its texts."""
    brand = model = title = None
    if page.raw_title is not None:
        title, brand, model = _title_parts(page.raw_title)
    if brand is None and len(page.crumbs) >= 4:  # Accueil > Voiture occasion > BRAND > Model
        brand, model = page.crumbs[-2], page.crumbs[-1]
    lines = page.lines
    return {
        "listing_id": listing_id_from_url(page_url),
        "url": page_url,
        "title": title,
        "brand": brand,
        "model": model,
        "price_text": page.price_text,
        "price_dh": parse_price_dh(page.price_text),
        "year": _int_term(lines.get("Année")),
        "mileage_text": lines.get("Kilométrage"),
        "mileage_km": parse_km(lines.get("Kilométrage")),
        "fuel": clean_term(lines.get("Carburant")),
        "gearbox": clean_term(lines.get("Boite de vitesses")),
        "fiscal_power": _int_term(lines.get("Puissance fiscale")),
        "doors": _int_term(lines.get("Nombre de portes")),
        "origin": _origin(_yes_no_term(lines.get("Véhicule dédouané")), _yes_no_term(lines.get("Importé neuf"))),
        "first_owner": _yes_no_term(lines.get("Première main")),
        "city": page.city,
        "seller_type": page.seller_type,
        "seller_name": page.seller_name,
        "seller_phone": page.phone,
        "posted_at": parse_local_datetime(lines.get("Date")),
        "image_count": page.image_count,
        "equipment": [option for option in page.options if option],
        "is_car": "/voiture/" in page_url,
        "ad_status": "expired" if page.expired else "active",
        "attributes": dict(lines),
    }
