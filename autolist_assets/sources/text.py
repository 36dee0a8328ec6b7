"""Parsers for the value formats both sites print: prices, mileages, relative French dates, messy text."""

from __future__ import annotations

import datetime as dt
import functools
import re

# Zero-width characters the sites leave inside values; they are not whitespace for str.split().
_INVISIBLE_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")

_PRICE_PLACEHOLDERS = (
    "demander le prix", "appeler pour le prix", "prix non spécifié", "prix non specifie", "prix à discuter",
    "prix a discuter", "sur demande",
)
# A number with optional thousands separators (space, no-break spaces, comma, dot) and optional decimals.
_AMOUNT = r"\d{1,3}(?:[ \u00a0\u202f\u2009,.]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_PRICE_RE = re.compile(rf"({_AMOUNT})\s*(?:dhs?|mad|dirhams?)\b", re.IGNORECASE)
_BARE_AMOUNT_RE = re.compile(rf"^\s*({_AMOUNT})\s*$")
_INSTALMENT_RE = re.compile(r"/\s*mois|par\s+mois", re.IGNORECASE)
_KM_RE = re.compile(rf"^\s*({_AMOUNT})\s*(?:km)?\s*$", re.IGNORECASE)
_KM_RANGE_RE = re.compile(rf"^\s*({_AMOUNT})\s*-\s*({_AMOUNT})\s*(?:km)?\s*$", re.IGNORECASE)
_RELATIVE_RE = re.compile(
    r"il\s+y\s+a\s+(\d+|une?|quelques)\s+(secondes?|minutes?|mins?|heures?|h|jours?|semaines?|mois|ans?|années?)",
    re.IGNORECASE,
)
_UNIT_SECONDS = {
    "seconde": 1, "minute": 60, "min": 60, "heure": 3_600, "h": 3_600, "jour": 86_400, "semaine": 7 * 86_400,
    "mois": 30 * 86_400, "an": 365 * 86_400, "année": 365 * 86_400,
}


_INVISIBLE_TABLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def _visible(text: str) -> str:
    # most values are ASCII, which cannot hold zero-width characters; translate beats a regex on the rest
    return text if text.isascii() else text.translate(_INVISIBLE_TABLE)


def page_text(page: str | bytes) -> str:
    """A page as text: the parsers also take a fetched page's UTF-8 bytes (`Response.page`), decoded as
    `Response.text` decodes them."""
    return page if isinstance(page, str) else page.decode("utf-8", errors="replace")


def strip_invisible(text: str | None) -> str | None:
    """Remove zero-width characters and outer whitespace, keep inner spacing (U+202F etc.) as printed."""
    if text is None:
        return None
    return _visible(text).strip()


def clean_text(text: str | None) -> str | None:
    """Remove zero-width characters and collapse every run of whitespace (incl. no-break spaces) to one space."""
    if text is None:
        return None
    return " ".join(_visible(text).split())


# The sites' vocabularies (labels, enums, cities, option names) repeat on every page: each text is cleaned once
# per process. Only for those: free text (titles, seller names) would just churn the cache.
_clean_cached = functools.lru_cache(maxsize=4096)(clean_text)
_strip_cached = functools.lru_cache(maxsize=4096)(strip_invisible)


def clean_term(text: str | None) -> str | None:
    """clean_text for a label or an enum value, cached; anything but a str goes through uncached (and fails alike)."""
    return _clean_cached(text) if type(text) is str else clean_text(text)


def strip_term(text: str | None) -> str | None:
    """strip_invisible for a label or an enum value, cached like clean_term."""
    return _strip_cached(text) if type(text) is str else strip_invisible(text)


_GROUP_SPACES_RE = re.compile("[ \u00a0\u202f\u2009]")
_DECIMALS_RE = re.compile(r"[.,](\d{1,2})$")
_DIGITS_RE = re.compile(r"\d+")


def _amount_to_int(amount: str) -> int:
    """'173 000' / '118,000' / '1.250.000' / '95000,50' -> int, reading 3-digit groups as thousands."""
    digits = _GROUP_SPACES_RE.sub("", amount)
    decimals = _DECIMALS_RE.search(digits)
    if decimals:
        digits = digits[: decimals.start()]
    return int(digits.replace(",", "").replace(".", ""))


PLACEHOLDER_MAX_DH = 99  # "1 DH", "9 Dhs": dealers' stand-ins for "call us", never a real price
# Past this an "amount" is a phone number or a run of digits, and would not fit the warehouse's bigint.
MAX_STORABLE_DH = 10**15
# Integers the warehouse stores in 32 bits (years, doors, fiscal power): longer digit runs are not values.
MAX_SMALL_INT = 2**31 - 1


