"""Avito.ma look-alike: Next.js pages carrying `__NEXT_DATA__` JSON plus styled-components markup."""

from __future__ import annotations

import datetime as dt
import functools
import re
from html import escape
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from demo_market import catalog
from demo_market.market import Listing, Market
from demo_market.pages import (
    HTML, NNBSP, Page, esc, group_thousands, gone, html_page, not_found, relative_date_fr, robots_txt, stable_int,
)

LIST_PATH = "/fr/maroc/voitures_d_occasion-%C3%A0_vendre"
_LIST_PATH_DECODED = unquote(LIST_PATH)
CATEGORY = {"id": 1010, "name": "Voitures d'occasion", "formatted": "Voitures d'occasion, à vendre"}
CATEGORIES = {
    "Voitures d'occasion": CATEGORY,
    "Voitures de location": {"id": 1020, "name": "Voitures de location", "formatted": "Voitures de location, à louer"},
    "Motos": {"id": 1030, "name": "Motos", "formatted": "Motos, à vendre"},
}
_DETAIL_PATH_RE = re.compile(r"^/fr/[^/]+/(?:voitures_d_occasion|voitures_de_location|motos)/[^/]*_(\d+)\.htm$")
BUILD_ID = "demo-market-avito-1"

_CITY_IDS = {city.name: 5 + index for index, city in enumerate(catalog.CITIES)}


def _format_price(price_dh: int) -> str:
    return f"{group_thousands(price_dh, NNBSP)} DH"


def _shown_price(listing: Listing, now: dt.datetime) -> tuple[int | None, int | None, str]:
    """(JSON price value, JSON old price, displayed text) as the site shows them at `now`."""
    price, old = Market.asking_price(listing, now)
    if listing.price_shown == "1 DH":
        return 1, None, "1 DH"
    if listing.price_shown is not None:
        return None, None, listing.price_shown
    return price, old, _format_price(price)


def _mileage_display(listing: Listing) -> str:
    return listing.mileage_bucket or f"{group_thousands(listing.mileage_km, NNBSP)} km"


def _iso(moment: dt.datetime) -> str:
    # Next.js serialises dates as JavaScript does: milliseconds and a Z suffix (isoformat costs a third of strftime)
    if moment.tzinfo is not dt.timezone.utc:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.isoformat(timespec="seconds")[:19] + ".000Z"


def _param(key: str, label: str, value: str, full_value: str | None = None) -> dict:
    return {"key": key, "label": label, "value": value, "fullValue": full_value if full_value is not None else value}


def _images(listing: Listing, base: str) -> list[str]:
    prefix = f"{base}/static/images/{listing.listing_id}_"
    return [f"{prefix}{i}.jpg" for i in range(listing.image_count)]


def _list_params(listing: Listing) -> list[dict]:
    if listing.mileage_bucket is not None:
        mileage = _param("mileage", "Kilométrage", listing.mileage_bucket)  # older ads: the bucket only
    else:
        mileage = _param("mileage_exact", "Kilométrage", str(listing.mileage_km), _mileage_display(listing))
    params = [_param("regdate", "Année-Modèle", str(listing.year)), mileage]
    if listing.gearbox is not None:
        params.append(_param("bv", "Boite de vitesses", listing.gearbox))
    return params + [_param("fuel", "Type de carburant", listing.fuel)]


def _detail_params(listing: Listing) -> dict[str, list[dict]]:
    secondary = [] if listing.doors is None else [_param("doors", "Nombre de portes", str(listing.doors))]
    secondary += [
        _param("v_origin", "Origine", listing.origin),
        _param("auto_condition", "État", listing.condition),
        _param("first_owner", "Première main", "1" if listing.first_owner else "0",
               "Oui" if listing.first_owner else "Non"),
    ]
    if listing.sector is not None:
        # the sector hides behind a purely numeric key (the city id)
        secondary.append(_param(str(_CITY_IDS[listing.city]), "Secteur", listing.sector))
    owned = set(listing.equipment)
    extra = [with_it if label in owned else without for label, with_it, without in _EQUIPMENT_PARAMS]
    primary = _list_params(listing) + [
        _param("brand", "Marque", listing.brand),
        _param("model", "Modèle", listing.model),
    ]
    if listing.fiscal_power is not None:
        primary.append(_param("pfiscale", "Puissance fiscale", f"{listing.fiscal_power} CV"))
    return {"primary": primary, "secondary": secondary, "extra": extra}


# The equipment flags' params are the same few dicts on every ad page (orjson only reads them)
_EQUIPMENT_PARAMS = [(label, _param(key, label, "1", "Oui"), _param(key, label, "0", "Non"))
                     for key, label in catalog.EQUIPMENT]


