"""Scrape one (source, day) partition: walk the list newest-first, open the day's ads, archive every page."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections import Counter, defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from autolist_assets.sources import avito, moteur
from autolist_assets.sources.archive import PageArchive, read_archive
from autolist_assets.sources.fetch import Fetcher, FetchError, HttpFetcher, LoopbackPipeline, Response, is_local_host
from autolist_assets.sources.privacy import hash_pii
from autolist_assets.sources.schema import ROW_FIELDS, ListPage, ParseError
from autolist_assets.sources.text import mileage_range

SOURCES = ("avito", "moteur")
LIST_PATHS = {
    "avito": "/fr/maroc/voitures_d_occasion-%C3%A0_vendre",
    "moteur": "/fr/voiture/achat-voiture-occasion/",
}
PARSERS = {"avito": avito, "moteur": moteur}
# Page-by-page progress goes to this Python logger, not to the run's event log: a Dagster log line is a stored
# event in its storage (0.8 ms each): 4 s of a 71 s scrape of 60,000 listings. Problems still reach `log`.
_progress = logging.getLogger(__name__)
# Values the list shows as the seller chose to display them, and the freshest prices (a reused archived
# ad page may be older than the list page).
_CARD_FIRST = ("url", "title", "price_text", "posted_text", "price_dh", "old_price_dh", "monthly_payment_dh")
_PRICE_FIELDS = ("price_dh", "old_price_dh", "monthly_payment_dh")
# Pages asked for at once from a site on this machine (the demo marketplace): it renders the next ad pages
# while we archive and parse the last ones. Remote sites get one at a time, whatever their rate limit.
LOCAL_WORKERS = 8
# what json.dumps(ensure_ascii=False, sort_keys=True) gives, without building an encoder for every row
_ATTRIBUTES_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True)


class ScrapeError(RuntimeError):
    """A list page could not be fetched or parsed, so the partition cannot be complete."""

    # every page that failed before the scrape gave up (the list page last), for the parse-failure record
    failures: list[dict] = []


class ChallengeBlocked(ScrapeError):
    """The site answered a list page with a Cloudflare challenge even after retries: reported, never read as empty."""


@dataclass
class ScrapeResult:
    """Rows of one partition and what it took to get them."""

    rows: list[dict]
    pages_fetched: int
    listings_found: int
    parse_failures: int
    http_status_counts: dict[int, int] = field(default_factory=dict)
    duration_s: float = 0.0
    failures_by_reason: dict[str, int] = field(default_factory=dict)
    retries: int = 0
    network_errors: dict[str, int] = field(default_factory=dict)
    challenges: int = 0
    reused_pages: int = 0
    gone: int = 0
    # one record per page that could not be read: url, page ("list" or "ad"), reason, detail, http_status
    failures: list[dict] = field(default_factory=list)

    def report(self, mode: str) -> dict:
        """The partition's scrape report, as raw.scrape_reports stores it."""
        return {
            "mode": mode,
            "pages": self.pages_fetched,
            "listings": len(self.rows),
            "listings_found": self.listings_found,
            "parse_failures": self.parse_failures,
            "parse_failures_by_reason": self.failures_by_reason,
            "http_status_counts": self.http_status_counts,
            "retries": self.retries,
            "network_errors": self.network_errors,
            "challenges": self.challenges,
            "reused_pages": self.reused_pages,
            "gone_listings": self.gone,
            "duration_s": round(self.duration_s, 3),
            "listings_per_s": round(len(self.rows) / self.duration_s, 1) if self.duration_s else None,
        }


