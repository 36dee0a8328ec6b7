"""Scrape one (source, day) partition: walk the list newest-first, open the day's ads, archive every page."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

from autolist_assets.sources import avito, moteur
from autolist_assets.sources.archive import PageArchive, read_archive
from autolist_assets.sources.fetch import Fetcher, Response
from autolist_assets.sources.privacy import hash_pii
from autolist_assets.sources.schema import ROW_FIELDS, ListPage

SOURCES = ("avito", "moteur")
LIST_PATHS = {
    "avito": "/fr/maroc/voitures_d_occasion-%C3%A0_vendre",
    "moteur": "/fr/voiture/achat-voiture-occasion/",
}
PARSERS = {"avito": avito, "moteur": moteur}
# Values the list shows as the seller chose to display them; the detail page may reformat them.
_CARD_FIRST = ("url", "title", "price_text")


class ScrapeError(RuntimeError):
    """A list page could not be fetched or parsed, so the partition cannot be complete."""


@dataclass
class ScrapeResult:
    """Rows of one partition and what it took to get them."""

    rows: list[dict]
    pages_fetched: int
    listings_found: int
    parse_failures: int
    http_status_counts: dict[int, int] = field(default_factory=dict)
    duration_s: float = 0.0


class _Session:
    """Counts, archives and parses every page of one partition run."""

    def __init__(self, source: str, fetcher: Fetcher, archive: PageArchive | None, log: Callable[[str], None]):
        self.source = source
        self.parser = PARSERS[source]
        self.fetcher = fetcher
        self.archive = archive
        self.log = log
        self.pages_fetched = 0
        self.parse_failures = 0
        self.status_counts: Counter[int] = Counter()
        self._details: dict[str, dict | None] = {}

    def fetch(self, url: str) -> Response:
        response = self.fetcher.get(url)
        # archive before parsing, so a page that breaks the parser is still kept for replay
        if self.archive is not None:
            self.archive.write(response)
        self.pages_fetched += 1
        self.status_counts[response.status] += 1
        return response

    def list_page(self, url: str) -> ListPage:
        response = self.fetch(url)
        if response.status != 200:
            raise ScrapeError(f"{self.source}: list page {url} answered HTTP {response.status}")
        try:
            return self.parser.parse_list_page(response.text, response.url)
        except Exception as error:  # whatever breaks, the partition cannot be complete
            self.parse_failures += 1
            raise ScrapeError(f"{self.source}: cannot parse list page {url}: {error}") from error

    def detail(self, url: str) -> dict | None:
        """Parsed ad page (fetched once per run), None if it is gone or unparseable."""
        if url in self._details:
            return self._details[url]
        response = self.fetch(url)
        parsed = None
        if response.status == 200:
            try:
                parsed = self.parser.parse_detail_page(response.text, response.url)
            except Exception as error:  # one odd ad page must not sink the partition; it is counted and archived
                self.parse_failures += 1
                self.log(f"{self.source}: cannot parse ad page {url}: {error}")
        self._details[url] = parsed
        return parsed


def _utc_day(moment: dt.datetime | None) -> dt.date | None:
    return moment.astimezone(dt.timezone.utc).date() if moment is not None else None


def build_row(source: str, card: dict, detail: dict | None, pii_salt: str) -> dict:
    """Merge list card and ad page into one row of ROW_FIELDS, hashing the seller's name and phone."""
    merged = dict(card)
    for key, value in (detail or {}).items():
        if value is not None and not (key in _CARD_FIRST and merged.get(key) is not None):
            merged[key] = value
    row = {name: merged.get(name) for name in ROW_FIELDS}
    row["source"] = source
    row["seller_name_hash"] = hash_pii(merged.get("seller_name"), pii_salt)
    row["seller_phone_hash"] = hash_pii(merged.get("seller_phone"), pii_salt)
    if row["equipment"] is None and detail is not None:
        row["equipment"] = []
    return row


def _scrape_avito(session: _Session, day: dt.date, start_url: str, pii_salt: str, rows: list[dict]) -> int:
    found = 0
    seen: set[str] = set()
    url: str | None = start_url
    page_number = 0
    while url:
        page = session.list_page(url)
        page_number += 1
        kept = 0
        for card in page.cards:
            if card["listing_id"] in seen or _utc_day(card.get("posted_at")) != day:
                continue
            seen.add(card["listing_id"])
            kept += 1
            # a deleted or broken ad page still leaves the card's fields
            rows.append(build_row("avito", card, session.detail(card["url"]), pii_salt))
        found += kept
        session.log(f"avito {day}: list page {page_number}: {len(page.cards)} cards, {kept} from that day")
        # pinned ads can sit out of order at the top, the last card tells where the page ends in time
        last_day = _utc_day(page.cards[-1].get("posted_at")) if page.cards else None
        if last_day is None or last_day < day:
            break
        url = page.next_url
    return found