def _seller(listing: Listing, with_phone: bool) -> dict:
    seller = {
        "id": str(stable_int(f"{listing.seller_name}:{listing.seller_phone}", 9_000_000) + 1_000_000),
        "type": "STORE" if listing.seller_type == "shop" else "PRIVATE",
        "name": listing.seller_name,
        "isVerifiedSeller": listing.seller_type == "shop",
    }
    if with_phone:
        seller["phone"] = {"number": listing.seller_phone, "verified": True}
        seller["address"] = listing.city if listing.seller_type == "shop" else None
        seller["website"] = None
        seller["badges"] = [{"key": "shop"}] if listing.seller_type == "shop" else []
        seller["activeListingsCount"] = 5 + stable_int(listing.seller_name, 120) if listing.seller_type == "shop" \
            else 1
    return seller


def _ad_json(listing: Listing, base: str, detail: bool, now: dt.datetime) -> dict:
    images = _images(listing, base)
    price, old_price, _ = _shown_price(listing, now)
    category = CATEGORIES[listing.category]
    posted = _iso(listing.posted_at)
    ad = {
        "id": str(int(listing.listing_id) + 9_000_000_000),  # internal id, not the one in the URL
        "listId": int(listing.listing_id),
        "href": base + listing.url_path,
        "subject": listing.title,
        "category": category,
        "adType": {"key": "let", "label": "à louer"} if listing.category == "Voitures de location"
        else {"key": "sell", "label": "à vendre"},
        "price": {"value": price, "currency": "DH"},
        "oldPrice": {"value": old_price, "currency": "DH"} if old_price else None,
        "monthlyPayment": {"value": listing.monthly_payment_dh, "currency": "DH"} if listing.monthly_payment_dh
        else None,
        "location": listing.city,
        "cityId": _CITY_IDS[listing.city],
        "areaId": _CITY_IDS[listing.city] * 100 + stable_int(listing.sector or "", 97),
        "date": posted,
        "isPremium": False,
        "isUrgent": False,
        "isHotDeal": False,
        "isShop": listing.seller_type == "shop",
        "isCarChecked": False,
        "isDelivery": False,
        "isHighlighted": False,
        "discount": None,
        "hasShipping": False,
        "isEcommerce": False,
        "defaultImage": images[0] if images else None,
        "images": images,
        "seller": _seller(listing, with_phone=detail),
        "params": {"primary": _list_params(listing)},
    }
    if detail:
        ad.update({
            "description": _description(listing),
            "params": _detail_params(listing),
            "listTime": posted,
            "videos": [],
            "isPhoneHidden": False,
            "isPhoneVerified": True,
            "phone": listing.seller_phone,
        })
    return ad


def _description(listing: Listing) -> str:
    sentences = catalog.DESCRIPTION_SENTENCES
    start = stable_int(listing.listing_id, len(sentences))
    chosen = [sentences[(start + step * 3) % len(sentences)] for step in range(3)]
    return f"{listing.brand} {listing.model} {listing.year}. " + " ".join(chosen)


def _next_data(page: str, query: dict, component_props: dict) -> bytes:
    payload = {
        "props": {"pageProps": {"componentProps": component_props}, "__N_SSP": True},
        "page": page,
        "query": query,
        "buildId": BUILD_ID,
        "isFallback": False,
        "gssp": True,
        "locale": "fr",
    }
    # "</" would end the script element early
    # compact UTF-8 as Next.js prints it; orjson writes the same bytes as json.dumps in a tenth of the time, and
    # they go into the page as they are: the payload is most of the page, so it is never decoded and encoded again
    data = orjson.dumps(payload).replace(b"</", b"<\\/")
    return b'<script id="__NEXT_DATA__" type="application/json">' + data + b"</script>"


def _head(title: str, extra: str = "") -> str:
    return (
        f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{extra}</head>"
    )


