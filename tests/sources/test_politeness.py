"""Politeness measured from the demo server's own request log: robots.txt, per-host rate, User-Agent."""

import datetime as dt

import pytest
from demo_truth import TODAY

from autolist_assets.sources.fetch import DEFAULT_USER_AGENT, BrowserFetcher, HttpFetcher, RobotsDisallowed
from demo_market import DemoMarketServer, Faults, Market, MarketConfig

MOTEUR_LIST = "/fr/voiture/achat-voiture-occasion/"


@pytest.fixture(scope="module")
def server():
    market = Market(MarketConfig(today=TODAY, avito_per_day=20, moteur_per_day=10, history_days=5,
                                 faults=Faults.off()))
    with DemoMarketServer(market) as running:
        yield running


def test_a_disallowed_path_is_never_fetched(server):
    forbidden = server.avito_url + "/fr/account/login"
    before = len(server.requests("avito"))
    with HttpFetcher(respect_robots=True) as fetcher:
        with pytest.raises(RobotsDisallowed):
            fetcher.get(forbidden)
        assert fetcher.get(server.avito_url + "/fr/").status == 200
    paths = [r.path for r in server.requests("avito")[before:]]
    assert "/robots.txt" in paths and "/fr/" in paths
    assert "/fr/account/login" not in paths


def test_the_rate_limit_holds_between_request_timestamps(server):
    before = len(server.requests("moteur"))
    with HttpFetcher(min_interval=0.15, max_connections=4) as fetcher:
        for offset in range(0, 120, 15):
            fetcher.get(f"{server.moteur_url}{MOTEUR_LIST}{offset}")
    times = sorted(r.at for r in server.requests("moteur")[before:])
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    # The server stamps a request when its thread gets the CPU: on a loaded machine one late stamp shortens
    # the next gap by as much as it lengthened the one before. So single gaps keep half the interval (with
    # no limit they are about a millisecond) and the span holds the rate exactly.
    assert len(times) == 8 and min(gaps) >= 0.15 / 2
    assert times[-1] - times[0] >= 7 * 0.15 - 0.02


def test_every_request_carries_the_identifying_user_agent(server):
    before = len(server.requests("moteur"))
    with HttpFetcher() as fetcher:
        fetcher.get(server.moteur_url + MOTEUR_LIST)
    assert {r.user_agent for r in server.requests("moteur")[before:]} == {DEFAULT_USER_AGENT}


def test_the_browser_sees_real_statuses_and_retries_server_errors():
    market = Market(MarketConfig(today=TODAY, avito_per_day=20, moteur_per_day=10, history_days=5,
                                 faults=Faults(server_errors=0.3)))
    from autolist_assets.sources.fetch import RetryPolicy

    with DemoMarketServer(market) as running, BrowserFetcher(retry=RetryPolicy(base_delay_s=0.01), seed=3) as browser:
        answers = [browser.get(f"{running.moteur_url}{MOTEUR_LIST}{offset}") for offset in range(0, 75, 15)]
        gone = browser.get(running.moteur_url + "/fr/voiture/achat-voiture-occasion/detail-annonce/1/x.html")
        log = running.requests("moteur")
    assert all(a.status == 200 and "row-item" in a.text for a in answers)
    # the browser also asks for images; only the documents go through the fetcher's retries
    errors = [r for r in log if r.outcome in ("500", "502", "503") and r.path.startswith("/fr/")]
    assert errors and sum(a.retries for a in answers) + gone.retries == len(errors)
    assert gone.status == 404
    assert {r.user_agent for r in log if r.path.startswith("/fr/")} == {DEFAULT_USER_AGENT}