def _scrape_moteur(session: _Session, day: dt.date, start_url: str, pii_salt: str, rows: list[dict]) -> int:
    found = 0
    seen: set[str] = set()
    url: str | None = start_url
    page_number = 0
    reached_older = False
    while url and not reached_older:
        page = session.list_page(url)
        page_number += 1
        kept = 0
        cards = [card for card in page.cards if card.get("listing_id")]
        # cards carry no date: the oldest ad of the page says whether the whole page is still too recent
        oldest = session.detail(cards[-1]["url"]) if cards else None
        oldest_day = _utc_day(oldest.get("posted_at")) if oldest else None
        if oldest_day is None or oldest_day <= day:
            for card in cards:
                detail = session.detail(card["url"])
                posted_day = _utc_day(detail.get("posted_at")) if detail else None
                if posted_day is None or posted_day > day or card["listing_id"] in seen:
                    continue
                if posted_day < day:
                    reached_older = True  # ids and dates decrease down the list
                    break
                seen.add(card["listing_id"])
                kept += 1
                rows.append(build_row("moteur", card, detail, pii_salt))
        found += kept
        session.log(f"moteur {day}: list page {page_number}: {len(cards)} cards, {kept} from that day")
        url = page.next_url
    return found


def scrape_partition(
    source: str,
    day: dt.date,
    base_url: str,
    fetcher: Fetcher,
    archive: PageArchive | None,
    pii_salt: str,
    log: Callable[[str], None] | None = None,
) -> ScrapeResult:
    """All ads `source` shows as posted on `day` (UTC), one merged row each, newest first."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    started = time.perf_counter()
    session = _Session(source, fetcher, archive, log or (lambda line: None))
    start_url = base_url.rstrip("/") + LIST_PATHS[source]
    rows: list[dict] = []
    walk = _scrape_avito if source == "avito" else _scrape_moteur
    found = walk(session, day, start_url, pii_salt, rows)
    return ScrapeResult(
        rows=rows, pages_fetched=session.pages_fetched, listings_found=found,
        parse_failures=session.parse_failures, http_status_counts=dict(session.status_counts),
        duration_s=time.perf_counter() - started,
    )


class ArchiveFetcher:
    """Serves pages from a WARC file in place of the network (replays repeated URLs in order)."""

    name = "archive"

    def __init__(self, path: Path | str):
        self._responses: dict[str, deque[Response]] = defaultdict(deque)
        for response in read_archive(path):
            self._responses[self._key(response.url)].append(response)

    @staticmethod
    def _key(url: str) -> str:
        parts = urlsplit(url)
        return unquote(f"{parts.netloc}{parts.path}?{parts.query}")

    def base_url_for(self, source: str) -> str | None:
        """Scheme and host the archived list pages of `source` were fetched from."""
        wanted = unquote(LIST_PATHS[source]).rstrip("/")
        for queue in self._responses.values():
            parts = urlsplit(queue[0].url)
            if unquote(parts.path).rstrip("/") == wanted:
                return f"{parts.scheme}://{parts.netloc}"
        return None

    def get(self, url: str) -> Response:
        queue = self._responses.get(self._key(url))
        if not queue:
            return Response(url=url, status=404, headers={}, body=b"", fetched_at=dt.datetime.now(dt.timezone.utc),
                            fetcher=self.name)
        return queue.popleft() if len(queue) > 1 else queue[0]

    def close(self) -> None:
        self._responses.clear()


def reparse_archive(source: str, day: dt.date, archive_path: Path | str, pii_salt: str) -> ScrapeResult:
    """Rebuild a partition's rows from its WARC alone, walking the archived pages as the scrape did."""
    fetcher = ArchiveFetcher(archive_path)
    base_url = fetcher.base_url_for(source)
    if base_url is None:
        raise ScrapeError(f"{archive_path} holds no {source} list page")
    return scrape_partition(source, day, base_url, fetcher, archive=None, pii_salt=pii_salt)