def _card(listing: Listing, base: str, now: dt.datetime) -> str:
    image = f"{base}/static/images/{listing.listing_id}_0.jpg" if listing.image_count else ""
    where = listing.city if listing.sector is None else f"{listing.city}, {listing.sector}"
    seller = esc(listing.seller_name) + ("<span>ShopBadge Icon</span>" if listing.seller_type == "shop" else "")
    _, old_price, price_text = _shown_price(listing, now)
    tags = "".join(f'<span class="sc-1s278lr-0 cAiIZZ">{esc(str(value))}</span>'
                   for value in (listing.year, listing.gearbox, listing.fuel) if value is not None)
    extra = ""
    if old_price:
        extra += f'<p class="sc-1x0vz2r-0 eCXWei"><del>{_format_price(old_price)}</del></p>'
    if listing.monthly_payment_dh:
        # the instalment sits right under the price: a classic trap for DOM scrapers
        extra += f'<p class="sc-1x0vz2r-0 fGhYtR">{group_thousands(listing.monthly_payment_dh, NNBSP)} DH / mois</p>'
    return (
        f'<a class="sc-1jge648-0 jZXrfL" href="{esc(base + listing.url_path)}">'
        f'<div class="sc-1lb3x1r-0 fvqyBS"><img class="sc-1lb3x1r-3 bYhClO" data-src="{esc(image)}" '
        f'src="{esc(image)}" alt="{esc(listing.title)}"></div>'
        '<div class="sc-b57yxx-1 kvkjRr">'
        f'<p class="sc-1x0vz2r-0 layWaX">{relative_date_fr(listing.posted_at, now)}</p>'
        f'<p class="sc-1x0vz2r-0 hNCqYw">{seller}</p>'
        f'<p class="sc-1x0vz2r-0 iHApav" title="{esc(listing.title)}">{esc(listing.title)}</p>'
        f'<p class="sc-1x0vz2r-0 kQHNss">{esc(listing.category)} dans {esc(where)}</p>'
        f'<div class="sc-b57yxx-3 gqCrWy">{tags}</div>'
        f'<p class="sc-1x0vz2r-0 dJAfqm">{esc(price_text)}</p>{extra}'
        "</div></a>"
    )


def _list_is_dom_only(market: Market, page_number: int) -> bool:
    """Some deployments render a list page without its JSON; which pages is fixed per day and page."""
    share = market.config.faults.dom_only
    return share > 0 and stable_int(f"{market.today}:{page_number}", 10_000) < share * 10_000


def render_list(market: Market, base: str, page_number: int) -> Page:
    """List page `?o=page_number`: newest ads first, `<link rel="next">` only when more exist."""
    now = market.now()
    size = market.config.avito_page_size
    start = (page_number - 1) * size
    ads, total = market.feed_window("avito", start, size, now)
    list_url = base + LIST_PATH
    has_next = start + size < total
    links = f'<link rel="canonical" href="{esc(list_url)}' + (f"?o={page_number}" if page_number > 1 else "") + '">'
    if page_number > 1:
        links += f'<link rel="prev" href="{esc(list_url)}' + (f"?o={page_number - 1}" if page_number > 2 else "") \
            + '">'
    if has_next:
        links += f'<link rel="next" href="{esc(list_url)}?o={page_number + 1}">'
    component_props = {
        "ads": {
            "ads": [_ad_json(ad, base, detail=False, now=now) for ad in ads],
            "totalListingAds": total,
            "pageSize": size,
            "currentPage": page_number,
        }
    }
    markup = (
        _head("Voitures d'occasion à vendre au Maroc | Avito", links)
        + '<body><div id="__next"><header class="sc-1wrdc9z-0"><a href="/fr/">Avito</a></header><main>'
        f'<h1 class="sc-1x0vz2r-0 kOxYfC">Voitures d\'occasion au Maroc</h1>'
        f'<p class="sc-1x0vz2r-0 bmtUYd">{group_thousands(total, NNBSP)} annonces</p>'
        '<div class="sc-1nre5ec-1 crKvIr listing">'
        + "".join(_card(ad, base, now) for ad in ads)
        + "</div></main></div>"
    )
    payload = b"" if _list_is_dom_only(market, page_number) else _next_data(
        "/[lang]/[city]/[category]", {"lang": "fr", "city": "maroc", "o": str(page_number)}, component_props)
    return Page(200, HTML, markup.encode("utf-8") + payload + b"</body></html>")


def _attribute(label: str, value: str) -> str:
    before, after = _attribute_markup(label)
    return before + esc(value) + after


@functools.lru_cache(maxsize=64)  # a dozen labels
def _attribute_markup(label: str) -> tuple[str, str]:
    """An attribute block's markup before and after its value."""
    return (
        f'<div class="sc-19cngu6-1 doRGIC"><img alt="{esc(label)}" src="/static/icons/{stable_int(label, 999)}.svg">'
        '<span class="sc-1x0vz2r-0 jZyObG">',
        f'</span><span class="sc-1x0vz2r-0 bXFCIH">{esc(label)}</span></div>',
    )


# An equipment flag's block, by label: the same few on every ad page
_EQUIPMENT_MARKUP = {
    label: f'<div class="sc-19cngu6-1 doRGIC"><img alt="{esc(label)}" src="/static/icons/{key}.svg">'
           f'<span class="sc-1x0vz2r-0 bXFCIH">{esc(label)}</span></div>'
    for key, label in catalog.EQUIPMENT
}


_VOIR_PLUS = (
    '<button type="button" class="sc-ij98yj-1 hXkTzQ" onclick="var b=this.previousElementSibling;'
    "b.dataset.expanded='true';b.style.maxHeight='none';this.remove()\">Voir plus</button>"
)