class _Session:
    """Counts, archives and parses every page of one partition run."""

    def __init__(self, source: str, fetcher: Fetcher, archive: PageArchive | None, log: Callable[[str], None],
                 reuse: dict[str, Response] | None = None, workers: int = 1):
        self.source = source
        self.parser = PARSERS[source]
        self.fetcher = fetcher
        self.archive = archive
        self.log = log
        self.reuse = reuse or {}
        self.pages_fetched = 0
        self.reused_pages = 0
        self.retries = 0
        self.challenges = 0
        self.gone = 0
        self.failures: Counter[str] = Counter()
        self.failure_records: list[dict] = []
        self.network_errors: Counter[str] = Counter()
        self.status_counts: Counter[int] = Counter()
        self._details: dict[str, dict | None] = {}
        self._pages: dict[str, ListPage] = {}  # list pages read in this run: the search and the walk share them
        self._page_errors: dict[str, ScrapeError] = {}  # a list page read ahead that failed, raised when the walk comes
        # pages asked for ahead of the walk (only pages the walk is sure to read, so a replay asks for the same)
        self._pending: dict[str, Future] = {}  # or the pipeline's answers, which have the Future methods used here
        # An HTTP fetcher keeps its pages in flight from this thread alone (LoopbackPipeline sends them to a site on
        # this machine and hands any other URL back to the fetcher); another fetcher gets threads.
        self._pool: LoopbackPipeline | ThreadPoolExecutor | None = None
        if workers > 1:
            self._pool = fetcher.pipeline(workers) if isinstance(fetcher, HttpFetcher) \
                else ThreadPoolExecutor(workers, thread_name_prefix=f"scrape-{source}")

    def fail(self, url: str, page: str, reason: str, detail: str = "", status: int | None = None,
             counted: bool = True) -> None:
        """Keep the record of a page that could not be read (once per page and reason), counted as a parse failure
        unless the site itself says why (`counted=False`, an ad deleted before its page was read)."""
        if any(r["url"] == url and r["reason"] == reason for r in self.failure_records):
            return
        if counted:
            self.failures[reason] += 1
        self.failure_records.append(
            {"url": url, "page": page, "reason": reason, "detail": detail[:500], "http_status": status}
        )

    def _count(self, response: Response) -> None:
        self.status_counts[response.status] += 1
        self.challenges += response.is_challenge

    def prefetch(self, urls: Iterable[str | None]) -> None:
        """Start fetching pages the walk will read next (a no-op without workers)."""
        if self._pool is None:
            return
        for url in urls:
            if url and url not in self._pending and url not in self._details and url not in self._pages \
                    and url not in self.reuse:
                self._pending[url] = self._pool.submit(url) if isinstance(self._pool, LoopbackPipeline) \
                    else self._pool.submit(self.fetcher.get, url)

    def finish(self) -> None:
        """Keep what was fetched ahead and never read (archived and counted, so nothing fetched is lost, and a
        crashed run's pages can be reused), then stop the workers."""
        for url in list(self._pending):
            future = self._pending.pop(url)
            try:
                self._keep(future.result())
            except FetchError as error:
                self.retries += max(0, len(error.network_errors) - 1)
                self.network_errors.update(error.network_errors)
            except BaseException:  # the run is failing already (a dead worker, an interrupt): keep what is kept
                continue
        if isinstance(self._pool, LoopbackPipeline):
            self._pool.close()
        elif self._pool is not None:
            self._pool.shutdown()

    @property
    def parsed(self) -> dict[str, dict | None]:
        """The ad pages read so far in this run, by URL (None when gone or unreadable)."""
        return self._details

    def ready(self, url: str | None) -> bool:
        """Whether a page asked for ahead has arrived as a plain answer (HTTP 200, no challenge), so that reading it
        now rather than later changes only when it is read."""
        future = self._pending.get(url) if url else None
        if future is None or not future.done() or future.exception() is not None:
            return False
        response = future.result()
        return response.status == 200 and not response.is_challenge

    def fetch(self, url: str) -> Response:
        future = self._pending.pop(url, None)
        try:
            response = future.result() if future is not None else self.fetcher.get(url)
        except FetchError as error:
            self.retries += max(0, len(error.network_errors) - 1)
            self.network_errors.update(error.network_errors)
            raise
        return self._keep(response)

    def _keep(self, response: Response) -> Response:
        # archive before parsing, so a page that breaks the parser is still kept for replay
        for attempt in response.attempts:
            self._count(attempt)
            if self.archive is not None:
                self.archive.write(attempt, retried=True)
        if self.archive is not None:
            self.archive.write(response)
        self.pages_fetched += 1
        self.retries += response.retries
        self.network_errors.update(response.network_errors)
        self._count(response)
        return response

    def list_page(self, url: str) -> ListPage:
        if url in self._pages:
            return self._pages[url]
        if url in self._page_errors:
            raise self._page_errors[url]
        try:
            response = self.fetch(url)
        except FetchError as error:
            self.fail(url, "list", "network", str(error))
            raise ScrapeError(f"{self.source}: list page {url}: {error}") from error
        if response.is_challenge:
            self.fail(url, "list", "cloudflare", "challenge page", response.status)
            raise ChallengeBlocked(f"{self.source}: list page {url} answered a Cloudflare challenge")
        if response.status != 200:
            self.fail(url, "list", f"http_{response.status}", "", response.status)
            raise ScrapeError(f"{self.source}: list page {url} answered HTTP {response.status}")
        try:
            if self.source == "avito":
                page = self.parser.parse_list_page(response.page, response.url, response.server_time)
            else:
                page = self.parser.parse_list_page(response.page, response.url)
        except Exception as error:  # whatever breaks, the partition cannot be complete
            self.fail(url, "list", "list_page", f"{type(error).__name__}: {error}", response.status)
            failure = self._page_errors[url] = ScrapeError(f"{self.source}: cannot parse list page {url}: {error}")
            raise failure from error
        for position, reason in enumerate(page.skipped):
            # a card that names no ad cannot become a row; it is kept on record, never dropped quietly
            self.fail(f"{url}#skipped-card-{position}", "card", reason, "a list card without a usable ad id",
                      response.status)
        self._pages[url] = page
        return page

    def detail(self, url: str) -> dict | None:
        """Parsed ad page (fetched once per run, or reused from the archive), None if gone or unreadable."""
        if not url:
            # a card whose link is missing or not text: its own fields still make the row
            self.fail(f"card-without-url-{len(self.failure_records)}", "ad", "no_ad_url", "the card links to no ad page")
            return None
        if url in self._details:
            return self._details[url]
        parsed = None
        archived = self.reuse.get(url)
        if archived is not None:
            response = archived
            self.reused_pages += 1
            if self.archive is not None:
                self.archive.write(response)
        else:
            try:
                response = self.fetch(url)
            except FetchError as error:
                self.fail(url, "ad", "network", str(error))
                self.log(f"{self.source}: ad page {url} unreachable: {error}")
                response = None
        if response is None:
            pass
        elif response.status in (404, 410):
            self.gone += 1
            parsed = {"ad_status": "gone"}
        elif response.is_challenge:
            self.fail(url, "ad", "cloudflare", "challenge page", response.status)
        elif response.status != 200:
            self.fail(url, "ad", f"http_{response.status}", "", response.status)
        else:
            try:
                parsed = self.parser.parse_detail_page(response.page, response.url)
            except ParseError as error:  # one odd ad page must not sink the partition; it is counted and archived
                self.fail(url, "ad", "no_ad_data", str(error), response.status)
                self.log(f"{self.source}: cannot parse ad page {url}: {error}")
            except Exception as error:
                self.fail(url, "ad", type(error).__name__, str(error), response.status)
                self.log(f"{self.source}: cannot parse ad page {url}: {error}")
        self._details[url] = parsed
        return parsed


