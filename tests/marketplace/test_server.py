"""The demo server answers on the real sites' paths, paginates like them and 404s unknown ads."""

import datetime as dt
import json
import re
import socket

import httpx
import pytest

from demo_market import DemoMarketServer, Faults, Market, MarketConfig, avito_site

AVITO_LIST = "/fr/maroc/voitures_d_occasion-%C3%A0_vendre"
MOTEUR_LIST = "/fr/voiture/achat-voiture-occasion/"


@pytest.fixture(scope="module")
def market() -> Market:
    return Market(MarketConfig(today=dt.date(2026, 5, 20), avito_per_day=30, moteur_per_day=12, history_days=10,
                               faults=Faults.off()))


@pytest.fixture(scope="module")
def server(market):
    with DemoMarketServer(market) as running:
        yield running


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=10) as http:
        yield http


def _next_data(html: str) -> dict:
    raw = re.search(r'<script id="__NEXT_DATA__" type="application/json">(.*?)</script>', html, re.S).group(1)
    return json.loads(raw)


def test_urls_have_no_trailing_slash_and_differ_by_port(server):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.avito_url)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.moteur_url)
    assert server.avito_url != server.moteur_url


def test_avito_pages_walk_the_whole_feed_newest_first(server, client, market):
    feed = market.feed("avito")
    size = market.config.avito_page_size
    last_page = -(-len(feed) // size)
    seen = []
    for page in range(1, last_page + 1):
        html = client.get(f"{server.avito_url}{AVITO_LIST}?o={page}").text
        ads = _next_data(html)["props"]["pageProps"]["componentProps"]["ads"]
        assert ads["totalListingAds"] == len(feed)
        seen += [str(ad["listId"]) for ad in ads["ads"]]
        has_next = '<link rel="next"' in html
        assert has_next == (page < last_page)
    assert seen == [ad.listing_id for ad in feed]
    beyond = client.get(f"{server.avito_url}{AVITO_LIST}?o={last_page + 1}")
    assert beyond.status_code == 200 and _next_data(beyond.text)["props"]["pageProps"]["componentProps"]["ads"][
        "ads"] == []


def test_avito_list_path_is_accepted_unencoded_too(market):
    page = avito_site.handle(market, "/fr/maroc/voitures_d_occasion-à_vendre?o=2", "http://example.test")
    assert page.status == 200
    assert b'href="http://example.test/fr/maroc/voitures_d_occasion-%C3%A0_vendre?o=3"' in page.body


def test_avito_detail_carries_every_param_and_unknown_ads_are_404(server, client, market):
    ad = market.listings("avito", dt.date(2026, 5, 17))[3]
    answer = client.get(server.avito_url + ad.url_path)
    assert answer.status_code == 200
    detail = _next_data(answer.text)["props"]["pageProps"]["componentProps"]["adInfo"]["ad"]
    keys = {item["key"] for group in detail["params"].values() for item in group}
    assert {"regdate", "mileage_exact", "bv", "fuel", "brand", "model", "pfiscale", "doors", "v_origin",
            "auto_condition", "first_owner", "car_clim", "cd_mp3_bt"} <= keys
    assert detail["listTime"].startswith(ad.posted_at.strftime("%Y-%m-%dT%H:%M:%S"))
    for label in ("Kilométrage", "Année-Modèle", "Puissance fiscale"):
        assert f'alt="{label}"' in answer.text
    missing = ad.url_path.replace(ad.listing_id, str(int(ad.listing_id) + 5_000_000))
    assert client.get(server.avito_url + missing).status_code == 404


def test_moteur_pagination_uses_offsets(server, client, market):
    size = market.config.moteur_page_size
    total = len(market.feed("moteur"))
    first = client.get(server.moteur_url + MOTEUR_LIST).text
    assert first.count('class="row-item') == size
    assert f'rel="next" href="{MOTEUR_LIST}{size}"' in first
    last_offset = (total - 1) // size * size
    last = client.get(f"{server.moteur_url}{MOTEUR_LIST}{last_offset}").text
    assert last.count('class="row-item') == total - last_offset
    assert 'rel="next"' not in last


def test_moteur_detail_and_404(server, client, market):
    ad = market.listings("moteur", dt.date(2026, 5, 17))[0]
    page = client.get(server.moteur_url + ad.url_path)
    assert page.status_code == 200
    assert 'class="detail_line"' in page.text and "price-block" in page.text
    assert client.get(f"{server.moteur_url}{MOTEUR_LIST}detail-annonce/1/x.html").status_code == 404


def test_robots_txt_allows_listings_but_not_accounts(server, client):
    for base in (server.avito_url, server.moteur_url):
        robots = client.get(base + "/robots.txt")
        assert robots.status_code == 200 and robots.headers["content-type"].startswith("text/plain")
        assert "Disallow: /fr/account/" in robots.text
        assert "Disallow: /fr/maroc" not in robots.text and "Disallow: /fr/voiture" not in robots.text


def test_stop_releases_the_ports(market):
    running = DemoMarketServer(market).start()
    url = running.avito_url
    assert httpx.get(url + "/robots.txt").status_code == 200
    running.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/robots.txt", timeout=2)


def test_stop_ends_kept_alive_connections_quietly(market, caplog):
    running = DemoMarketServer(market).start()
    with httpx.Client(timeout=5) as kept_alive:
        assert kept_alive.get(running.avito_url + "/robots.txt").status_code == 200
        running.stop()  # while the client still holds its connection open
    # Python 3.11's stream callback logged "Exception in callback ... CancelledError" for each such connection
    assert [record.getMessage() for record in caplog.records if record.name == "asyncio"] == []


def _read_answers(sock) -> list[tuple[int, bytes]]:
    """Every answer on a socket until the server closes it: (status, body), split by Content-Length."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    answers = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        answers.append((int(head.split()[1]), rest[:length]))
        data = rest[length:]
    return answers


def test_pipelined_requests_are_answered_in_order_on_one_connection(server):
    """Requests sent back to back before any answer, then a half-close: every answer comes, in order, then the close."""
    host, port = server.avito_url[len("http://"):].split(":")
    requests = [f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
                for path in ("/robots.txt", f"{AVITO_LIST}?o=2", "/fr/nowhere", "/robots.txt")]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"".join(requests))
        sock.shutdown(socket.SHUT_WR)
        answers = _read_answers(sock)
    assert [status for status, _ in answers] == [200, 200, 404, 200]
    assert answers[0][1] == answers[3][1] and b"Disallow: /fr/account/" in answers[0][1]
    assert _next_data(answers[1][1].decode())["props"]["pageProps"]["componentProps"]["ads"]["currentPage"] == 2


def test_connection_close_and_bad_requests_end_the_connection(server):
    host, port = server.moteur_url[len("http://"):].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        # the request after "Connection: close" is never answered
        sock.sendall(b"GET /robots.txt HTTP/1.1\r\nConnection: close\r\n\r\nGET /robots.txt HTTP/1.1\r\n\r\n")
        assert [status for status, _ in _read_answers(sock)] == [200]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"POST /robots.txt HTTP/1.1\r\n\r\nGET /robots.txt HTTP/1.1\r\n\r\n")
        assert _read_answers(sock) == [(400, b"")]
