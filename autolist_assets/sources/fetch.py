"""Fetchers that turn a URL into a Response: plain HTTP (httpx) or a real headless Chromium (Selenium)."""

from __future__ import annotations

import collections
import datetime as dt
import functools
import http.client
import ipaddress
import json
import os
import random
import select
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from urllib.parse import SplitResult, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from autolist_assets.sources.text import page_text

DEFAULT_USER_AGENT = "AutoListBot/0.1 (+https://github.com/autolist; contact: data@autolist.ma)"
CHROMIUM_PATH = "/usr/bin/chromium"
CHROMEDRIVER_PATH = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
)
REMOTE_MIN_INTERVAL_S = 1.0


@dataclass
class Response:
    """One fetched page, as archived and parsed."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: dt.datetime
    fetcher: str
    # answers that were retried before this one (archived too), and network failures on the way
    attempts: list["Response"] = field(default_factory=list)
    network_errors: list[str] = field(default_factory=list)
    retried: bool = False  # read back from an archive: an answer that was asked again (a 429, a 503...)

    @property
    def retries(self) -> int:
        """How many times this URL was asked again before this answer."""
        return len(self.attempts) + len(self.network_errors)

    @property
    def server_time(self) -> dt.datetime:
        """The server's clock (Date header) when it sent one, else our fetch time: relative dates count from it."""
        value = next((v for k, v in self.headers.items() if k.lower() == "date"), None)
        if value:
            try:
                from email.utils import parsedate_to_datetime

                return parsedate_to_datetime(value).astimezone(dt.timezone.utc)
            except (TypeError, ValueError):
                pass
        return self.fetched_at

    @functools.cached_property
    def is_challenge(self) -> bool:
        """A Cloudflare interstitial ('Just a moment...', 'Attention Required'), never a real page."""
        # cached: the retry loop, the status counts and the page's reader each ask, for every page fetched
        return is_challenge(self.status, self.headers, self.body)

    @property
    def text(self) -> str:
        """Body as text: UTF-8 (both sites serve it), unless a byte-order mark or the Content-Type says otherwise."""
        return page_text(self.page)

    @property
    def page(self) -> str | bytes:
        """The body as the parsers take it: its bytes when they are UTF-8 (without a byte-order mark), so that a
        parser decodes only the part it reads; otherwise the text."""
        body = self.body
        if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
            return body.decode("utf-16", errors="replace")
        if body[:3] == b"\xef\xbb\xbf":
            body = body[3:]
        content_type = next((v for k, v in self.headers.items() if k.lower() == "content-type"), "")
        charset = content_type.lower().partition("charset=")[2].split(";")[0].strip().strip('"')
        if charset and charset not in ("utf-8", "utf8"):
            try:
                return body.decode(charset, errors="replace")
            except LookupError:
                pass  # a charset nobody knows: read it as the UTF-8 the sites send
        return body


@runtime_checkable
class Fetcher(Protocol):
    """Anything that can GET a URL and be closed."""

    def get(self, url: str) -> Response: ...

    def close(self) -> None: ...


class RobotsDisallowed(PermissionError):
    """robots.txt of the host forbids this URL for our user agent."""


class FetchError(IOError):
    """Every attempt at a URL failed on the network (timeouts, resets, cut bodies)."""

    def __init__(self, url: str, network_errors: list[str], attempts: list[Response]):
        super().__init__(f"{url}: {len(network_errors)} network failures ({', '.join(network_errors)})")
        self.url = url
        self.network_errors = network_errors
        self.attempts = attempts


RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_CHALLENGE_MARKERS = (b"<title>Just a moment", b"<title>Attention Required", b"/cdn-cgi/challenge-platform")