def render_detail(market: Market, base: str, listing: Listing) -> Page:
    """Ad page: `adInfo.ad` JSON with every param, plus an attribute block with labelled icons."""
    now = market.now()
    ad = _ad_json(listing, base, detail=True, now=now)
    _, old_price, price_text = _shown_price(listing, now)
    attributes = [
        ("Année-Modèle", str(listing.year)),
        ("Boite de vitesses", listing.gearbox),
        ("Type de carburant", listing.fuel),
        ("Kilométrage", _mileage_display(listing)),
        ("Marque", listing.brand),
        ("Modèle", listing.model),
        ("Nombre de portes", None if listing.doors is None else str(listing.doors)),
        ("Origine", listing.origin),
        ("Première main", "Oui" if listing.first_owner else "Non"),
        ("Puissance fiscale", None if listing.fiscal_power is None else f"{listing.fiscal_power} CV"),
        ("État", listing.condition),
    ]
    attributes = [(label, value) for label, value in attributes if value is not None]
    if listing.sector is not None:
        attributes.append(("Secteur", listing.sector))
    equipment = "".join(map(_EQUIPMENT_MARKUP.__getitem__, listing.equipment))
    pictures = "".join(f'<img src="{url}" alt="">' for url in map(escape, ad["images"]))
    where = listing.city if listing.sector is None else f"{listing.city}, {listing.sector}"
    seller_kind = "Professionnel" if listing.seller_type == "shop" else "Particulier"
    price_block = f'<p class="sc-1x0vz2r-0 lnEFFR">{esc(price_text)}</p>'
    if old_price:
        price_block += f'<p class="sc-1x0vz2r-0 eCXWei"><del>{_format_price(old_price)}</del></p>'
    if listing.monthly_payment_dh:
        price_block += (f'<p class="sc-1x0vz2r-0 fGhYtR">À partir de {group_thousands(listing.monthly_payment_dh, NNBSP)}'
                        " DH / mois</p>")
    markup = (
        _head(f"{listing.title} | Avito", f'<link rel="canonical" href="{esc(base + listing.url_path)}">')
        + '<body><div id="__next"><main class="sc-1g3sn3w-0">'
        f'<div class="picture sc-1gjavk-0 eKdjdf">{pictures}</div>'
        '<div class="sc-1g3sn3w-9 kvOteW">'
        f'<h1 class="sc-1g3sn3w-12 jUtCZM">{esc(listing.title)}</h1>'
        f'<div class="sc-1g3sn3w-10 leGvyq">{price_block}</div>'
        f'<div class="sc-1g3sn3w-7 bNWHpB"><span>{esc(listing.category)} dans {esc(where)}</span>'
        f'<time datetime="{ad["listTime"]}">{relative_date_fr(listing.posted_at, now)}</time></div></div>'
        f'<div class="sc-19cngu6-0 dnArJl">{"".join(_attribute(label, value) for label, value in attributes)}</div>'
        # equipment folds behind "Voir plus", as on the live site; the click is scripted, so only a browser opens it
        f'<div class="sc-19cngu6-2 eJzAYn" data-expanded="false" style="max-height:0;overflow:hidden">{equipment}</div>'
        + (_VOIR_PLUS if equipment else "")
        + f'<div class="sc-ij98yj-0 fAYGMO"><h2>Description</h2><p>{esc(ad["description"])}</p></div>'
        f'<div class="sc-1l0do2b-0 seller"><p class="sc-1x0vz2r-0 hNCqYw">{esc(listing.seller_name)}</p>'
        f"<span>{seller_kind}</span></div>"
        "</main></div>"
    )
    payload = b"" if listing.dom_only else _next_data(
        "/[lang]/[city]/[category]/[subject]", {"lang": "fr", "id": listing.listing_id}, {"adInfo": {"ad": ad}})
    return Page(200, HTML, markup.encode("utf-8") + payload + b"</body></html>")


def handle(market: Market, raw_path: str, base: str) -> Page:
    """Route one GET request of the avito look-alike."""
    parts = urlsplit(raw_path)
    path = unquote(parts.path)
    if path == "/robots.txt":
        return robots_txt(("/fr/account/", "/fr/ajouter-une-annonce", "/api/"))
    if path.rstrip("/") == _LIST_PATH_DECODED:
        values = parse_qs(parts.query).get("o", ["1"])
        page_number = int(values[0]) if values[0].isdigit() and int(values[0]) > 0 else 1
        return render_list(market, base, page_number)
    match = _DETAIL_PATH_RE.match(parts.path)
    if match:
        listing = market.find("avito", match.group(1))
        if listing is not None and listing.gone_status is not None:
            return gone(listing.gone_status, "Avito")
        if listing is not None:
            return render_detail(market, base, listing)
    if path in ("/", "/fr", "/fr/"):
        return html_page(_head("Avito.ma") + f'<body><a href="{LIST_PATH}">Voitures d\'occasion</a></body></html>')
    return not_found("Avito")
