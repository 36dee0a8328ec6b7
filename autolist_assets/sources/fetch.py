"""Fetchers that turn a URL into a Response: plain HTTP (httpx) or a real headless Chromium (Selenium)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import threading
import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx

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

    @property
    def text(self) -> str:
        """Body decoded as UTF-8 (both sites serve UTF-8)."""
        return self.body.decode("utf-8", errors="replace")


@runtime_checkable
class Fetcher(Protocol):
    """Anything that can GET a URL and be closed."""

    def get(self, url: str) -> Response: ...

    def close(self) -> None: ...


class RobotsDisallowed(PermissionError):
    """robots.txt of the host forbids this URL for our user agent."""


def is_local_host(url: str) -> bool:
    """True for loopback hosts (the demo market), where politeness delays are pointless."""
    host = urlsplit(url).hostname or ""
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
        local = is_local_host(url)
        check_robots = (not local) if self.respect_robots is None else self.respect_robots
        if check_robots and not self._robots_for(url).can_fetch(self.user_agent, url):
            raise RobotsDisallowed(url)
        interval = self.min_interval if self.min_interval is not None else (0.0 if local else REMOTE_MIN_INTERVAL_S)
        robots = self._robots.get(self._origin(url))
        crawl_delay = robots.crawl_delay(self.user_agent) if robots else None
        interval = max(interval, float(crawl_delay or 0))
        if interval <= 0:
            return
        host = urlsplit(url).netloc
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + interval
        if slot > now:
            time.sleep(slot - now)

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


class HttpFetcher:
    """Keep-alive httpx client with an identifying User-Agent and simple politeness."""

    name = "http"

    def __init__(
        self,
        user_agent: str = DEFAULT_USER_AGENT,
        timeout: float = 30.0,
        max_connections: int = 4,
        min_interval: float | None = None,
        respect_robots: bool | None = None,
    ):
        self.politeness = Politeness(user_agent, min_interval, respect_robots)
        self._client = httpx.Client(
            headers={"User-Agent": user_agent, "Accept-Language": "fr-FR,fr;q=0.9"},
            timeout=timeout,
            follow_redirects=True,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )

    def get(self, url: str) -> Response:
        """GET one URL; HTTP errors come back as a Response with their status, network errors raise."""
        self.politeness.check(url)
        answer = self._client.get(url)
        headers: dict[str, str] = {}
        for name, value in answer.headers.multi_items():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return Response(
            url=str(answer.url), status=answer.status_code, headers=headers, body=answer.content,
            fetched_at=dt.datetime.now(dt.timezone.utc), fetcher=self.name,
        )

    def close(self) -> None:
        """Close pooled connections."""
        self._client.close()

    def __enter__(self) -> "HttpFetcher":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


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
    ):
        self.politeness = Politeness(user_agent or DEFAULT_USER_AGENT, min_interval, respect_robots)
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
            # imported lazily: HTTP-only runs never pay for Selenium
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service

            options = webdriver.ChromeOptions()
            # explicit binary and driver paths keep Selenium Manager from trying to download anything
            options.binary_location = self._chromium_path
            for flag in CHROMIUM_FLAGS:
                options.add_argument(flag)
            if self._user_agent:
                options.add_argument(f"--user-agent={self._user_agent}")
            self._driver = webdriver.Chrome(service=Service(executable_path=self._chromedriver_path), options=options)
            self._driver.set_page_load_timeout(self._page_load_timeout)
        return self._driver

    def get(self, url: str) -> Response:
        """Load the URL and return the rendered DOM; status is always 200 because WebDriver hides it."""
        self.politeness.check(url)
        with self._lock:
            self.driver.get(url)
            html = self.driver.page_source
            final_url = self.driver.current_url
        return Response(
            url=final_url, status=200, headers={"content-type": "text/html; charset=utf-8"},
            body=html.encode("utf-8"), fetched_at=dt.datetime.now(dt.timezone.utc), fetcher=self.name,
        )

    def close(self) -> None:
        """Quit Chromium."""
        if self._driver is not None:
            self._driver.quit()
            self._driver = None

    def __enter__(self) -> "BrowserFetcher":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