def _utc_day(moment: dt.datetime | None) -> dt.date | None:
    return moment.astimezone(dt.timezone.utc).date() if moment is not None else None


def build_row(source: str, card: dict, detail: dict | None, pii_salt: str) -> dict:
    """Merge list card and ad page into one row of ROW_FIELDS, hashing the seller's name and phone."""
    merged = dict(card)
    card_has_price = any(card.get(name) is not None for name in ("price_text",) + _PRICE_FIELDS)
    for key, value in (detail or {}).items():
        if value is None:
            continue
        if key in _CARD_FIRST and merged.get(key) is not None:
            continue
        if key in _PRICE_FIELDS and card_has_price:
            continue  # the card's price is the fresh one; the page's None means "not shown", not "unknown"
        merged[key] = value
    if merged.get("posted_at_exact") is False and detail and detail.get("posted_at") is not None:
        merged["posted_at"] = detail["posted_at"]
    row = {name: merged.get(name) for name in ROW_FIELDS}
    row["source"] = source
    row["seller_name_hash"] = hash_pii(merged.get("seller_name"), pii_salt)
    row["seller_phone_hash"] = hash_pii(merged.get("seller_phone"), pii_salt)
    if row["equipment"] is None and detail is not None and detail.get("ad_status") != "gone":
        row["equipment"] = []
    row["mileage_min_km"], row["mileage_max_km"] = mileage_range(row["mileage_text"])
    if row["mileage_km"] is None and row["mileage_min_km"] == row["mileage_max_km"]:
        row["mileage_km"] = row["mileage_min_km"]
    if row["is_car"] is None:
        row["is_car"] = "/voiture" in (row["url"] or "") if source == "moteur" else None
    row["ad_status"] = row["ad_status"] or "active"
    if isinstance(row["attributes"], dict):
        row["attributes"] = _ATTRIBUTES_JSON.encode(row["attributes"])
    return row


