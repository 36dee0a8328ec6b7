"""Parser behaviour on page variants the demo market does not produce yet (older layouts, placeholders)."""

import datetime as dt
import json
import random

import pytest

from autolist_assets.sources import avito, moteur
from autolist_assets.sources.schema import ParseError


def _avito_page(payload: dict, script_attributes: str = 'id="__NEXT_DATA__" type="application/json"') -> str:
    return f"<html><head></head><body><div id='__next'></div><script {script_attributes}>{json.dumps(payload)}" \
           "</script></body></html>"


AD = {
    "listId": 57350163, "href": "/fr/maarif/voitures_d_occasion/Dacia_Logan_57350163.htm", "subject": "Dacia  Logan",
    "price": {"value": None}, "location": "Casablanca", "date": "2026-01-09T10:11:12.000Z", "isShop": False,
    "seller": {"type": "STORE", "name": "KIFAL AUTO"}, "images": [],
    "params": [{"key": "regdate", "value": "1980 ou plus ancien"}, {"key": "mileage", "value": "200 000 - 249 999"},
               {"key": "1013", "label": "Secteur", "value": "Maarif"}],
}


def test_avito_detail_falls_back_to_the_apollo_cache_and_flat_params():
    html = _avito_page({"props": {"pageProps": {"apolloState": {"Ad:1": {"ad": AD}}}}},
                       script_attributes='type="application/json" id="__NEXT_DATA__"')
    row = avito.parse_detail_page(html, "https://www.avito.ma/fr/maarif/voitures_d_occasion/x_57350163.htm")
    assert row["listing_id"] == "57350163"
    assert row["url"] == "https://www.avito.ma/fr/maarif/voitures_d_occasion/Dacia_Logan_57350163.htm"
    assert row["title"] == "Dacia Logan"
    assert row["price_dh"] is None
    assert row["year"] == 1980
    assert row["mileage_text"] == "200 000 - 249 999" and row["mileage_km"] is None  # a bucket, not a value
    assert row["sector"] == "Maarif"
    assert row["seller_type"] == "shop"  # seller.type STORE wins over isShop false
    assert row["posted_at"] == dt.datetime(2026, 1, 9, 10, 11, 12, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("flag, on", [("1", True), (1, True), (True, False), (1.0, False), ("0", False)])
def test_avito_params_cache_keeps_values_of_other_types_apart(flag, on):
    # 1, 1.0 and True are equal as dict keys; only the text "1" (or the integer 1) switches an equipment flag on
    params = {"equipments": [{"key": "car_abs", "label": "ABS", "value": flag}],
              "others": [{"key": "doors", "value": [5]}, {"key": "1013", "label": {"x": 1}, "value": "Gauthier"}]}
    html = _avito_page({"props": {"pageProps": {"componentProps": {"adInfo": {"ad": {**AD, "params": params}}}}}})
    row = avito.parse_detail_page(html, "https://www.avito.ma/fr/maarif/voitures_d_occasion/x_57350163.htm")
    assert row["equipment"] == (["ABS"] if on else [])
    assert row["doors"] == 5  # a list where text belongs is read as its text, past the cache
    assert row["sector"] == "Gauthier" and row["attributes"]["{'x': 1}"] == "Gauthier"


def test_avito_pages_without_data_are_parse_errors():
    with pytest.raises(ParseError):
        avito.parse_detail_page("<html><body>Just a moment...</body></html>", "https://www.avito.ma/x_1.htm")
    with pytest.raises(ParseError):
        avito.parse_list_page(_avito_page({"props": {"pageProps": {}}}), "https://www.avito.ma/fr/maroc/x")


@pytest.mark.parametrize("raw, expected", [
    ("LAND-ROVER\u00a0\u00a0Range Rover Evoque", ("LAND-ROVER", "Range Rover Evoque")),
    ("MERCEDES-BENZ  Classe C", ("MERCEDES-BENZ", "Classe C")),
    ("DACIA Sandero", ("DACIA", "Sandero")),
    ("\u200bKIA\u00a0\u00a0Picanto\u200b", ("KIA", "Picanto")),
])
def test_moteur_titles_split_into_brand_and_model(raw, expected):
    assert moteur.split_title(raw) == expected


def test_moteur_cards_read_meta_by_icon_not_position():
    html = (
        '<div class="row-item row-item-checkout link"><h3 class="title_mark_model">'
        '<a href="/fr/voiture/achat-voiture-occasion/detail-annonce/470001/audi-q8.html">AUDI&nbsp;&nbsp;Q8</a></h3>'
        '<div class="PriceListing">Appeler pour le prix</div><ul>'
        "<li><a>Afficher l'annonce</a></li><li>Se faire rappeler</li>"
        '<li><i class="icon-fuel"></i> Hybride</li><li><i class="icon-normal-pointer"></i> El jadida</li>'
        '<li><i class="icon-normal-calendar-month"></i> 2023</li></ul></div>'
    )
    page = moteur.parse_list_page(html, "https://www.moteur.ma/fr/voiture/achat-voiture-occasion/30")
    card, = page.cards
    assert page.next_url is None
    assert card["listing_id"] == "470001"
    assert card["url"] == "https://www.moteur.ma/fr/voiture/achat-voiture-occasion/detail-annonce/470001/audi-q8.html"
    assert (card["brand"], card["model"], card["year"], card["city"], card["fuel"]) == \
        ("AUDI", "Q8", 2023, "El jadida", "Hybride")
    assert card["price_text"] == "Appeler pour le prix" and card["price_dh"] is None


def test_moteur_local_dates_convert_to_utc_across_midnight():
    # Morocco is UTC+1 outside Ramadan: 00:30 local is still the previous UTC day
    assert moteur.parse_local_datetime("2026-05-19 00:30") == dt.datetime(2026, 5, 18, 23, 30, tzinfo=dt.timezone.utc)
    assert moteur.parse_local_datetime("\u200b2025-04-29") == dt.datetime(2025, 4, 28, 23, 0, tzinfo=dt.timezone.utc)
    assert moteur.parse_local_datetime("hier") is None


def test_moteur_local_dates_read_as_the_time_zone_reads_them_around_every_clock_change():
    # the UTC offset is looked up once per local hour: every minute of the two days around each change of
    # Morocco's clocks (Ramadan, and 2018's switch to UTC+1 all year) must still read as astimezone reads it
    zone, checked = moteur.MOROCCO, 0
    for day in (dt.datetime(2018, 1, 1) + dt.timedelta(days=n) for n in range(3_650)):
        if day.replace(tzinfo=zone).utcoffset() == (day + dt.timedelta(days=1)).replace(tzinfo=zone).utcoffset():
            continue
        for minute in range(0, 48 * 60, 7):
            local = day + dt.timedelta(minutes=minute)
            assert moteur.parse_local_datetime(local.strftime("%Y-%m-%d %H:%M")) == \
                local.replace(tzinfo=zone).astimezone(dt.timezone.utc), local
            checked += 1
    assert checked > 20 * 48 * 60 // 7  # two changes a year


@pytest.mark.parametrize("cleared, imported_new, origin", [
    (None, False, "WW au Maroc"), (True, False, "Dédouanée"), (True, True, "Importée neuve"),
    (False, False, "Pas encore dédouanée"), (None, None, None),
])
def test_moteur_customs_rows_map_to_avito_origins(cleared, imported_new, origin):
    assert moteur._origin(cleared, imported_new) == origin


def test_moteur_non_ad_pages_are_parse_errors():
    with pytest.raises(ParseError):
        moteur.parse_detail_page("<html><body><h1>Oops</h1></body></html>", "https://www.moteur.ma/fr/")


def test_moteur_links_join_the_page_url_exactly_as_urljoin_does():
    """The root-relative fast path must give urljoin's answer (or its error) for any link, odd ones included."""
    from urllib.parse import urljoin

    from autolist_assets.sources.moteur import _join

    def outcome(join, base, href):
        try:
            return join(base, href)
        except ValueError as error:
            return type(error)

    bases = ["http://127.0.0.1:8765/fr/voiture/achat-voiture-occasion/75", "https://www.moteur.ma/fr/voiture/",
             "HTTP://Host:80/a;p?q#f", "http://[::1]:8/x", "//host/x", "/relative"]
    alphabet = "ab/.-_~%;?#:@!$&'()*+,=09Z \t\n\x00é[]"
    rng = random.Random(5)
    hrefs = ["/fr/voiture/achat-voiture-occasion/detail-annonce/850911/fiat-fiorino.html", "/a/../b", "/a/./b",
             "/a/.", "/a/..", "//evil/x", "/a//b", "/a;p", "/a?q", "/a#f", "/a b", "/a\tb", "/", "/.x", "/x."]
    hrefs += ["/" + "".join(rng.choice(alphabet) for _ in range(rng.randrange(12))) for _ in range(20_000)]
    mismatches = [(b, h) for h in hrefs for b in bases if outcome(_join, b, h) != outcome(urljoin, b, h)]
    assert mismatches == []
    assert _join(bases[0], hrefs[0]) == "http://127.0.0.1:8765" + hrefs[0]


# A list page past the last one, as the site renders it without its payload: the count of ads, no cards, no next link
_PAST_THE_END = (
    '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Voitures d&#x27;occasion</title>'
    '<link rel="prev" href="https://www.avito.ma/fr/maroc/voitures_d_occasion-%C3%A0_vendre?o=31"></head><body>'
    '<div id="__next"><header class="sc-1wrdc9z-0"><a href="/fr/">Avito</a></header><main>'
    '<h1 class="sc-1x0vz2r-0 kOxYfC">Voitures d\'occasion au Maroc</h1>'
    '<p class="sc-1x0vz2r-0 bmtUYd">1\u202f663 annonces</p><div class="sc-1nre5ec-1 crKvIr"></div></main></div>'
    '</body></html>'
)


def test_avito_list_page_past_the_last_one_without_payload_is_empty_not_broken():
    url = "https://www.avito.ma/fr/maroc/voitures_d_occasion-%C3%A0_vendre?o=32"
    page = avito.parse_list_page(_PAST_THE_END, url)
    assert page.cards == [] and page.next_url is None and page.from_markup
    # without its count of ads the page says nothing about ads: an empty answer, not an empty day
    for stripped in (_PAST_THE_END.replace("1\u202f663 annonces", ""), "<html><body><main></main></body></html>",
                     _PAST_THE_END.replace("annonces", "résultats")):
        with pytest.raises(ParseError, match="no __NEXT_DATA__"):
            avito.parse_list_page(stripped, url)
