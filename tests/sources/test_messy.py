"""Against a demo market as messy as the real sites, the scrape still recovers what each page truly says."""

import dataclasses
import datetime as dt
import json

import pytest
from demo_truth import PII_SALT, TODAY

from autolist_assets.sources import HttpFetcher, PageArchive, read_archive, scrape_partition
from autolist_assets.sources.fetch import RetryPolicy
from autolist_assets.sources.privacy import hash_pii
from autolist_assets.sources.scrape import ChallengeBlocked, reusable_pages
from autolist_assets.sources.text import parse_km_bucket
from demo_market import DemoMarketServer, Faults, Market, MarketConfig

DAY = dt.date(2026, 5, 18)
SMALL = dict(seed=7, today=TODAY, avito_per_day=30, moteur_per_day=12, history_days=10)
CONTENT = Faults(hidden_price=0.15, placeholder_price=0.1, financing=0.6, non_cars=0.25, mileage_buckets=0.6,
                 deleted=0.1, cross_posts=0.4, reposts=0.2, price_drops=0.5)
FAST_RETRY = RetryPolicy(max_attempts=8, base_delay_s=0.01, max_delay_s=0.05)


def _truth(market: Market, source: str, day: dt.date = DAY):
    """Ground truth of one day by listing id, with None (not NaN) where a value is missing."""
    frame = market.ground_truth(source, day, day, as_shown=True).astype(object)
    return frame.where(frame.notna(), None).set_index("listing_id")


def _scrape(market: Market, source: str, day: dt.date = DAY, workers: int | None = None, **fetcher_options):
    with DemoMarketServer(market) as server, HttpFetcher(**fetcher_options) as fetcher:
        base = server.avito_url if source == "avito" else server.moteur_url
        result = scrape_partition(source, day, base, fetcher, None, PII_SALT, workers=workers)
        return result, server.requests(source)


@pytest.fixture(scope="module")
def messy_market() -> Market:
    return Market(MarketConfig(**SMALL, faults=CONTENT))


@pytest.fixture(scope="module")
def messy_scrapes(messy_market):
    return {source: _scrape(messy_market, source)[0] for source in ("avito", "moteur")}


def test_the_messy_market_really_has_every_content_fault(messy_market):
    truth = messy_market.ground_truth("avito", DAY - dt.timedelta(days=3), DAY, as_shown=True)
    moteur = messy_market.ground_truth("moteur", DAY - dt.timedelta(days=3), DAY)
    assert set(truth.price_shown.dropna()) >= {"1 DH", "Demander le prix", "Prix non spécifié"}
    assert set(moteur.price_shown.dropna()) == {"Appeler pour le prix", "9 Dhs"}
    assert truth.monthly_payment_dh.notna().any() and truth.mileage_bucket.notna().any()
    assert {"Voitures de location", "Motos"} <= set(truth.category) and not truth.is_car.all()
    assert set(truth.gone_status.dropna()) == {404, 410}
    assert truth.old_price_now_dh.notna().any()
    # cross-posts share their vehicle with an avito ad, reposts with an earlier ad of the same site
    assert set(truth.vehicle_id) & set(moteur.vehicle_id)
    assert truth.vehicle_id.duplicated().any()
    assert truth.listing_id.is_unique and moteur.listing_id.is_unique


def test_avito_fields_match_what_the_pages_say(messy_scrapes, messy_market):
    result = messy_scrapes["avito"]
    truth = _truth(messy_market, "avito")
    assert sorted(row["listing_id"] for row in result.rows) == sorted(truth.index)
    assert result.gone == int(truth.gone_status.notnull().sum()) > 0
    assert result.parse_failures == 0
    for row in result.rows:
        ad = truth.loc[row["listing_id"]]
        assert row["price_dh"] == ad.price_displayed_dh  # placeholders ("1 DH", "Demander le prix") give None
        assert row["old_price_dh"] == (None if ad.price_shown else ad.old_price_now_dh)
        assert row["monthly_payment_dh"] == ad.monthly_payment_dh
        if ad.monthly_payment_dh is not None:
            assert row["price_dh"] != ad.monthly_payment_dh  # the instalment never becomes the price
        if ad.price_shown is not None:
            assert row["price_text"] == ad.price_shown
        assert row["is_car"] == ad.is_car and row["category"].startswith(ad.category)
        assert row["ad_status"] == ("gone" if ad.gone_status else "active")
        assert row["posted_at"] == ad.posted_at and row["title"] == ad.title
        if ad.gone_status:
            continue  # only the card's fields survive a deleted ad
        if ad.mileage_bucket is not None:
            low, high = parse_km_bucket(ad.mileage_bucket)
            assert row["mileage_km"] is None and row["mileage_text"] == ad.mileage_bucket
            assert (row["mileage_min_km"], row["mileage_max_km"]) == (low, high)
            assert low <= ad.mileage_km <= high
        else:
            assert row["mileage_km"] == row["mileage_min_km"] == row["mileage_max_km"] == ad.mileage_km
        assert (row["brand"], row["model"], row["gearbox"], row["doors"], row["fiscal_power"]) == \
            (ad.brand, ad.model, ad.gearbox, ad.doors, ad.fiscal_power)
        assert row["seller_phone_hash"] == hash_pii(ad.seller_phone, PII_SALT)
        assert json.loads(row["attributes"])["Kilométrage"]