def _card_day(session: _Session, card: dict, day: dt.date) -> tuple[dt.date | None, dict | None]:
    """Posting day of a card; a card dated only relatively ("il y a 2 jours") near `day` asks its ad page."""
    card_day = _utc_day(card.get("posted_at"))
    if card.get("posted_at_exact") is not False or card_day is None or abs((card_day - day).days) > 1:
        return card_day, None
    detail = session.detail(card["url"])
    exact = detail.get("posted_at") if detail else None
    return (_utc_day(exact) if exact else card_day), detail


def _needs_ad_page(card: dict, day: dt.date) -> bool:
    """Whether the avito walk opens this card's ad page: the day's ads, and cards dated too coarsely to tell."""
    card_day = _utc_day(card.get("posted_at"))
    if card_day is None:
        return False
    if card.get("posted_at_exact") is False and abs((card_day - day).days) <= 1:
        return True
    return card_day == day


def _with_query(url: str, **values) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in values]
    return urlunsplit(parts._replace(query=urlencode(query + [(k, str(v)) for k, v in values.items()])))


def _gallop(first: int, too_new: Callable[[int], bool]) -> int:
    """The first page number at or after `first` that is not too new, for a predicate that is true on a prefix
    of pages: exponential steps, then bisection (about 2·log₂ pages read instead of every page)."""
    low, step = first, 1
    while too_new(low + step):
        low, step = low + step, step * 2
    high = low + step
    while high - low > 1:
        middle = (low + high) // 2
        if too_new(middle):
            low = middle
        else:
            high = middle
    return high


def _avito_start(session: _Session, day: dt.date, start_url: str) -> str:
    """The first list page that can hold ads of `day`. Pages run newest first, so a search over `?o=N` skips
    the newer days' pages, which a walk from page 1 would read again for each older day of a backfill."""

    def too_new(page: ListPage) -> bool:
        last_day = _utc_day(page.cards[-1].get("posted_at")) if page.cards else None
        # relative dates ("il y a 2 jours") may put a card a day late
        return last_day is not None and last_day - dt.timedelta(days=1 if page.from_markup else 0) > day

    first = session.list_page(start_url)
    if not too_new(first) or not first.next_url:
        return start_url
    number = _gallop(1, lambda n: too_new(session.list_page(_with_query(first.next_url, o=n))))
    return _with_query(first.next_url, o=number)


_OFFSET_RE = re.compile(r"/(\d+)/?$")
_DATE_LOOK_BACK = 3  # ads read from the end of a Moteur list page to find one whose page gives its date


def _last_dated_day(session: _Session, cards: list[dict], look_back: int = _DATE_LOOK_BACK) -> dt.date | None:
    """The posting day of the last of a Moteur list page's ads whose page gives one, among its last `look_back`. A
    deleted ad's page gives none; the ads above it are at least as new, and a deleted ad of the day could not be
    placed in it anyway."""
    for card in reversed(cards[-look_back:]):
        detail = session.detail(card["url"])
        posted_day = _utc_day(detail.get("posted_at")) if detail else None
        if posted_day is not None:
            return posted_day
    return None


def _moteur_start(session: _Session, day: dt.date, start_url: str) -> str:
    """The first list page that can hold ads of `day`, found by offset (`…/achat-voiture-occasion/<offset>`)
    from the last card's ad page of each page tried, as the walk itself decides."""

    def too_new(page: ListPage) -> bool:
        # a deleted last ad gives no date: taken for "not too new", it stopped the search early, and the walk
        # then read (and dated) every page from there, 13 days of pages for a partition of the 1M market
        oldest_day = _last_dated_day(session, [card for card in page.cards if card.get("listing_id")])
        return oldest_day is not None and oldest_day > day

    first = session.list_page(start_url)
    match = _OFFSET_RE.search(urlsplit(first.next_url or "").path)
    if not too_new(first) or not match or int(match.group(1)) <= 0:
        return start_url
    size = int(match.group(1))

    def page_url(number: int) -> str:
        parts = urlsplit(first.next_url)
        return urlunsplit(parts._replace(path=_OFFSET_RE.sub(f"/{number * size}", parts.path)))

    return page_url(_gallop(0, lambda n: too_new(session.list_page(page_url(n)))))


