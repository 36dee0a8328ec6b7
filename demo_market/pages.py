"""Helpers shared by the two site renderers: page tuples, number and date formats, robots.txt."""

from __future__ import annotations

import datetime as dt
import functools
import zlib
from dataclasses import dataclass
from html import escape

HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
NBSP = "\u00a0"
NNBSP = "\u202f"  # avito's thousands separator
ZWSP = "\u200b"  # moteur leaves zero-width spaces in some values


@dataclass(frozen=True)
class Page:
    """One HTTP answer of a site renderer."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def html_page(html: str, status: int = 200) -> Page:
    """Wrap rendered HTML."""
    return Page(status, HTML, html.encode("utf-8"))


def not_found(site_name: str) -> Page:
    """A plain 404 page in the site's style."""
    return html_page(
        f"<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Page introuvable | {site_name}"
        "</title></head><body><h1>Page introuvable</h1><p>Cette annonce n'existe plus ou a été supprimée.</p>"
        "</body></html>",
        status=404,
    )


def gone(status: int, site_name: str) -> Page:
    """A deleted ad: 404 or 410, the way each deployment happens to answer."""
    page = not_found(site_name)
    return Page(status, page.content_type, page.body)


CLOUDFLARE_CHALLENGE = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta http-equiv="refresh" content="390"></head><body><div class="main-wrapper" role="main">'
    '<div class="main-content"><h1 class="zone-name-title h1">Checking if the site connection is secure</h1>'
    '<noscript><div class="h2">Enable JavaScript and cookies to continue</div></noscript>'
    '<div id="challenge-stage"></div></div></div>'
    '<script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1"></script></body></html>'
)


def cloudflare_challenge() -> Page:
    """Cloudflare's interstitial, as served to a client it does not trust (HTTP 403)."""
    return Page(403, HTML, CLOUDFLARE_CHALLENGE.encode("utf-8"), (("Server", "cloudflare"), ("cf-mitigated", "challenge")))


def robots_txt(disallowed: tuple[str, ...]) -> Page:
    """robots.txt allowing everything except account-like areas."""
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in disallowed), "Allow: /", ""]
    return Page(200, TEXT, "\n".join(lines).encode("utf-8"))


def group_thousands(value: int, separator: str) -> str:
    """173000 -> '173 000' with the given separator."""
    return f"{value:,}".replace(",", separator)


def relative_date_fr(posted_at: dt.datetime, now: dt.datetime) -> str:
    """Avito-style relative age: 'il y a 3 heures', 'il y a quelques instants'."""
    seconds = max(0, int((now - posted_at).total_seconds()))
    for unit_seconds, singular, plural in (
        (365 * 86_400, "an", "ans"),
        (30 * 86_400, "mois", "mois"),
        (86_400, "jour", "jours"),
        (3_600, "heure", "heures"),
        (60, "minute", "minutes"),
    ):
        if seconds >= unit_seconds:
            count = seconds // unit_seconds
            return f"il y a {count} {singular if count == 1 else plural}"
    return "il y a quelques instants"


def stable_int(text: str, modulo: int) -> int:
    """Deterministic small integer from text (for render-only details like colours)."""
    return zlib.crc32(text.encode("utf-8")) % modulo


@functools.lru_cache(maxsize=65536)  # labels, brands and cities repeat on every page
def esc(text: str) -> str:
    """HTML-escape text content and attribute values."""
    return escape(text, quote=True)