def test_moteur_fields_match_what_the_pages_say(messy_scrapes, messy_market):
    result = messy_scrapes["moteur"]
    truth = _truth(messy_market, "moteur")
    # a deleted moteur ad has no date on its card, so it cannot be placed in a day: it is counted, not kept
    dated = truth[truth.gone_status.isnull()]
    assert sorted(row["listing_id"] for row in result.rows) == sorted(dated.index)
    assert result.gone >= int(truth.gone_status.notnull().sum())
    for row in result.rows:
        ad = truth.loc[row["listing_id"]]
        assert row["price_dh"] == ad.price_displayed_dh
        assert row["price_text"] == (ad.price_shown or row["price_text"])
        assert row["old_price_dh"] is None and row["is_car"] is True
        attributes = json.loads(row["attributes"])
        assert {"Couleur", "Carrosserie", "Véhicule en garantie", "Voiture personnalisée (tuning)"} <= set(attributes)
        assert row["ad_status"] == ("expired" if ad.expired_now else "active")


def test_expired_moteur_ads_carry_the_warning():
    market = Market(MarketConfig(**{**SMALL, "history_days": 40}, faults=Faults.off()))
    old_day = TODAY - dt.timedelta(days=35)
    result, _ = _scrape(market, "moteur", old_day)
    assert result.rows and {row["ad_status"] for row in result.rows} == {"expired"}


def test_avito_pages_without_json_parse_from_labels(messy_market):
    market = Market(MarketConfig(**SMALL, faults=Faults(dom_only=1.0)))
    result, _ = _scrape(market, "avito")
    truth = _truth(market, "avito")
    assert sorted(row["listing_id"] for row in result.rows) == sorted(truth.index)
    for row in result.rows:
        ad = truth.loc[row["listing_id"]]
        expected = {
            "title": ad.title, "price_dh": ad.price_dh, "year": ad.year, "mileage_km": ad.mileage_km, "fuel": ad.fuel,
            "gearbox": ad.gearbox, "brand": ad.brand, "model": ad.model, "fiscal_power": ad.fiscal_power,
            "doors": ad.doors, "origin": ad.origin, "condition": ad.condition, "first_owner": ad.first_owner,
            "city": ad.city, "sector": ad.sector, "seller_type": ad.seller_type, "posted_at": ad.posted_at,
            "image_count": ad.image_count, "equipment": list(ad.equipment),
            "seller_name_hash": hash_pii(ad.seller_name, PII_SALT), "is_car": True,
        }
        assert {key: row[key] for key in expected} == expected, row["url"]
        assert row["posted_text"].startswith("il y a")


def test_transient_faults_at_20_percent_are_retried_and_counted():
    faults = Faults(too_many_requests=0.07, server_errors=0.07, slow=0.06, slow_s=4.0, retry_after_s=0)
    market = Market(MarketConfig(**SMALL, faults=faults))
    clean = Market(MarketConfig(**SMALL, faults=Faults.off()))
    asked_in_all, transient_in_all = 0, 0
    for source in ("avito", "moteur"):
        # one request at a time, and a timeout well above a healthy answer's time: on a busy machine a healthy
        # answer that missed it would be retried too, and the counts below would no longer be exact (fresh-clone
        # runs saw that once with 0.3 s and once with 0.75 s, the server thread stalled behind the test process)
        result, requests = _scrape(market, source, workers=1, timeout=2.0, retry=FAST_RETRY, seed=1)
        expected, _ = _scrape(clean, source)
        # the partition completes, identical to a clean run (but for the server's port)
        assert [{**row, "url": None} for row in result.rows] == [{**row, "url": None} for row in expected.rows]
        asked = [r for r in requests if r.path != "/robots.txt"]
        transient = [r for r in asked if r.outcome in ("429", "500", "502", "503", "slow")]
        asked_in_all, transient_in_all = asked_in_all + len(asked), transient_in_all + len(transient)
        assert transient
        assert result.retries == len(transient)
        assert result.pages_fetched + len(transient) == len(asked)
        assert result.network_errors == ({"timeout": sum(r.outcome == "slow" for r in asked)}
                                         if any(r.outcome == "slow" for r in asked) else {})
        assert {429, 200} <= set(result.http_status_counts)
    # the fault draws are fixed (the server's seed): 9 of 73 requests, avito's 4 of 40 alone right at a tenth
    assert transient_in_all >= 0.1 * asked_in_all