def _avito_last_day(page: ListPage) -> tuple[dt.date | None, dt.timedelta]:
    """The day of the page's last card, and the slack its dates need (relative dates may be a day late)."""
    last_day = _utc_day(page.cards[-1].get("posted_at")) if page.cards else None
    return last_day, dt.timedelta(days=1 if page.from_markup else 0)


def _avito_prefetch(session: _Session, page: ListPage, day: dt.date, skip: set[str]) -> None:
    """Ask for the next list page when the walk will read it, then for the page's ads of the day."""
    last_day, slack = _avito_last_day(page)
    if last_day is not None and last_day + slack >= day:
        session.prefetch([page.next_url])
    session.prefetch(card["url"] for card in page.cards if card["listing_id"] not in skip and _needs_ad_page(card, day))


def _avito_look_ahead(session: _Session, next_url: str | None, day: dt.date, seen: set[str], on_page: set[str]) -> bool:
    """Read the next list page if it has arrived and ask for what it leads to, leaving out the cards of the page
    being walked; whether it was read (a failure to parse it waits in the session for the walk to reach it)."""
    if not session.ready(next_url):
        return False
    try:
        page = session.list_page(next_url)
    except ScrapeError:
        return True
    _avito_prefetch(session, page, day, seen | on_page)
    return True


def _scrape_avito(session: _Session, day: dt.date, start_url: str, pii_salt: str, rows: list[dict]) -> int:
    found = 0
    seen: set[str] = set()
    url: str | None = start_url
    page_number = 0
    while url:
        page = session.list_page(url)
        page_number += 1
        kept = 0
        _avito_prefetch(session, page, day, seen)
        last_day, slack = _avito_last_day(page)
        on_page = {card["listing_id"] for card in page.cards}
        looked_ahead = False
        for card in page.cards:
            # Once the next list page (asked for with this one's ads) has arrived, its ad pages are asked for too,
            # so the fetch queue does not run dry at the end of this page. Cards listed here as well are left to
            # the walk, which knows by then whether it kept them.
            looked_ahead = looked_ahead or _avito_look_ahead(session, page.next_url, day, seen, on_page)
            if card["listing_id"] in seen:
                continue
            card_day, detail = _card_day(session, card, day)
            if card_day is None:
                session.fail(card["url"] or f"{url}#card-{card['listing_id']}", "card", "no_posting_date",
                             "the card shows no readable posting date")
                continue
            if card_day != day:
                continue
            seen.add(card["listing_id"])
            kept += 1
            # a deleted or broken ad page still leaves the card's fields
            rows.append(build_row("avito", card, detail or session.detail(card["url"]), pii_salt))
        found += kept
        _progress.debug("avito %s: list page %d: %d cards, %d from that day", day, page_number, len(page.cards), kept)
        # pinned ads can sit out of order at the top, the last card tells where the page ends in time;
        # relative dates ("il y a 2 jours") are a day too coarse to stop on
        if last_day is None or last_day + slack < day:
            break
        url = page.next_url
    return found


def _oldest_day(session: _Session, cards: list[dict]) -> dt.date | None:
    """The posting day of a Moteur list page's last ad (cards carry no date; ads run newest first)."""
    return _last_dated_day(session, cards, look_back=1)


