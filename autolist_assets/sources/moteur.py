"""Moteur.ma parsers: Bootstrap cards on the list, labelled `detail_line` rows on the ad page."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from selectolax.lexbor import LexborHTMLParser

from autolist_assets.sources.schema import ListPage, ParseError
from autolist_assets.sources.text import (
    clean_term, clean_text, looks_truncated, parse_int, parse_km, parse_price_dh, parse_yes_no, strip_invisible,
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
        local = dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                            tzinfo=MOROCCO)
    except ValueError:
        return None
    # fold=0: in the hour repeated when Ramadan time starts, the earlier instant is assumed
    return local.astimezone(dt.timezone.utc)


def parse_list_page(html: str, page_url: str) -> ListPage:
    """Cards (id, url, title, brand, model, price, year, city, fuel) and the next page's URL."""
    if looks_truncated(html):
        raise ParseError("truncated page: the document stops before </html>")
    tree = LexborHTMLParser(html)
    cards = []
    skipped = []
    items = tree.css("div.row-item")
    if not items and tree.css_first("div.listing, ul.pagination") is None:
        # an empty answer (or another page) read as "no ads" would end the walk and lose the day quietly
        raise ParseError("not a moteur list page: no cards, no listing block, no pagination")
    for item in items:
        title_node = link = price_node = None
        meta = {}
        # one query per card, dispatched here: selector calls dominate the parse time
        for node in item.css(_CARD_SELECTOR):
            tag = node.tag
            classes = node.attributes.get("class") or ""
            if tag == "i":
                # meta items are told apart by their icon, never by position (button texts share the list)
                field = next((_LIST_ICON_FIELDS[c] for c in classes.split() if c in _LIST_ICON_FIELDS), None)
                if field is not None:
                    meta[field] = clean_term(node.parent.text(deep=True))
            elif tag == "a":
                if "slide" in classes.split():
                    link = link or node
                else:
                    title_node = title_node or node
            elif price_node is None:
                price_node = node
        link = title_node or link
        href = link.attributes.get("href") if link is not None else None
        url = urljoin(page_url, href) if href else None
        listing_id = listing_id_from_url(url) if url else None
        if listing_id is None:
            skipped.append("card_without_id")
            continue
        raw_title = title_node.text(deep=True) if title_node is not None else ""
        brand, model = split_title(raw_title)
        price_text = strip_invisible(price_node.text(deep=True)) if price_node is not None else None
        card = {
            "listing_id": listing_id, "url": url, "title": clean_text(raw_title), "brand": brand,
            "model": model, "price_text": price_text, "price_dh": parse_price_dh(price_text), **meta,
        }
        if "year" in card:
            card["year"] = parse_int(card["year"])
        cards.append(card)
    next_node = tree.css_first('a[rel="next"]') or tree.css_first("li.next a")
    next_href = next_node.attributes.get("href") if next_node is not None else None
    return ListPage(cards=cards, next_url=urljoin(page_url, next_href) if next_href else None, skipped=skipped)


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


def parse_detail_page(html: str, page_url: str) -> dict:
    """Every row field the ad page gives (clear-text seller name and phone included)."""
    if looks_truncated(html):
        raise ParseError("truncated page: the document stops before </html>")
    tree = LexborHTMLParser(html)
    lines = {}
    label = header = price_node = None
    crumbs, options = [], []
    seller_name = phone = city = None
    seller_type = "private"
    expired = False
    image_count = 0
    # one document-order query for the whole page, dispatched here: each css() call walks the whole DOM
    for node in tree.css(_DETAIL_SELECTOR):
        tag = node.tag
        classes = node.attributes.get("class") or ""
        if tag == "span" and "col-md-6" in classes:
            label = clean_term(node.text(deep=True))  # a value belongs to the label just before it
        elif tag == "span" and "text_bold" in classes and label is not None:
            lines[label] = strip_invisible(node.text(deep=True))
            label = None
        elif tag == "h1":
            header = header or node
        elif tag == "li":
            crumbs.append(clean_term(node.text(deep=True)))
        elif tag == "img":
            image_count += 1
        elif tag == "a":
            href = node.attributes.get("href") or ""
            if "stock-professionnel" in href:
                seller_type, seller_name = "shop", clean_text(node.text(deep=True))
            elif href.startswith("tel:"):
                phone = href[4:]
            elif "ville" in href:
                city = clean_term(node.text(deep=True))
        elif "author-name" in classes:
            if seller_name is None:
                seller_name = clean_text(node.text(deep=True))
        elif "alert-warning" in classes:
            expired = True
        elif "option_ad" in classes:
            options.append(clean_term(node.text(deep=True).replace("✔", "")))
        elif "price-block" in classes and price_node is None:
            price_node = node
    if header is None and not lines:
        raise ParseError("neither a header nor detail lines: not a moteur ad page")

    title = brand = model = None
    if header is not None:
        raw = header.text(deep=True)
        city_span = header.css_first("span")
        if city_span is not None:
            raw = raw.replace(city_span.text(deep=True), "")
        brand, model = split_title(raw)
        title = clean_text(raw)
    if brand is None and len(crumbs) >= 4:  # Accueil > Voiture occasion > BRAND > Model
        brand, model = crumbs[-2], crumbs[-1]
    price_text = strip_invisible(price_node.text(deep=True)) if price_node is not None else None

    return {
        "listing_id": listing_id_from_url(page_url),
        "url": page_url,
        "title": title,
        "brand": brand,
        "model": model,
        "price_text": price_text,
        "price_dh": parse_price_dh(price_text),
        "year": parse_int(lines.get("Année")),
        "mileage_text": lines.get("Kilométrage"),
        "mileage_km": parse_km(lines.get("Kilométrage")),
        "fuel": clean_text(lines.get("Carburant")),
        "gearbox": clean_text(lines.get("Boite de vitesses")),
        "fiscal_power": parse_int(lines.get("Puissance fiscale")),
        "doors": parse_int(lines.get("Nombre de portes")),
        "origin": _origin(parse_yes_no(lines.get("Véhicule dédouané")), parse_yes_no(lines.get("Importé neuf"))),
        "first_owner": parse_yes_no(lines.get("Première main")),
        "city": city,
        "seller_type": seller_type,
        "seller_name": seller_name,
        "seller_phone": phone,
        "posted_at": parse_local_datetime(lines.get("Date")),
        "image_count": image_count,
        "equipment": [option for option in options if option],
        "is_car": "/voiture/" in page_url,
        "ad_status": "expired" if expired else "active",
        "attributes": {label: value for label, value in lines.items()},
    }
