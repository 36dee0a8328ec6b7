"""HttpFetcher identifies itself, keeps statuses, and honours robots.txt and per-host intervals when asked."""

import time

import pytest

from autolist_assets.sources.fetch import DEFAULT_USER_AGENT, Fetcher, HttpFetcher, RobotsDisallowed, is_local_host
from demo_market import DemoMarketServer


@pytest.fixture(scope="module")
def server(market):
    with DemoMarketServer(market) as running:
        yield running


def test_responses_keep_status_body_and_fetch_time(server):
    with HttpFetcher() as fetcher:
        assert isinstance(fetcher, Fetcher)
        ok = fetcher.get(server.moteur_url + "/robots.txt")
        missing = fetcher.get(server.moteur_url + "/fr/voiture/achat-voiture-occasion/detail-annonce/1/x.html")
    assert ok.status == 200 and "Disallow: /fr/account/" in ok.text and ok.fetcher == "http"
    assert ok.headers["content-type"].startswith("text/plain")
    assert ok.fetched_at.tzinfo is not None
    assert missing.status == 404


def test_local_hosts_skip_robots_unless_asked(server):
    url = server.avito_url + "/fr/account/login"
    with HttpFetcher() as fetcher:
        assert fetcher.get(url).status == 404  # local: robots not consulted by default
    with HttpFetcher(respect_robots=True) as fetcher:
        with pytest.raises(RobotsDisallowed):
            fetcher.get(url)
        assert fetcher.get(server.avito_url + "/robots.txt").status == 200


def test_min_interval_spaces_requests_to_one_host(server):
    with HttpFetcher(min_interval=0.15) as fetcher:
        started = time.perf_counter()
        for _ in range(3):
            fetcher.get(server.moteur_url + "/robots.txt")
        assert time.perf_counter() - started >= 0.3


def test_default_politeness_depends_on_the_host():
    assert is_local_host("http://127.0.0.1:8765/x") and is_local_host("http://localhost/x")
    assert not is_local_host("https://www.avito.ma/fr/maroc")
    assert "AutoListBot" in DEFAULT_USER_AGENT and "contact" in DEFAULT_USER_AGENT


def test_backoff_grows_exponentially_with_jitter_and_reads_retry_after():
    import random

    from autolist_assets.sources.fetch import RetryPolicy, retry_after_seconds

    policy, rng = RetryPolicy(base_delay_s=1.0, max_delay_s=10.0), random.Random(0)
    delays = [[policy.backoff(attempt, rng) for _ in range(200)] for attempt in range(5)]
    for attempt, samples in enumerate(delays):
        nominal = min(10.0, 2 ** attempt)
        assert 0.5 * nominal <= min(samples) < max(samples) <= 1.5 * nominal
        assert len(set(samples)) == 200  # jittered, so parallel clients spread out
    assert max(policy.backoff(3, rng, local=True) for _ in range(50)) <= 0.05 * 8 * 1.5
    assert retry_after_seconds({"Retry-After": "7"}) == 7.0
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # a past date: no wait
    assert retry_after_seconds({}) is None
