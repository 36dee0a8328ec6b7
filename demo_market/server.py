"""Serve the two look-alike sites on 127.0.0.1, one HTTP server each so paths match the real sites."""

from __future__ import annotations

import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from demo_market import avito_site, moteur_site
from demo_market.market import Market
from demo_market.pages import Page

SiteHandler = Callable[[Market, str, str], Page]


class _SiteServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows which site it renders."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], market: Market, site: SiteHandler):
        self.market = market
        self.site = site
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1 handler delegating to the site renderer."""

    protocol_version = "HTTP/1.1"
    server_version = "DemoMarket/0.1"
    timeout = 30  # idle keep-alive connections give their thread back
    disable_nagle_algorithm = True  # headers and body go out in two writes; Nagle would delay the second

    def _answer(self, with_body: bool) -> None:
        server: _SiteServer = self.server  # type: ignore[assignment]
        base = f"http://{self.headers.get('Host') or '%s:%d' % server.server_address[:2]}"
        try:
            page = server.site(server.market, self.path, base)
        except Exception:  # a rendering bug must show up, but not kill the server
            traceback.print_exc(file=sys.stderr)
            page = Page(500, "text/plain; charset=utf-8", b"internal error")
        self.send_response(page.status)
        self.send_header("Content-Type", page.content_type)
        self.send_header("Content-Length", str(len(page.body)))
        self.send_header("Cache-Control", "no-cache")
        for name, value in page.headers:
            self.send_header(name, value)
        self.end_headers()
        if with_body:
            self.wfile.write(page.body)

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        self._answer(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(with_body=False)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # quiet: scrapes make thousands of requests


class DemoMarketServer:
    """Both demo sites in daemon threads; port 0 picks a free port."""

    def __init__(self, market: Market, host: str = "127.0.0.1", avito_port: int = 0, moteur_port: int = 0):
        self.market = market
        self.host = host
        self._ports = {"avito": avito_port, "moteur": moteur_port}
        self._servers: dict[str, _SiteServer] = {}
        self._threads: list[threading.Thread] = []

    def start(self) -> "DemoMarketServer":
        """Bind both ports and start serving."""
        if self._servers:
            return self
        for name, site in (("avito", avito_site.handle), ("moteur", moteur_site.handle)):
            server = _SiteServer((self.host, self._ports[name]), self.market, site)
            thread = threading.Thread(target=server.serve_forever, name=f"demo-{name}", daemon=True)
            thread.start()
            self._servers[name] = server
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving and release the ports."""
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def _url(self, name: str) -> str:
        if name not in self._servers:
            raise RuntimeError("DemoMarketServer is not started")
        host, port = self._servers[name].server_address[:2]
        return f"http://{host}:{port}"

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
