"""Moteur.ma look-alike: server-rendered Bootstrap pages with offset pagination and `detail_line` rows."""

from __future__ import annotations

import functools
import re
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from demo_market import catalog
from demo_market.market import Listing, Market, slug_moteur
from demo_market.pages import NBSP, ZWSP, Page, esc, group_thousands, gone, html_page, not_found, robots_txt, stable_int

LIST_PATH = "/fr/voiture/achat-voiture-occasion/"
_LIST_RE = re.compile(r"^/fr/voiture/achat-voiture-occasion(?:/(\d+))?/?$")
_DETAIL_RE = re.compile(r"^/fr/voiture/achat-voiture-occasion/detail-annonce/(\d+)(?:/[^/]*)?/?$")
# moteur prints local wall-clock time
MOROCCO = ZoneInfo("Africa/Casablanca")
EXPIRED_WARNING = ('<div class="alert alert-warning">Cette annonce a expiré : le vendeur ne l\'a pas renouvelée, '
                   "le véhicule n'est peut-être plus disponible.</div>")
_MODEL_BY_NAME = {(m.brand, m.name): m for m in catalog.MODELS}


def _format_price(price_dh: int) -> str:
    return f"{group_thousands(price_dh, ' ')} Dhs"


def _price_text(listing: Listing, now) -> str:
    return listing.price_shown or _format_price(Market.asking_price(listing, now)[0])


def _title_html(listing: Listing) -> str:
    # brand and model are separated by two no-break spaces on the real site
    return f"{esc(catalog.moteur_brand_display(listing.brand))}{NBSP}{NBSP}{esc(listing.model)}"


def _head(title: str, extra: str = "") -> str:
    return (
        f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        '<link rel="stylesheet" href="/css/bootstrap.min.css">'
        f"{extra}</head><body>"
        '<nav class="navbar navbar-default"><a class="navbar-brand" href="/fr/">Moteur.ma</a></nav>'
    )


def _card(listing: Listing, now) -> str:
    city = catalog.moteur_city_display(listing.city)
    return (
        '<div class="row-item row-item-checkout link">'
        f'<div class="col-md-4 col-sm-4 col-xs-12"><a class="slide" href="{esc(listing.url_path)}">'
        f'<img src="/media/cache/{listing.listing_id}_0.jpg" alt=""></a></div>'
        '<div class="col-md-8 col-sm-8 col-xs-12">'
        f'<h3 class="title_mark_model"><a href="{esc(listing.url_path)}">{_title_html(listing)}</a></h3>'
        f'<div class="PriceListing">{esc(_price_text(listing, now))}</div>'
        '<ul class="list-inline meta">'
        f'<li><i class="icon-normal-calendar-month"></i> {listing.year}</li>'
        f'<li><i class="icon-normal-pointer"></i> {esc(city)}</li>'
        f'<li><i class="icon-fuel"></i> {listing.fuel}</li>'
        '<li class="btn-callback"><i class="icon-normal-phone"></i> Se faire rappeler</li>'
        "<li class=\"btn-boost\"><i class=\"icon-normal-rocket\"></i> Booster l'annonce</li>"
        f"<li><a class=\"btn btn-primary\" href=\"{esc(listing.url_path)}\">Afficher l'annonce</a></li>"
        "</ul></div></div>"
    )


def render_list(market: Market, offset: int) -> Page:
    """List page at `offset`: newest ads first, a `rel="next"` pagination link when more exist."""
    now = market.now()
    size = market.config.moteur_page_size
    ads, total = market.feed_window("moteur", offset, size, now)
    pages = []
    if offset > 0:
        previous = max(0, offset - size)
        pages.append(f'<li class="prev"><a rel="prev" href="{LIST_PATH}{previous or ""}">«</a></li>')
    pages.append(f'<li class="active"><a>{offset // size + 1}</a></li>')
    if offset + size < total:
        pages.append(f'<li class="next"><a rel="next" href="{LIST_PATH}{offset + size}">»</a></li>')
    body = (
        _head("Voiture occasion Maroc : achat voiture d'occasion | Moteur.ma")
        + '<div class="container"><h1>Voitures d\'occasion au Maroc</h1>'
        f'<p class="count">{group_thousands(total, " ")} annonces</p>'
        '<div class="listing">'
        + "".join(_card(ad, now) for ad in ads)
        + f'</div><ul class="pagination">{"".join(pages)}</ul></div></body></html>'
    )
    return html_page(body)


def _origin_rows(origin: str) -> list[tuple[str, str]]:
    # moteur has no "Origine" field; cars bought new in Morocco leave "Véhicule dédouané" out
    if origin == "WW au Maroc":
        return [("Importé neuf", "Non")]
    if origin == "Dédouanée":
        return [("Véhicule dédouané", "Oui"), ("Importé neuf", "Non")]
    if origin == "Importée neuve":
        return [("Véhicule dédouané", "Oui"), ("Importé neuf", "Oui")]
    return [("Véhicule dédouané", "Non"), ("Importé neuf", "Non")]