_HTML_OPEN_RE = re.compile("<html", re.IGNORECASE)
_HTML_CLOSE_RE = re.compile("</html>", re.IGNORECASE)


def looks_truncated(html: str) -> bool:
    """A whole document that stops before its closing </html>: the body was cut (a proxy, a dropped connection)."""
    # Searched in place, case-insensitively: lower-casing 6 kB of a page with accents cost 20 µs a page.
    if _HTML_OPEN_RE.search(html, 0, 2048) is None:
        return False  # a fragment, not a document: nothing to judge by
    return _HTML_CLOSE_RE.search(html, max(0, len(html) - 4096)) is None and _HTML_CLOSE_RE.search(html) is None


def parse_price_dh(text: str | None) -> int | None:
    """Price in dirhams from displayed text, None for placeholders ('1 DH' included), instalments or no amount."""
    return _price_cached(text) if type(text) is str else _parse_price(text)


def _parse_price(text: str | None) -> int | None:
    if not text:
        return None
    cleaned = _visible(text)
    lowered = cleaned.lower()
    if any(placeholder in lowered for placeholder in _PRICE_PLACEHOLDERS) or _INSTALMENT_RE.search(cleaned):
        return None
    if cleaned.lstrip().startswith(("-", "\u2212")):
        return None  # a negative asking price is garbage, not a price to read without its sign
    # badges can be glued before the number ("Prix en hausse520 000 DH"): take the amount next to the currency
    matches = _PRICE_RE.findall(cleaned)
    if matches:
        amount = _amount_to_int(matches[-1])
    else:
        bare = _BARE_AMOUNT_RE.match(cleaned)
        amount = _amount_to_int(bare.group(1)) if bare else None
    return None if amount is None or amount <= PLACEHOLDER_MAX_DH or amount > MAX_STORABLE_DH else amount


# Asking prices are round figures that repeat from ad to ad (a few hundred distinct texts per thousand ads).
_price_cached = functools.lru_cache(maxsize=1 << 12)(_parse_price)


def is_instalment(text: str | None) -> bool:
    """'2 500 DH / mois', 'Par mois': a financing instalment, never the price."""
    return bool(text) and bool(_INSTALMENT_RE.search(text))


@functools.lru_cache(maxsize=1 << 14)  # buckets and round figures repeat from ad to ad
def mileage_range(text: str | None) -> tuple[int | None, int | None]:
    """(low, high) km from an exact value (low == high) or a bucket; (None, None) otherwise."""
    exact = parse_km(text)
    if exact is not None:
        return exact, exact
    bucket = parse_km_bucket(text)
    return bucket if bucket is not None else (None, None)


def parse_km(text: str | None) -> int | None:
    """Exact mileage from '99 000', '102 000 km' or '102000'; None for buckets and non-numbers."""
    if not text:
        return None
    match = _KM_RE.match(_visible(text))
    if not match:
        return None
    km = _amount_to_int(match.group(1))
    return km if km <= MAX_STORABLE_DH else None


def parse_km_bucket(text: str | None) -> tuple[int, int] | None:
    """Mileage bucket '200 000 - 249 999' -> (200000, 249999); None if the text is not a range."""
    if not text:
        return None
    match = _KM_RANGE_RE.match(_visible(text))
    return (_amount_to_int(match.group(1)), _amount_to_int(match.group(2))) if match else None


def parse_int(text: str | None) -> int | None:
    """First integer in text ('6 CV' -> 6, '2019' -> 2019), None if there is none."""
    if not text:
        return None
    match = _DIGITS_RE.search(_visible(text))
    if not match or len(match.group()) > 9:
        return None
    return int(match.group())


def parse_yes_no(text: str | None) -> bool | None:
    """'Oui'/'1' -> True, 'Non'/'0' -> False, anything else None."""
    value = clean_text(text)
    if value is None:
        return None
    value = value.lower()
    if value in ("oui", "1", "true", "yes"):
        return True
    if value in ("non", "0", "false", "no"):
        return False
    return None


def parse_relative_date_fr(text: str | None, now: dt.datetime) -> dt.datetime | None:
    """'il y a 3 heures' relative to `now` (months = 30 days, years = 365 days); None if not relative."""
    if not text:
        return None
    cleaned = clean_text(text).lower()
    if "quelques instants" in cleaned or cleaned in ("à l'instant", "a l'instant", "maintenant"):
        return now
    if cleaned.startswith("hier"):
        return now - dt.timedelta(days=1)
    match = _RELATIVE_RE.search(cleaned)
    if not match:
        return None
    quantity, unit = match.groups()
    count = 1 if quantity in ("un", "une") else 0 if quantity == "quelques" else int(quantity)
    unit = unit if unit in _UNIT_SECONDS else unit.rstrip("s")
    return now - dt.timedelta(seconds=count * _UNIT_SECONDS[unit])