class _MoteurLookAhead:
    """While the walk reads a page that is wholly the day's, the pages it will read next are asked for as soon as
    they can be known, so the fetch queue does not run dry between pages: the next list page once it arrives,
    its last ad (which dates it), and when that ad is the day's too, its other ads and the list page after it.
    The walk reads each of them: dates fall down the list, so a page wholly the day's is followed by the next."""

    def __init__(self, session: _Session, next_url: str | None, day: dt.date):
        self.session, self.day = session, day
        self.next_url: str | None = next_url  # None once there is nothing more to look at
        self.cards: list[dict] | None = None  # the next page's cards with an ad id, once it is read
        self.page_next: str | None = None

    def step(self) -> None:
        if self.next_url is None:
            return
        if self.cards is None:
            if not self.session.ready(self.next_url):
                return
            try:
                page = self.session.list_page(self.next_url)
            except ScrapeError:  # it waits in the session for the walk to reach it
                self.next_url = None
                return
            self.cards = [card for card in page.cards if card.get("listing_id")]
            self.page_next = page.next_url
            if not self.cards:
                self.next_url = None
                return
            self.session.prefetch([self.cards[-1]["url"]])
        elif self.session.ready(self.cards[-1]["url"]) or self.cards[-1]["url"] in self.session.parsed:
            if _oldest_day(self.session, self.cards) == self.day:
                self.session.prefetch([self.page_next, *(card["url"] for card in self.cards)])
            self.next_url = None


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
        oldest_day = _oldest_day(session, cards)
        ahead = None
        if oldest_day == day:
            # the whole page is the day's (ads run newest first), so every ad page and the next list page
            # will be read; on the page where the day ends the walk stops at the first older ad, one at a time
            session.prefetch([page.next_url, *(card["url"] for card in cards)])
            ahead = _MoteurLookAhead(session, page.next_url, day)
        if oldest_day is None or oldest_day <= day:
            for card in cards:
                if ahead is not None:
                    ahead.step()
                detail = session.detail(card["url"])
                posted_day = _utc_day(detail.get("posted_at")) if detail else None
                if detail is not None and posted_day is None:
                    # moteur cards carry no date: an ad page without a readable one cannot be placed in a day
                    if detail.get("ad_status") == "gone":
                        session.fail(card["url"], "ad", "ad_gone", "deleted before its page could give its date",
                                     counted=False)
                    else:
                        session.fail(card["url"], "ad", "no_posting_date", "the ad page shows no readable Date line")
                if posted_day is None or posted_day > day or card["listing_id"] in seen:
                    continue
                if posted_day < day:
                    reached_older = True  # ids and dates decrease down the list
                    break
                seen.add(card["listing_id"])
                kept += 1
                rows.append(build_row("moteur", card, detail, pii_salt))
        found += kept
        _progress.debug("moteur %s: list page %d: %d cards, %d from that day", day, page_number, len(cards), kept)
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
    reuse: dict[str, Response] | None = None,
    workers: int | None = None,
) -> ScrapeResult:
    """All ads `source` shows as posted on `day` (UTC), one merged row each, newest first.

    `reuse` maps ad-page URLs to archived answers (an earlier or crashed run of the partition): those pages
    are copied into the new archive instead of fetched again; list pages are always fetched (prices move).
    `workers` pages are fetched at once (default: LOCAL_WORKERS over HTTP from this machine, else one)."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    started = time.perf_counter()
    if workers is None:
        workers = LOCAL_WORKERS if isinstance(fetcher, HttpFetcher) and is_local_host(base_url) else 1
    session = _Session(source, fetcher, archive, log or (lambda line: None), reuse, workers)
    start_url = base_url.rstrip("/") + LIST_PATHS[source]
    rows: list[dict] = []
    walk, search = (_scrape_avito, _avito_start) if source == "avito" else (_scrape_moteur, _moteur_start)
    try:
        found = walk(session, day, search(session, day, start_url), pii_salt, rows)
    except ScrapeError as error:
        error.failures = list(session.failure_records)
        raise
    finally:
        session.finish()
    return ScrapeResult(
        rows=rows, pages_fetched=session.pages_fetched, listings_found=found,
        parse_failures=sum(session.failures.values()), http_status_counts=dict(session.status_counts),
        duration_s=time.perf_counter() - started, failures_by_reason=dict(session.failures),
        retries=session.retries, network_errors=dict(session.network_errors), challenges=session.challenges,
        reused_pages=session.reused_pages, gone=session.gone, failures=list(session.failure_records),
    )


def reusable_pages(*archive_paths: Path | str) -> dict[str, Response]:
    """Ad pages answered 200 in earlier archives of a partition (complete or left by a crash), by URL."""
    pages: dict[str, Response] = {}
    for path in archive_paths:
        if not Path(path).exists():
            continue
        for response in read_archive(path, tolerate_truncation=True):
            if response.status == 200 and not response.is_challenge and _is_ad_page(response.url):
                pages[response.url] = response
    return pages


def _is_ad_page(url: str) -> bool:
    path = urlsplit(url).path
    return path.endswith(".htm") or "/detail-annonce/" in path


class ArchiveFetcher:
    """Serves pages from a WARC file in place of the network (replays repeated URLs in order)."""

    name = "archive"

    def __init__(self, path: Path | str):
        self._responses: dict[str, deque[Response]] = defaultdict(deque)
        for response in read_archive(path):
            if not response.retried:  # replay what the scrape finally used, not the 429s before it
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