def _detail_lines(listing: Listing) -> list[tuple[str, str]]:
    local_time = listing.posted_at.astimezone(MOROCCO).strftime("%Y-%m-%d %H:%M")
    model = _MODEL_BY_NAME[(listing.brand, listing.model)]
    warranty = "Oui" if listing.year >= listing.posted_at.year - 2 else "Non"
    rows = [
        ("Kilométrage", group_thousands(listing.mileage_km, " ")),
        ("Année", str(listing.year)),
        ("Boite de vitesses", listing.gearbox),
        ("Carburant", listing.fuel),
        ("Date", local_time),
        ("Puissance fiscale", f"{listing.fiscal_power} CV"),
        ("Nombre de portes", str(listing.doors)),
        ("Première main", "Oui" if listing.first_owner else "Non"),
        ("Voiture personnalisée (tuning)", "Non"),
        *_origin_rows(listing.origin),
        ("Véhicule en garantie", warranty),
        ("Couleur", catalog.MOTEUR_COLOURS[stable_int(listing.listing_id, len(catalog.MOTEUR_COLOURS))]),
        ("Carrosserie", catalog.SEGMENTS[model.segment].body),
    ]
    # some ads carry zero-width spaces around values, as the real site does
    if stable_int(listing.listing_id, 3) == 0:
        rows = [(label, f"{ZWSP}{value}" if i % 2 else f"{value}{ZWSP}") for i, (label, value) in enumerate(rows)]
    return rows


def _phone_display(phone: str) -> str:
    return " ".join(phone[i:i + 2] for i in range(0, len(phone), 2))


# Labels and option names are a few dozen texts, on every ad page
@functools.lru_cache(maxsize=256)
def _line_start(label: str) -> str:
    return f'<div class="detail_line"><span class="col-md-6 col-xs-6">{esc(label)}</span><span class="text_bold">'


@functools.lru_cache(maxsize=256)
def _option_markup(item: str) -> str:
    return f'<div class="col-md-4 option_ad">✔ {esc(item)}</div>'


def render_detail(listing: Listing, now) -> Page:
    """Ad page: header, price block, `detail_line` rows, options, seller overview and photo slider."""
    city = catalog.moteur_city_display(listing.city)
    brand_display = catalog.moteur_brand_display(listing.brand)
    lines = "".join(f"{_line_start(label)}{esc(value)}</span></div>" for label, value in _detail_lines(listing))
    options = "".join(map(_option_markup, listing.equipment))
    slides = "".join(
        f'<div><img data-u="image" src="/media/cache/{listing.listing_id}_{i}.jpg" alt=""></div>'
        for i in range(listing.image_count)
    )
    if listing.seller_type == "shop":
        dealer_id = stable_int(listing.seller_name, 90_000) + 1_000
        author = (f'<a class="author-name" href="/fr/voiture/stock-professionnel/{slug_moteur(listing.seller_name)}'
                  f'/{dealer_id}/">{esc(listing.seller_name)}</a><span class="badge">Professionnel</span>')
    else:
        author = f'<span class="author-name">{esc(listing.seller_name)}</span><span class="badge">Particulier</span>'
    city_slug = slug_moteur(listing.city)
    description = f"{brand_display} {listing.model} {listing.year}, {listing.fuel.lower()}, " \
                  f"{group_thousands(listing.mileage_km, ' ')} km. Contactez-nous pour plus d'informations."
    body = (
        _head(f"{brand_display} {listing.model} occasion à {city} | Moteur.ma")
        + '<div class="container">'
        '<ol class="breadcrumb"><li><a href="/fr/">Accueil</a></li>'
        f'<li><a href="{LIST_PATH}">Voiture occasion</a></li>'
        f'<li><a href="/fr/voiture/achat-voiture-occasion/marque/{slug_moteur(listing.brand)}/">'
        f"{esc(brand_display)}</a></li><li>{esc(listing.model)}</li></ol>"
        f'<div class="header_detail"><h1>{_title_html(listing)} <span class="city">à {esc(city)}</span></h1></div>'
        '<div class="row"><div class="col-md-8">'
        f'<div id="slider1_container"><div data-u="slides">{slides}</div></div>'
        f'<div class="options"><h2>Options</h2><div class="row">{options}</div>'
        f'<div class="col-md-12">{esc(description)}</div></div>'
        '</div><div class="col-md-4">'
        f'<div class="color_primary text_bold price-block">{esc(_price_text(listing, now))}</div>'
        f'<div class="detail_ad">{lines}</div>'
        "<div id=\"overview\">"
        + (EXPIRED_WARNING if Market.is_expired(listing, now) else "")
        + f'<div class="author"><i class="icon-normal-user"></i> {author}</div>'
        f'<div class="phone"><i class="icon-normal-checkbox-checked"></i> '
        f'<a href="tel:{listing.seller_phone}">{_phone_display(listing.seller_phone)}</a></div>'
        f'<div class="city"><i class="icon-normal-pointer"></i> '
        f'<a href="/fr/voiture/achat-voiture-occasion/ville/{city_slug}/">{esc(city)}</a></div></div>'
        "</div></div></div></body></html>"
    )
    return html_page(body)


def handle(market: Market, raw_path: str, base: str) -> Page:
    """Route one GET request of the moteur look-alike."""
    path = unquote(urlsplit(raw_path).path)
    if path == "/robots.txt":
        return robots_txt(("/fr/account/", "/fr/espace-membre/", "/fr/deposer-annonce"))
    match = _LIST_RE.match(path)
    if match:
        return render_list(market, int(match.group(1) or 0))
    match = _DETAIL_RE.match(path)
    if match:
        listing = market.find("moteur", match.group(1))
        if listing is not None and listing.gone_status is not None:
            return gone(listing.gone_status, "Moteur.ma")
        if listing is not None:
            return render_detail(listing, market.now())
    if path in ("/", "/fr", "/fr/"):
        return html_page(_head("Moteur.ma") + f'<a href="{LIST_PATH}">Voitures d\'occasion</a></body></html>')
    return not_found("Moteur.ma")
