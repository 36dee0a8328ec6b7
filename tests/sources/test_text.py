"""Value parsers on every price, mileage and date form the two sites print."""

import datetime as dt

import pytest

from autolist_assets.sources.text import (
    clean_text, looks_truncated, parse_int, parse_km, parse_km_bucket, parse_price_dh, parse_relative_date_fr, parse_yes_no,
    strip_invisible,
)


@pytest.mark.parametrize("text, expected", [
    ("173\u202f000 DH", 173_000),  # avito 2024-26, narrow no-break space
    ("173\u00a0000\u00a0DH", 173_000),
    ("50000 DH", 50_000),
    ("118,000 DH", 118_000),  # re-exported by some scrapers
    ("134 000 Dhs", 134_000),  # moteur
    ("1 220 000 Dhs", 1_220_000),
    ("9 Dhs", None),  # dealer placeholder, not a price (the text stays in price_text)
    ("1 DH", None),
    ("250 DH", 250),  # a rental's daily rate is a real amount
    ("250 000 MAD", 250_000),
    ("95 000 dirhams", 95_000),
    ("UpwardArrow IconPrix en hausse520 000 DH", 520_000),  # badge glued to the number
    ("DownwardArrow IconPrix en baisse1\u202f150\u202f000 DH", 1_150_000),
    ("\u200b420 000 Dhs\u200b", 420_000),
    ("420000", 420_000),
    ("1.250.000 DH", 1_250_000),
    ("95\u202f000,00 DH", 95_000),
    ("Demander le prix", None),
    ("Appeler pour le prix", None),
    ("Prix non spécifié", None),
    ("2\u202f500 DH / mois", None),  # financing instalment, not the price
    ("3 000 DH par mois", None),
    ("", None),
    (None, None),
    ("Voitures d'occasion", None),
])
def test_parse_price_dh(text, expected):
    assert parse_price_dh(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("99 000", 99_000), ("102\u202f000 km", 102_000), ("102000", 102_000), ("\u200b99 000", 99_000),
    ("0", 0), ("200 000 - 249 999", None), ("Kilométrage", None), (None, None),
])
def test_parse_km(text, expected):
    assert parse_km(text) == expected


def test_parse_km_bucket_reads_the_old_avito_ranges():
    assert parse_km_bucket("200 000 - 249 999") == (200_000, 249_999)
    assert parse_km_bucket("0 - 4 999") == (0, 4_999)
    assert parse_km_bucket("99 000") is None


def test_text_cleaning_keeps_or_collapses_spacing_on_purpose():
    assert clean_text("DACIA\u00a0\u00a0Sandero") == "DACIA Sandero"
    assert clean_text(" \u200bDiesel\u200b \n") == "Diesel"
    assert strip_invisible(" 173\u202f000 DH\u200b") == "173\u202f000 DH"
    assert clean_text(None) is None


@pytest.mark.parametrize("html, cut", [
    ("<!DOCTYPE html><html lang='fr'><body><p>Année</p></body></html>\n", False),
    ("<!DOCTYPE html><html lang='fr'><body><p>Année</p><div class='detail_line'><span>Kilom", True),
    ("<HTML><BODY>ok</BODY></HTML>", False),  # either case, both tags
    ("<html><body>ok</body></html>" + "<!-- trailing -->" * 400, False),  # the close tag sits before a long tail
    ("<div class='row-item'>a card, no document around it", False),  # a fragment: nothing to judge by
    (" " * 3000 + "<html><body>cut", False),  # no <html> in the first 2 kB: read as a fragment
])
def test_looks_truncated(html, cut):
    assert looks_truncated(html) is cut


def test_small_value_parsers():
    assert parse_int("6 CV") == 6 and parse_int("1980 ou plus ancien") == 1980 and parse_int("--") is None
    assert parse_yes_no("Oui") is True and parse_yes_no("0") is False and parse_yes_no("\u200bNon") is False
    assert parse_yes_no("peut-être") is None


NOW = dt.datetime(2026, 5, 20, 12, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("text, delta", [
    ("il y a quelques instants", dt.timedelta(0)),
    ("il y a 1 minute", dt.timedelta(minutes=1)),
    ("il y a 5 minutes", dt.timedelta(minutes=5)),
    ("il y a 1 heure", dt.timedelta(hours=1)),
    ("Il y a 3 heures", dt.timedelta(hours=3)),
    ("il y a une heure", dt.timedelta(hours=1)),
    ("il y a 3 jours", dt.timedelta(days=3)),
    ("il y a 2 semaines", dt.timedelta(days=14)),
    ("il y a 2 mois", dt.timedelta(days=60)),
    ("il y a 1 an", dt.timedelta(days=365)),
    ("il y a 2 ans", dt.timedelta(days=730)),
    ("hier", dt.timedelta(days=1)),
])
def test_parse_relative_date_fr(text, delta):
    assert parse_relative_date_fr(text, NOW) == NOW - delta


def test_absolute_or_unknown_dates_are_not_relative():
    assert parse_relative_date_fr("15 Mar", NOW) is None
    assert parse_relative_date_fr("", NOW) is None
