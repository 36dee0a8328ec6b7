"""The loopback pipeline gives what `HttpFetcher.get` gives, page for page, whatever the framing of the answer."""

import contextlib
import socket
import threading
import time

import pytest
from demo_truth import TODAY

from autolist_assets.sources import HttpFetcher, avito
from autolist_assets.sources.fetch import FetchError, RetryPolicy
from autolist_assets.sources.scrape import LIST_PATHS
from demo_market import DemoMarketServer, Faults, Market, MarketConfig

FAST_RETRY = RetryPolicy(max_attempts=4, base_delay_s=0.01, max_delay_s=0.05)


def _same(left, right) -> None:
    assert (left.url, left.status, left.body, left.retries) == (right.url, right.status, right.body, right.retries)
    assert {k: v for k, v in left.headers.items() if k != "date"} == \
        {k: v for k, v in right.headers.items() if k != "date"}


def test_demo_pages_come_as_the_fetcher_gets_them_one_at_a_time():
    market = Market(MarketConfig(seed=7, today=TODAY, avito_per_day=30, moteur_per_day=12, history_days=3,
                                 faults=Faults(deleted=0.3)))
    with DemoMarketServer(market) as server, HttpFetcher() as fetcher:
        list_url = server.avito_url + LIST_PATHS["avito"]
        ads = [card["url"] for card in avito.parse_list_page(fetcher.get(list_url).page, list_url).cards][:12]
        gone = f"{server.moteur_url}/fr/voiture/achat-voiture-occasion/detail-annonce/1/nothing.html"
        urls = [list_url, *ads, gone, server.moteur_url + "/robots.txt"]
        pipeline = fetcher.pipeline(4)
        answers = [pipeline.submit(url) for url in urls]  # more than it has connections: the rest wait their turn
        piped = [answer.result() for answer in reversed(answers)][::-1]
        pipeline.close()
        one_by_one = [fetcher.get(url) for url in urls]
    for left, right in zip(piped, one_by_one):
        _same(left, right)
    assert piped[-2].status in (404, 410) and piped[-1].status == 200 and len(piped[0].body) > 20_000
    statuses = [r.status for r in piped[1:13]]
    assert len(ads) == 12 and 200 in statuses and set(statuses) - {200} <= {404, 410}  # deleted ads among them


class _Canned:
    """A loopback server answering each path with fixed bytes: the framings and failures the demo never sends."""

    ANSWERS = {
        "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Kind: chunked\r\n\r\n"
                    b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n",
        "/to-close": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nthe body runs to the close",
        "/length": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\nok",
        "/truncated": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
        "/nothing": b"",
        "/moved": b"HTTP/1.1 302 Found\r\nLocation: /length\r\nContent-Length: 0\r\n\r\n",
    }

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.asked: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection):
        with connection, contextlib.suppress(OSError):  # a client that timed out has gone: nothing to answer
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = connection.recv(4096)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                path = head.split(b" ")[1].decode()
                self.asked.append(path)
                if path == "/slow":
                    time.sleep(0.6)
                    connection.sendall(self.ANSWERS["/length"])
                    continue
                answer = self.ANSWERS[path]
                connection.sendall(answer)
                if path in ("/to-close", "/truncated", "/nothing"):
                    return


@pytest.fixture()
def canned():
    server = _Canned()
    yield server
    server.listener.close()


def test_chunked_close_delimited_and_redirected_answers_read_as_one_at_a_time(canned):
    with HttpFetcher(retry=FAST_RETRY) as fetcher:
        urls = [canned.url + path for path in ("/chunked", "/to-close", "/length", "/moved")]
        pipeline = fetcher.pipeline(2)
        piped = [answer.result() for answer in [pipeline.submit(url) for url in urls]]
        pipeline.close()
        one_by_one = [fetcher.get(url) for url in urls]
    for left, right in zip(piped, one_by_one):
        _same(left, right)
    assert [r.body for r in piped] == [b"hello, world", b"the body runs to the close", b"ok", b"ok"]
    assert piped[0].headers["x-kind"] == "chunked" and piped[2].headers["set-cookie"] == "a=1, b=2"
    assert piped[3].url == canned.url + "/length" and piped[3].status == 200  # the redirect followed, as get() does


def test_a_cut_answer_a_silent_close_and_a_timeout_are_retried_then_reported(canned):
    with HttpFetcher(retry=FAST_RETRY, timeout=0.3) as fetcher:
        pipeline = fetcher.pipeline(3)
        answers = [pipeline.submit(canned.url + path) for path in ("/truncated", "/nothing", "/slow")]
        for answer, kind in zip(answers, ("truncated", "reset", "timeout")):
            with pytest.raises(FetchError) as caught:
                answer.result()
            assert caught.value.network_errors == [kind] * FAST_RETRY.max_attempts
        pipeline.close()
    # each URL was asked max_attempts times: once through the pipeline, then by the retry loop
    assert sorted(canned.asked) == sorted(["/truncated", "/nothing", "/slow"] * FAST_RETRY.max_attempts)