def test_resets_and_truncated_bodies_are_retried():
    market = Market(MarketConfig(**SMALL, faults=Faults(resets=0.1, truncated=0.1)))
    result, requests = _scrape(market, "moteur", retry=FAST_RETRY, seed=2)
    assert result.network_errors.get("reset", 0) + result.network_errors.get("truncated", 0) == \
        sum(r.outcome in ("reset", "truncated") for r in requests) > 0
    assert len(result.rows) == len(market.ground_truth("moteur", DAY, DAY))


def test_retry_after_is_honoured():
    market = Market(MarketConfig(**SMALL, faults=Faults(rate_limit_per_s=4, retry_after_s=1)))
    with DemoMarketServer(market) as server, HttpFetcher(retry=FAST_RETRY) as fetcher:
        for offset in range(0, 90, 15):
            assert fetcher.get(f"{server.moteur_url}/fr/voiture/achat-voiture-occasion/{offset}").status == 200
        log = server.requests("moteur")
    limited = [i for i, r in enumerate(log) if r.outcome == "429"]
    assert limited
    for i in limited[:-1] if limited[-1] == len(log) - 1 else limited:
        assert log[i + 1].at - log[i].at >= 0.95


def test_a_cloudflare_challenge_is_reported_never_read_as_an_empty_day():
    market = Market(MarketConfig(**SMALL, faults=Faults(cloudflare=1.0)))
    with pytest.raises(ChallengeBlocked):
        _scrape(market, "avito", retry=RetryPolicy(max_attempts=2, base_delay_s=0.01))


def test_a_crashed_scrape_resumes_from_its_partial_archive(tmp_path):
    market = Market(MarketConfig(**SMALL, faults=Faults.off()))
    path = tmp_path / "avito.warc.gz"

    class Crashing(HttpFetcher):
        """Dies as it asks for its page number `limit` + 1, one at a time or ahead through its pipeline."""

        def __init__(self, limit):
            super().__init__()
            self.left = limit

        def _ask(self):
            self.left -= 1
            if self.left < 0:
                raise KeyboardInterrupt("the worker died")

        def get(self, url):
            self._ask()
            return super().get(url)

        def pipeline(self, width):
            pipeline = super().pipeline(width)
            submit = pipeline.submit

            def asked(url):
                self._ask()
                return submit(url)

            pipeline.submit = asked
            return pipeline

    with DemoMarketServer(market) as server:
        with pytest.raises(KeyboardInterrupt), Crashing(limit=12) as fetcher, PageArchive(path) as archive:
            scrape_partition("avito", DAY, server.avito_url, fetcher, archive, PII_SALT)
        first_run = [r.path for r in server.requests("avito")]
        partial = path.with_name(path.name + ".partial")
        reuse = reusable_pages(path, partial)
        assert not path.exists() and len(reuse) >= 5
        with HttpFetcher() as fetcher, PageArchive(path) as archive:
            result = scrape_partition("avito", DAY, server.avito_url, fetcher, archive, PII_SALT, reuse=reuse)
        second_run = [r.path for r in server.requests("avito")][len(first_run):]
    ad_pages = {p for p in first_run if p.endswith(".htm")}
    assert ad_pages and not ad_pages & set(second_run)  # nothing the crashed run got is fetched again
    assert result.reused_pages == len(ad_pages)
    assert sorted(r["listing_id"] for r in result.rows) == sorted(market.ground_truth("avito", DAY, DAY).listing_id)
    assert not partial.exists()
    assert {p.url for p in read_archive(path)} >= {r["url"] for r in result.rows}  # the new archive is whole


def test_the_realistic_preset_scrapes_to_its_truth():
    market = Market(MarketConfig(**SMALL, faults=dataclasses.replace(Faults.realistic(), slow_s=0.3)))
    for source in ("avito", "moteur"):
        result, _ = _scrape(market, source, retry=FAST_RETRY, timeout=5)
        truth = _truth(market, source)
        kept = truth if source == "avito" else truth[truth.gone_status.isnull()]
        assert sorted(row["listing_id"] for row in result.rows) == sorted(kept.index)
        assert [row["price_dh"] for row in result.rows] == [truth.loc[row["listing_id"]].price_displayed_dh
                                                            for row in result.rows]


def test_vehicle_ids_are_stable_across_fault_settings():
    clean = Market(MarketConfig(**SMALL, faults=Faults.off())).listings("avito", DAY)
    messy = Market(MarketConfig(**SMALL, faults=CONTENT)).listings("avito", DAY)
    # faults add ads and renumber them, but the cars drawn for the day are the same cars
    strip = ("listing_id", "url_path")
    base = {ad.vehicle_id: dataclasses.replace(ad, **{k: "" for k in strip}) for ad in clean}
    for ad in messy:
        if ad.vehicle_id in base and ad.posted_at == base[ad.vehicle_id].posted_at:
            assert ad.brand == base[ad.vehicle_id].brand and ad.year == base[ad.vehicle_id].year
    assert len({ad.vehicle_id for ad in clean} & {ad.vehicle_id for ad in messy}) == len(clean)