def is_challenge(status: int, headers: dict[str, str], body: bytes) -> bool:
    """Cloudflare challenge page, whatever the status the fetcher could see (browsers hide it)."""
    # asked three times of every page: the header value is looked for before any name is lower-cased, and the
    # markers are searched in place in the first 4 kB rather than in a copy of them
    if "challenge" in headers.values() and any(
            value == "challenge" and name.lower() == "cf-mitigated" for name, value in headers.items()):
        return True
    return any(body.find(marker, 0, 4096) >= 0 for marker in _CHALLENGE_MARKERS)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with jitter for 5xx, timeouts and resets; 429 waits what Retry-After says."""

    max_attempts: int = 6
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    max_retry_after_s: float = 300.0  # a longer Retry-After is a ban, not a pause: give up instead
    local_base_delay_s: float = 0.05  # the demo on 127.0.0.1 has no crowd to spread out from

    def backoff(self, attempt: int, rng: random.Random, local: bool = False) -> float:
        """Delay before attempt `attempt + 1`: base·2^attempt, jittered to 50–150 % so clients spread out."""
        base = min(self.base_delay_s, self.local_base_delay_s) if local else self.base_delay_s
        return min(self.max_delay_s, base * 2 ** attempt) * rng.uniform(0.5, 1.5)


def retry_after_seconds(headers: dict[str, str]) -> float | None:
    """Retry-After as seconds (integer form or HTTP date), None when absent or unreadable."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        from email.utils import parsedate_to_datetime

        return max(0.0, (parsedate_to_datetime(value) - dt.datetime.now(dt.timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return None


def _network_error_kind(error: Exception) -> str:
    import httpx as _httpx

    if isinstance(error, _httpx.TimeoutException):
        return "timeout"
    text = str(error)
    if "complete message body" in text or "incomplete" in text.lower():
        return "truncated"
    if isinstance(error, _httpx.ConnectError):
        return "connect"
    return "reset"


def is_local_host(url: str) -> bool:
    """True for loopback hosts (the demo market), where politeness delays are pointless."""
    return _is_loopback_netloc(urlsplit(url).netloc)


@functools.lru_cache(maxsize=256)
def _is_loopback_netloc(netloc: str) -> bool:
    # asked three times per request: parsing the address each time cost more than the request to a local site
    host = urlsplit(f"//{netloc}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Politeness:
    """Per-host minimum interval between requests and robots.txt checks (remote hosts only by default)."""

    def __init__(self, user_agent: str, min_interval: float | None = None, respect_robots: bool | None = None):
        self.user_agent = user_agent
        self.min_interval = min_interval
        self.respect_robots = respect_robots
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}
        self._robots: dict[str, RobotFileParser] = {}

    def check(self, url: str) -> None:
        """Raise RobotsDisallowed if robots.txt forbids the URL, else wait for the host's next free slot."""
        parts = urlsplit(url)  # once: asked before every request, even to a site on this machine
        host = parts.netloc
        local = _is_loopback_netloc(host)
        check_robots = (not local) if self.respect_robots is None else self.respect_robots
        if check_robots and not self._robots_for(url).can_fetch(self.user_agent, url):
            raise RobotsDisallowed(url)
        interval = self.min_interval if self.min_interval is not None else (0.0 if local else REMOTE_MIN_INTERVAL_S)
        robots = self._robots.get(f"{parts.scheme}://{host}") if self._robots else None
        crawl_delay = robots.crawl_delay(self.user_agent) if robots else None
        interval = max(interval, float(crawl_delay or 0))
        if interval <= 0:
            self._wait_for_host(host)
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + interval
        if slot > now:
            time.sleep(slot - now)

    def defer(self, url: str, seconds: float) -> None:
        """Keep every request to this host waiting `seconds` (a 429's Retry-After applies to the host)."""
        host = urlsplit(url).netloc
        with self._lock:
            self._next_slot[host] = max(self._next_slot.get(host, 0.0), time.monotonic() + seconds)

    def _wait_for_host(self, host: str) -> None:
        """Sleep until the host's deferral (if any) has passed, whatever the rate limit."""
        with self._lock:
            slot = self._next_slot.get(host, 0.0)
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    @staticmethod
    def _origin(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    def _robots_for(self, url: str) -> RobotFileParser:
        origin = self._origin(url)
        with self._lock:
            cached = self._robots.get(origin)
        if cached is not None:
            return cached
        parser = RobotFileParser(origin + "/robots.txt")
        try:
            answer = httpx.get(origin + "/robots.txt", headers={"User-Agent": self.user_agent}, timeout=15,
                               follow_redirects=True)
            if answer.status_code in (401, 403):
                parser.disallow_all = True
            elif answer.status_code >= 400:
                parser.allow_all = True  # no robots.txt: everything allowed
            else:
                parser.parse(answer.text.splitlines())
        except httpx.HTTPError:
            parser.allow_all = True  # unreachable robots.txt is treated like a missing one, as crawlers do
        with self._lock:
            self._robots[origin] = parser
        return parser


def _is_final(response: Response) -> bool:
    """An answer to keep: not one to ask again (429, 5xx, a challenge)."""
    return response.status not in RETRY_STATUSES and not response.is_challenge


def fetch_with_retries(url: str, attempt_once, politeness: Politeness, policy: RetryPolicy,
                       rng: random.Random, first: Response | FetchError | None = None) -> Response:
    """Ask until an answer is final: 429 honours Retry-After, 5xx, challenges and network errors back off.

    `first` is the outcome of a first attempt already made (politeness checked then), as `LoopbackPipeline` makes
    them; the loop goes on from there."""
    attempts: list[Response] = []
    errors: list[str] = []
    local = is_local_host(url)
    for attempt in range(policy.max_attempts):
        try:
            if attempt == 0 and first is not None:
                if isinstance(first, FetchError):
                    raise first
                response = first
            else:
                politeness.check(url)
                response = attempt_once(url)
        except FetchError as error:  # one attempt failed on the network
            errors.extend(error.network_errors)
            if attempt + 1 < policy.max_attempts:
                time.sleep(policy.backoff(attempt, rng, local))
            continue
        if _is_final(response):
            response.attempts, response.network_errors = attempts, errors
            return response
        attempts.append(response)
        if attempt + 1 == policy.max_attempts:
            break
        retry_after = retry_after_seconds(response.headers) if response.status == 429 else None
        if retry_after is not None and retry_after > policy.max_retry_after_s:
            break
        delay = retry_after if retry_after is not None else policy.backoff(attempt, rng, local)
        politeness.defer(url, delay)
    if attempts:
        final = attempts.pop()
        final.attempts, final.network_errors = attempts, errors
        return final  # still 429/5xx/challenge: the caller reports it
    raise FetchError(url, errors, attempts)


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10


def _loopback_error_kind(error: BaseException) -> str:
    """The same kinds _network_error_kind gives httpx's errors, for the loopback client's."""
    if isinstance(error, (TimeoutError, socket.timeout)):
        return "timeout"
    if isinstance(error, http.client.IncompleteRead):
        return "truncated"
    if isinstance(error, ConnectionRefusedError):
        return "connect"
    return "reset"


def _status_line(line: bytes) -> tuple[str, int]:
    """(HTTP version, status) of a response's first line."""
    version, _, rest = line.decode("latin-1").partition(" ")
    if not version.startswith("HTTP/"):
        raise http.client.BadStatusLine(line)
    return version, int(rest[:3])


def _header_fields(lines: list[bytes]) -> dict[str, str]:
    """Header lines as httpx gives them: names lower-cased, repeated ones joined."""
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def _is_chunked(headers: dict[str, str]) -> bool:
    return headers.get("transfer-encoding", "").lower() == "chunked"


def _chunk_size(line: bytes) -> int:
    """The size of a chunk from its line ('1a;ext=1')."""
    return int(line.split(b";")[0].strip() or b"0", 16)


def _closes(version: str, headers: dict[str, str]) -> bool:
    """Whether the server ends the connection after this answer."""
    return headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"


def _target(parts: SplitResult) -> str:
    """The request target of a split URL: its path and query."""
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class _LoopbackConnection:
    """One keep-alive HTTP/1.1 connection to a loopback server: request out, status, headers and body back.

    Just enough HTTP for a local site (Content-Length or chunked bodies, keep-alive); header names come back
    lower-cased and repeated ones joined, as the httpx path gives them."""

    def __init__(self, netloc: str, timeout: float):
        self.host, _, port = netloc.rpartition(":")
        self.port = int(port)
        self.netloc = netloc
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.reader = None

    def close(self) -> None:
        if self.sock is not None:
            self.reader.close()
            self.sock.close()
            self.sock = self.reader = None

    def _open(self) -> None:
        # a kept-alive connection the server has closed meanwhile reads as ready (EOF): start a new one, as
        # httpcore does, rather than send into it and count a reset the site never made
        if self.sock is not None and select.select([self.sock], [], [], 0)[0]:
            self.close()
        if self.sock is None:
            self.sock = socket.create_connection((self.host.strip("[]"), self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.reader = self.sock.makefile("rb")

    def send(self, target: str, extra_headers: str) -> None:
        """Send one GET, on a new connection if this one has been closed."""
        self._open()
        self.sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {self.netloc}\r\n{extra_headers}\r\n".encode("latin-1"))

    def get(self, target: str, extra_headers: str) -> tuple[int, dict[str, str], bytes]:
        self.send(target, extra_headers)
        line = self.reader.readline(65537)
        if not line:
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        version, status = _status_line(line)
        lines = []
        while True:
            line = self.reader.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            lines.append(line)
        headers = _header_fields(lines)
        if _is_chunked(headers):
            chunks = []
            while True:
                size = _chunk_size(self.reader.readline(65537))
                if size == 0:
                    while self.reader.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunk = self.reader.read(size + 2)
                if len(chunk) < size + 2:
                    raise http.client.IncompleteRead(chunk)
                chunks.append(chunk[:size])
            body = b"".join(chunks)
        elif "content-length" in headers:
            length = int(headers["content-length"])
            body = self.reader.read(length)
            if len(body) < length:
                raise http.client.IncompleteRead(body, length - len(body))
        else:
            body = self.reader.read()
            headers["connection"] = "close"
        if _closes(version, headers):
            self.close()
        return status, headers, body


class HttpFetcher:
    """Keep-alive httpx client with an identifying User-Agent, politeness and retries.

    Plain-HTTP loopback URLs (the demo marketplace) go through a lean keep-alive http.client connection per
    thread instead: httpx spends about four times the CPU per request, which is the scraper's main cost when
    the site answers in a fraction of a millisecond. Everything else (TLS, compression, the live sites) uses
    httpx; politeness and retries are the same for both.
    """

    name = "http"

    def __init__(
        self,
        user_agent: str = DEFAULT_USER_AGENT,
        timeout: float = 30.0,
        max_connections: int = 4,
        min_interval: float | None = None,
        respect_robots: bool | None = None,
        retry: RetryPolicy | None = None,
        seed: int | None = None,
        fast_loopback: bool = True,
    ):
        self.politeness = Politeness(user_agent, min_interval, respect_robots)
        self.retry = retry or RetryPolicy()
        self._rng = random.Random(seed)
        self._timeout = timeout
        self._fast_loopback = fast_loopback
        self._loopback_request_headers = (
            f"User-Agent: {user_agent}\r\nAccept-Language: fr-FR,fr;q=0.9\r\nAccept: */*\r\n"
            "Accept-Encoding: identity\r\n"
        )
        self._local = threading.local()  # this thread's loopback connections, by host:port
        self._connections: list[_LoopbackConnection] = []
        self._connections_lock = threading.Lock()
        self._client = httpx.Client(
            headers={"User-Agent": user_agent, "Accept-Language": "fr-FR,fr;q=0.9"},
            timeout=timeout,
            follow_redirects=True,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    def get(self, url: str) -> Response:
        """GET one URL with retries; a final HTTP error comes back as a Response, network failure raises FetchError."""
        return fetch_with_retries(url, self._get_once, self.politeness, self.retry, self._rng)

    def _get_once(self, url: str, redirects: int = 0) -> Response:
        if self._fast_loopback and url.startswith("http://") and is_local_host(url):
            return self._get_loopback(url, redirects)
        try:
            answer = self._client.get(url)
        except httpx.TransportError as error:
            raise FetchError(url, [_network_error_kind(error)], []) from error
        headers: dict[str, str] = {}
        for name, value in answer.headers.multi_items():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return Response(
            url=str(answer.url), status=answer.status_code, headers=headers, body=answer.content,
            fetched_at=dt.datetime.now(dt.timezone.utc), fetcher=self.name,
        )

    def _get_loopback(self, url: str, redirects: int) -> Response:
        parts = urlsplit(url)
        connection = self._local.__dict__.setdefault("connections", {}).get(parts.netloc)
        if connection is None:
            connection = _LoopbackConnection(parts.netloc, self._timeout)
            self._local.connections[parts.netloc] = connection
            with self._connections_lock:
                self._connections.append(connection)
        target = _target(parts)
        try:
            status, headers, body = connection.get(target, self._loopback_request_headers)
        except (OSError, http.client.HTTPException) as error:
            connection.close()
            raise FetchError(url, [_loopback_error_kind(error)], []) from error
        location = headers.get("location")
        if status in _REDIRECTS and location and redirects < MAX_REDIRECTS:
            return self._get_once(urljoin(url, location), redirects + 1)
        return Response(url=url, status=status, headers=headers, body=body,
                        fetched_at=dt.datetime.now(dt.timezone.utc), fetcher=self.name)

    def pipeline(self, width: int) -> LoopbackPipeline:
        """Up to `width` loopback pages in flight from the calling thread (see LoopbackPipeline)."""
        return LoopbackPipeline(self, width)

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()

    def __enter__(self) -> "HttpFetcher":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class _Answer:
    """A page asked for through a `LoopbackPipeline`, with the Future methods the scrape uses."""

    __slots__ = ("url", "pipeline", "direct", "first", "final")

    def __init__(self, url: str, pipeline: "LoopbackPipeline", direct: bool):
        self.url = url
        self.pipeline = pipeline
        self.direct = direct  # not a loopback URL: fetched by `HttpFetcher.get` when asked for
        self.first: Response | FetchError | None = None  # the first attempt's outcome, once it has come
        self.final: Response | BaseException | None = None

    def done(self) -> bool:
        """Whether the final answer is known without waiting: the first attempt has come and needs no retry."""
        if self.final is None and self.first is None:
            self.pipeline.pump(0.0)
        if self.final is None and isinstance(self.first, Response) and _is_final(self.first):
            self.final = self.first
        return self.final is not None

    def exception(self) -> BaseException | None:
        return self.final if isinstance(self.final, BaseException) else None

    def result(self) -> Response:
        """The final answer: waits for the first attempt, then asks again one at a time as `HttpFetcher.get` does."""
        if self.final is None:
            self.final = self.pipeline.finish(self)
        if isinstance(self.final, BaseException):
            raise self.final
        return self.final


class _PipeConnection(_LoopbackConnection):
    """A keep-alive connection of a `LoopbackPipeline`: one request in flight at a time, its answer read from the
    socket as it comes rather than waited for."""

    def __init__(self, netloc: str, timeout: float):
        super().__init__(netloc, timeout)
        self.answer: _Answer | None = None
        self.deadline = 0.0
        self.buffer = bytearray()
        self.head: tuple[str, int, dict[str, str], int] | None = None  # version, status, headers, body start


class LoopbackPipeline:
    """Up to `width` pages of a loopback site in flight from the calling thread alone.

    The scrape asks for the ad pages it will read next while it parses the current ones. A pool of threads did the
    asking before, and switching between them and the parsing thread cost more CPU than the requests themselves
    (about a fifth of the scrape's). Here the calling thread sends each request on a free keep-alive connection and
    reads whatever has arrived whenever it looks for an answer. Only a URL's first attempt is asked this way: an
    answer to ask again (429, 5xx, a challenge, a network error) goes on in `fetch_with_retries`, and a redirect is
    followed by `HttpFetcher`, one request at a time, as `HttpFetcher.get` would have gone on. A URL that is not a
    plain-HTTP loopback URL is fetched by `HttpFetcher.get` when its answer is asked for.
    """

    def __init__(self, fetcher: "HttpFetcher", width: int):
        self.fetcher = fetcher
        self.width = max(1, width)
        self._queue: collections.deque[_Answer] = collections.deque()
        self._connections: list[_PipeConnection] = []

    def submit(self, url: str) -> _Answer:
        loopback = self.fetcher._fast_loopback and url.startswith("http://") and is_local_host(url)
        answer = _Answer(url, self, direct=not loopback)
        if not answer.direct:
            self._queue.append(answer)
            self._send_queued()
        return answer

    def finish(self, answer: _Answer) -> Response | BaseException:
        """The final answer (or the error that ends the URL): waits for the first attempt, then retries if needed."""
        if answer.direct:
            try:
                return self.fetcher.get(answer.url)
            except Exception as error:
                return error
        while answer.first is None and answer.final is None:
            self.pump(None)
        if answer.final is not None:  # politeness refused it (robots.txt)
            return answer.final
        if isinstance(answer.first, Response) and _is_final(answer.first):
            return answer.first
        fetcher = self.fetcher
        try:
            return fetch_with_retries(answer.url, fetcher._get_once, fetcher.politeness, fetcher.retry, fetcher._rng,
                                      first=answer.first)
        except Exception as error:
            return error

    def pump(self, timeout: float | None) -> None:
        """Read what has arrived, waiting up to `timeout` seconds (None: until something comes or a request times
        out), and send queued requests on the connections that came free."""
        self._send_queued()
        busy = [c for c in self._connections if c.answer is not None]
        if not busy:
            return
        wait = max(0.0, min(c.deadline for c in busy) - time.monotonic())
        if timeout is not None:
            wait = min(wait, timeout)
        readable, _, _ = select.select([c.sock for c in busy], [], [], wait)
        for connection in busy:
            if connection.sock in readable:
                self._read(connection)
        now = time.monotonic()
        for connection in busy:
            if connection.answer is not None and now >= connection.deadline:
                self._fail(connection, "timeout")
        self._send_queued()

    def close(self) -> None:
        for connection in self._connections:
            connection.close()
        self._connections.clear()

    # -- sending and reading

    def _send_queued(self) -> None:
        while self._queue:
            connection = self._free_connection(urlsplit(self._queue[0].url).netloc)
            if connection is None:
                return
            self._send(connection, self._queue.popleft())

    def _free_connection(self, netloc: str) -> _PipeConnection | None:
        free = next((c for c in self._connections if c.answer is None and c.netloc == netloc), None)
        if free is not None:
            return free
        if sum(c.answer is not None for c in self._connections) >= self.width:
            return None
        if len(self._connections) >= self.width:  # a free connection to another host makes room
            idle = next(c for c in self._connections if c.answer is None)
            idle.close()
            self._connections.remove(idle)
        connection = _PipeConnection(netloc, self.fetcher._timeout)
        self._connections.append(connection)
        return connection

    def _send(self, connection: _PipeConnection, answer: _Answer) -> None:
        fetcher = self.fetcher
        try:
            fetcher.politeness.check(answer.url)  # a 429's deferral, and robots.txt or a rate limit when asked for
        except Exception as error:
            answer.final = error
            return
        parts = urlsplit(answer.url)
        try:
            connection.send(_target(parts), fetcher._loopback_request_headers)
        except OSError as error:
            connection.close()
            answer.first = FetchError(answer.url, [_loopback_error_kind(error)], [])
            return
        connection.answer, connection.deadline = answer, time.monotonic() + fetcher._timeout
        connection.buffer.clear()
        connection.head = None

    def _read(self, connection: _PipeConnection) -> None:
        try:
            data = connection.sock.recv(1 << 18)
        except OSError as error:
            self._fail(connection, _loopback_error_kind(error))
            return
        buffer = connection.buffer
        if not data:  # the server closed the connection
            head = connection.head
            if head is not None and "content-length" not in head[2] and not _is_chunked(head[2]):
                self._complete(connection, bytes(buffer[head[3]:]), close=True)  # a body that runs to the close
            else:
                self._fail(connection, "truncated" if head is not None else "reset")
            return
        buffer += data
        if connection.head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            try:
                lines = bytes(buffer[:end]).split(b"\r\n")
                version, status = _status_line(lines[0])
            except (ValueError, http.client.HTTPException):
                self._fail(connection, "reset")
                return
            connection.head = (version, status, _header_fields(lines[1:]), end + 4)
        version, status, headers, start = connection.head
        if _is_chunked(headers):
            body = _dechunked(buffer, start)
            if body is not None:
                self._complete(connection, body)
        elif "content-length" in headers:
            length = int(headers["content-length"])
            if len(buffer) - start >= length:
                self._complete(connection, bytes(buffer[start:start + length]))

    def _complete(self, connection: _PipeConnection, body: bytes, close: bool = False) -> None:
        version, status, headers, _ = connection.head
        answer, connection.answer = connection.answer, None
        if close or _closes(version, headers):
            connection.close()
        location = headers.get("location")
        if status in _REDIRECTS and location:
            try:  # followed as `HttpFetcher` follows it: part of this first attempt
                answer.first = self.fetcher._get_once(urljoin(answer.url, location), 1)
            except FetchError as error:
                answer.first = error
            return
        answer.first = Response(url=answer.url, status=status, headers=headers, body=body,
                                fetched_at=dt.datetime.now(dt.timezone.utc), fetcher=self.fetcher.name)

    def _fail(self, connection: _PipeConnection, kind: str) -> None:
        answer, connection.answer = connection.answer, None
        connection.close()
        answer.first = FetchError(answer.url, [kind], [])


def _dechunked(buffer: bytearray, start: int) -> bytes | None:
    """A chunked body that starts at `start`, once all of it (through its trailers) is in `buffer`; else None."""
    chunks, position = [], start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = _chunk_size(bytes(buffer[position:line_end]))
        position = line_end + 2
        if size == 0:
            trailers_end = buffer.find(b"\r\n\r\n", position - 2)
            return b"".join(chunks) if trailers_end >= 0 else None
        if len(buffer) < position + size + 2:
            return None
        chunks.append(bytes(buffer[position:position + size]))
        position += size + 2


def start_chromium(*extra_flags: str, capabilities: dict | None = None,
                   chromium_path: str = CHROMIUM_PATH, chromedriver_path: str = CHROMEDRIVER_PATH):
    """A headless Chromium under Selenium (CHROMIUM_FLAGS plus `extra_flags`) whose scratch files go to a private
    temp dir that the driver's quit() removes.

    Chromium leaves a directory with its process-singleton socket in $TMPDIR at every exit, clean or not, so
    without its own TMPDIR each browser run would leave one more directory in /tmp.
    """
    # imported lazily: HTTP-only runs never pay for Selenium
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    scratch = tempfile.mkdtemp(prefix="autolist-chromium-")

    class Chromium(webdriver.Chrome):
        def quit(self) -> None:
            try:
                super().quit()
            finally:
                shutil.rmtree(scratch, ignore_errors=True)

    options = webdriver.ChromeOptions()
    # explicit binary and driver paths keep Selenium Manager from trying to download anything
    options.binary_location = chromium_path
    for flag in (*CHROMIUM_FLAGS, *extra_flags):
        options.add_argument(flag)
    for name, value in (capabilities or {}).items():
        options.set_capability(name, value)
    service = Service(executable_path=chromedriver_path, env={**os.environ, "TMPDIR": scratch})
    try:
        return Chromium(service=service, options=options)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


class BrowserFetcher:
    """Headless Chromium through Selenium, one driver reused for every page (started on first use)."""

    name = "browser"

    def __init__(
        self,
        user_agent: str | None = DEFAULT_USER_AGENT,
        page_load_timeout: float = 30.0,
        min_interval: float | None = None,
        respect_robots: bool | None = None,
        chromium_path: str = CHROMIUM_PATH,
        chromedriver_path: str = CHROMEDRIVER_PATH,
        retry: RetryPolicy | None = None,
        seed: int | None = None,
        click_more: bool = True,
    ):
        self.politeness = Politeness(user_agent or DEFAULT_USER_AGENT, min_interval, respect_robots)
        self.retry = retry or RetryPolicy()
        self._rng = random.Random(seed)
        self._click_more = click_more
        self._user_agent = user_agent
        self._page_load_timeout = page_load_timeout
        self._chromium_path = chromium_path
        self._chromedriver_path = chromedriver_path
        self._driver = None
        self._lock = threading.Lock()  # one driver, one page at a time

    @property
    def driver(self):
        """The Selenium driver, started on first access."""
        if self._driver is None:
            flags = [f"--user-agent={self._user_agent}"] if self._user_agent else []
            # the performance log carries the document's real status and headers, which WebDriver hides
            self._driver = start_chromium(*flags, capabilities={"goog:loggingPrefs": {"performance": "ALL"}},
                                          chromium_path=self._chromium_path, chromedriver_path=self._chromedriver_path)
            self._driver.set_page_load_timeout(self._page_load_timeout)
        return self._driver

    def get(self, url: str) -> Response:
        """Load the URL with retries and return the rendered DOM, with the document's status from the network log."""
        return fetch_with_retries(url, self._get_once, self.politeness, self.retry, self._rng)

    def _get_once(self, url: str) -> Response:
        from selenium.common.exceptions import TimeoutException, WebDriverException

        with self._lock:
            driver = self.driver
            driver.get_log("performance")  # drop events of earlier pages
            try:
                driver.get(url)
            except TimeoutException as error:
                driver.execute_script("window.stop();")
                raise FetchError(url, ["timeout"], []) from error
            except WebDriverException as error:
                raise FetchError(url, ["reset"], []) from error
            status, headers, failure = self._document_answer(driver.get_log("performance"))
            if failure is not None:
                raise FetchError(url, [failure], [])
            if self._click_more and status == 200:
                self._click_voir_plus(driver)
            html = driver.page_source
            final_url = driver.current_url
        return Response(
            url=final_url, status=status or 200, headers=headers or {"content-type": "text/html; charset=utf-8"},
            body=html.encode("utf-8"), fetched_at=dt.datetime.now(dt.timezone.utc), fetcher=self.name,
        )

    @staticmethod
    def _document_answer(entries: list[dict]) -> tuple[int | None, dict[str, str], str | None]:
        """(status, headers, network failure) of the main document among the page's DevTools events."""
        status, headers, request_id, failure = None, {}, None, None
        for entry in entries:
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if message.get("method") == "Network.responseReceived" and params.get("type") == "Document":
                request_id = params.get("requestId")
                answer = params["response"]
                status = int(answer["status"])
                headers = {name.lower(): str(value) for name, value in answer.get("headers", {}).items()}
            elif message.get("method") == "Network.loadingFailed" and params.get("type") == "Document":
                if request_id is None or params.get("requestId") == request_id:
                    text = params.get("errorText", "")
                    failure = "truncated" if "CONTENT_LENGTH" in text or "INCOMPLETE" in text else \
                        "timeout" if "TIMED_OUT" in text else "reset"
        return status, headers, failure

    @staticmethod
    def _click_voir_plus(driver) -> None:
        """Reveal attributes hidden behind 'Voir plus' buttons (found by their text, class names rotate)."""
        from selenium.webdriver.common.by import By

        for button in driver.find_elements(By.XPATH, "//button[normalize-space()='Voir plus']"):
            try:
                button.click()
            except Exception:  # a button that vanished or is covered: the JSON still has the data
                continue

    def close(self) -> None:
        """Quit Chromium."""
        if self._driver is not None:
            self._driver.quit()
            self._driver = None

    def __enter__(self) -> "BrowserFetcher":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
