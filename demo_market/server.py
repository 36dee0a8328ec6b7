"""Serve the two look-alike sites on 127.0.0.1, one port each so paths match the real sites.

One asyncio event loop in a daemon thread answers both sites, each connection a protocol object. The pages are
rendered under the GIL either way; a thread per connection (http.server) spent twice the rendering's CPU on parsing
headers and switching threads, and the demo server shares the machine with the scraper it feeds.
"""

from __future__ import annotations

import asyncio
import functools
import random
import socket
import struct
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from typing import Callable

from demo_market import avito_site, moteur_site
from demo_market.market import Market
from demo_market.pages import Page, cloudflare_challenge


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it: when (monotonic and wall clock), what, and which fault it got."""

    at: float
    wall: float
    path: str
    user_agent: str
    outcome: str  # the status sent, or the fault: "reset", "truncated", "slow" (answered late)

SiteHandler = Callable[[Market, str, str], Page]

SERVER_HEADER = f"Server: DemoMarket/0.1 Python/{sys.version.split()[0]}"
_REASONS = {status.value: status.phrase for status in HTTPStatus}
_HIGH_WATER = 1 << 20  # bytes queued for a client that does not read before the next request waits for it


@functools.lru_cache(maxsize=4)  # one value a second: formatting it cost more than the rest of the head
def _http_date(timestamp: int) -> str:
    return formatdate(timestamp, usegmt=True)


class _Site:
    """One look-alike site: its renderer, its fault draws and the log of what it was asked."""

    def __init__(self, market: Market, render: SiteHandler, seed: str):
        self.market = market
        self.render = render
        self.requests: list[RequestRecord] = []
        self.server: asyncio.base_events.Server | None = None
        self._recent: deque[float] = deque()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def draw_fault(self, path: str) -> str | None:
        """The transport fault this request gets, if any (robots.txt is always served)."""
        faults = self.market.config.faults
        if not faults.transport or path.startswith("/robots.txt"):
            return None
        with self._lock:
            now = time.monotonic()
            self._recent.append(now)
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if faults.rate_limit_per_s and len(self._recent) > faults.rate_limit_per_s:
                return "429"
            draw = self._rng.random()
        for name, share in (("429", faults.too_many_requests), ("cloudflare", faults.cloudflare),
                            ("5xx", faults.server_errors), ("slow", faults.slow), ("reset", faults.resets),
                            ("truncated", faults.truncated)):
            if draw < share:
                return name
            draw -= share
        return None

    def record(self, arrived: tuple[float, float], path: str, user_agent: str, outcome: str) -> None:
        with self._lock:
            self.requests.append(RequestRecord(arrived[0], arrived[1], path, user_agent, outcome))

    def page_for(self, fault: str | None, path: str, base: str) -> Page:
        """The page a request gets: a fault's answer, or the site's rendering of `path`."""
        if fault == "429":
            return Page(429, "text/html; charset=utf-8", b"<html><body><h1>Too Many Requests</h1></body></html>",
                        (("Retry-After", str(self.market.config.faults.retry_after_s)),))
        if fault == "cloudflare":
            return cloudflare_challenge()
        if fault == "5xx":
            status = (500, 502, 503)[len(self.requests) % 3]
            return Page(status, "text/html; charset=utf-8", b"<html><body><h1>Server error</h1></body></html>")
        try:
            return self.render(self.market, path, base)
        except Exception:  # a rendering bug must show up, but not kill the server
            traceback.print_exc(file=sys.stderr)
            return Page(500, "text/plain; charset=utf-8", b"internal error")

    def head(self, page: Page) -> bytes:
        """Status line and headers, as http.server wrote them (its Server and Date headers first)."""
        lines = [f"HTTP/1.1 {page.status} {_REASONS.get(page.status, '')}", SERVER_HEADER,
                 f"Date: {_http_date(int(self.market.now().timestamp()))}",
                 f"Content-Type: {page.content_type}", f"Content-Length: {len(page.body)}", "Cache-Control: no-cache",
                 *(f"{name}: {value}" for name, value in page.headers), "", ""]
        return "\r\n".join(lines).encode("latin-1")


_REQUEST_HEAD_LIMIT = 1 << 16  # a request head longer than this closes the connection (asyncio streams' limit)


class _Connection(asyncio.Protocol):
    """One keep-alive connection: its requests answered in order, as they arrive, until the client or a fault
    closes it.

    A protocol rather than asyncio streams: a stream wakes a task through a future for every request, which cost
    the server more CPU than the socket calls themselves, and the demo server shares the machine with the scraper.
    """

    def __init__(self, site: _Site, live: set["_Connection"]):
        self.site = site
        self.live = live
        self.transport: asyncio.Transport | None = None
        self.default_base = ""
        self.buffer = b""
        self.slow: asyncio.TimerHandle | None = None  # a slow fault's answer, due later: later requests wait for it
        self.write_paused = False  # the client does not read: the next request waits until it does
        self.eof = False

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=_HIGH_WATER)
        host, port = transport.get_extra_info("sockname")[:2]
        self.default_base = f"http://{host}:{port}"
        self.live.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.slow is not None:
            self.slow.cancel()
        self.live.discard(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._serve()

    def eof_received(self) -> bool:
        self.eof = True
        self._serve()
        return True  # the transport stays open until the answers already asked for are sent

    def pause_writing(self) -> None:
        self.write_paused = True
        self.transport.pause_reading()  # nor are more requests read meanwhile, as a stream's buffer limit does

    def resume_writing(self) -> None:
        self.write_paused = False
        self.transport.resume_reading()
        self._serve()

    def _serve(self) -> None:
        """Answer every complete request in the buffer, unless an answer is pending or the client stopped reading."""
        while self.slow is None and not self.write_paused and not self.transport.is_closing():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if self.eof or len(self.buffer) > _REQUEST_HEAD_LIMIT:
                    self.transport.close()
                return
            head, self.buffer = self.buffer[:end], self.buffer[end + 4:]
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            parts = request_line.split()
            if len(parts) != 3 or parts[0] not in ("GET", "HEAD"):
                self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                self.transport.close()
                return
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            self._request(parts[0], parts[1], parts[2], headers)

    def _request(self, method: str, path: str, version: str, headers: dict[str, str]) -> None:
        arrived = (time.monotonic(), time.time())  # arrival, not answer, time: rate limits are about arrivals
        fault = self.site.draw_fault(path)
        user_agent = headers.get("user-agent", "")
        if fault == "reset":
            self.site.record(arrived, path, user_agent, "reset")
            # linger 0 makes close() send a TCP RST, as an overloaded proxy does
            self.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                               struct.pack("ii", 1, 0))
            self.transport.abort()
            return
        if fault == "slow":
            self.site.record(arrived, path, user_agent, "slow")  # before waiting: the client may give up first
            self.slow = asyncio.get_running_loop().call_later(
                self.site.market.config.faults.slow_s, self._answer_late, method, path, version, headers)
            return
        self._answer(method, path, version, headers, fault, arrived, user_agent)

    def _answer_late(self, method: str, path: str, version: str, headers: dict[str, str]) -> None:
        self.slow = None
        self._answer(method, path, version, headers, "slow", None, headers.get("user-agent", ""))
        self._serve()

    def _answer(self, method: str, path: str, version: str, headers: dict[str, str], fault: str | None,
                arrived: tuple[float, float] | None, user_agent: str) -> None:
        """Send one answer, then close the connection if the request or a truncation fault ends it."""
        base = f"http://{headers['host']}" if headers.get("host") else self.default_base
        page = self.site.page_for(fault, path, base)
        if fault != "slow":
            self.site.record(arrived, path, user_agent, "truncated" if fault == "truncated" else str(page.status))
        head = self.site.head(page)
        if fault == "truncated":
            self.transport.write(head + page.body[: len(page.body) // 2])
            self.transport.close()  # after what was written is sent
            return
        # headers and body in one write: one send and one wake-up of the client per page
        self.transport.write(head + page.body if method == "GET" else head)
        connection = headers.get("connection", "").lower()
        if connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive"):
            self.transport.close()


class DemoMarketServer:
    """Both demo sites on one event loop in a daemon thread; port 0 picks a free port."""

    def __init__(self, market: Market, host: str = "127.0.0.1", avito_port: int = 0, moteur_port: int = 0,
                 fault_seed: int = 0):
        self.market = market
        self.fault_seed = fault_seed
        self.host = host
        self._ports = {"avito": avito_port, "moteur": moteur_port}
        self._sites: dict[str, _Site] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[_Connection] = set()

    def start(self) -> "DemoMarketServer":
        """Bind both ports and start serving."""
        if self._sites:
            return self
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="demo-market", daemon=True)
        self._thread.start()
        sites = {name: _Site(self.market, render, f"{self.fault_seed}:{name}")
                 for name, render in (("avito", avito_site.handle), ("moteur", moteur_site.handle))}
        try:
            for name, site in sites.items():
                site.server = asyncio.run_coroutine_threadsafe(self._listen(site, self._ports[name]), self._loop).result()
        except BaseException:
            self._sites = sites
            self.stop()
            raise
        self._sites = sites
        return self

    async def _listen(self, site: _Site, port: int) -> asyncio.base_events.Server:
        return await asyncio.get_running_loop().create_server(
            lambda: _Connection(site, self._connections), self.host, port, reuse_address=True)

    async def _close(self) -> None:
        for site in self._sites.values():
            if site.server is not None:
                site.server.close()
        for connection in list(self._connections):  # kept-alive clients see the connection end, as after a restart
            connection.transport.abort()
        await asyncio.sleep(0)  # lets the aborted transports call connection_lost
        for site in self._sites.values():
            if site.server is not None:
                await site.server.wait_closed()

    def stop(self) -> None:
        """Stop serving and release the ports."""
        if self._loop is None:
            return
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(timeout=5)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._loop.close()
        self._loop, self._thread = None, None
        self._sites.clear()

    def _url(self, name: str) -> str:
        if name not in self._sites:
            raise RuntimeError("DemoMarketServer is not started")
        host, port = self._sites[name].server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def requests(self, name: str) -> list[RequestRecord]:
        """Every request the site `name` received so far, in arrival order (for politeness tests)."""
        return list(self._sites[name].requests)

    @property
    def avito_url(self) -> str:
        """Base URL of the avito look-alike, without trailing slash."""
        return self._url("avito")

    @property
    def moteur_url(self) -> str:
        """Base URL of the moteur look-alike, without trailing slash."""
        return self._url("moteur")

    def __enter__(self) -> "DemoMarketServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
