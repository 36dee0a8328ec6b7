"""The simulated market is deterministic, ordered like the real sites and statistically plausible."""

import dataclasses
import datetime as dt
import re
from urllib.parse import quote

import pandas as pd
import pytest

from demo_market import Faults, Listing, Market, MarketConfig
from demo_market import catalog

SMALL = dict(avito_per_day=30, moteur_per_day=12, history_days=10, faults=Faults.off())


def test_same_seed_and_day_give_the_same_ads_whatever_today_is():
    day = dt.date(2026, 5, 14)
    early = Market(MarketConfig(seed=42, today=dt.date(2026, 5, 16), **SMALL))
    late = Market(MarketConfig(seed=42, today=dt.date(2026, 5, 22), **SMALL))
    for source in ("avito", "moteur"):
        first, second = early.listings(source, day), late.listings(source, day)
        assert len(first) > 5
        assert first == second


def test_another_seed_gives_other_ads():
    day = dt.date(2026, 5, 14)
    base = Market(MarketConfig(seed=42, today=day, **SMALL)).listings("avito", day)
    other = Market(MarketConfig(seed=43, today=day, **SMALL)).listings("avito", day)
    assert [ad.title for ad in base] != [ad.title for ad in other]
    assert [ad.price_dh for ad in base] != [ad.price_dh for ad in other]


def test_only_days_of_the_online_window_have_ads():
    market = Market(MarketConfig(today=dt.date(2026, 5, 20), **SMALL))
    assert market.listings("avito", dt.date(2026, 5, 10))  # today - history_days
    assert market.listings("avito", dt.date(2026, 5, 9)) == []
    assert market.listings("moteur", dt.date(2026, 5, 21)) == []
    with pytest.raises(ValueError):
        market.listings("wandaloo", dt.date(2026, 5, 15))


def test_ids_are_unique_increase_with_posting_time_and_look_real():
    market = Market(MarketConfig(today=dt.date(2026, 5, 20), **SMALL))
    for source, low, high in (("avito", 57_000_000, 62_000_000), ("moteur", 470_000, 560_000)):
        truth = market.ground_truth(source, market.first_day, market.today)
        ids = truth["listing_id"].astype(int)
        assert ids.is_unique
        assert ids.between(low, high).all()
        by_id = truth.assign(numeric_id=ids).sort_values("numeric_id")
        assert by_id["posted_at"].is_monotonic_increasing
        assert str(by_id["posted_at"].dt.tz) == "UTC"
        # ads are spread over the day, busier in the daytime than at night (UTC+1 country)
        hours = truth["posted_at"].dt.hour
        assert hours.nunique() >= 18
        assert hours.between(8, 20).mean() > 0.6


def test_find_locates_an_ad_from_its_id_alone():
    market = Market(MarketConfig(today=dt.date(2026, 5, 20), **SMALL))
    for source in ("avito", "moteur"):
        wanted = market.listings(source, dt.date(2026, 5, 12))[7]
        assert market.find(source, wanted.listing_id) == wanted
        assert market.find(source, str(int(wanted.listing_id) + 10_000_000)) is None
        assert market.find(source, "not-a-number") is None


def test_feed_is_newest_first_and_hides_ads_not_yet_posted():
    market = Market(MarketConfig(today=dt.date(2026, 5, 20), **SMALL))
    noon = dt.datetime(2026, 5, 20, 12, 0, tzinfo=dt.timezone.utc)
    feed = market.feed("avito", noon)
    times = [ad.posted_at for ad in feed]
    assert times == sorted(times, reverse=True)
    assert times[0] <= noon
    later_today = [ad for ad in market.listings("avito", noon.date()) if ad.posted_at > noon]
    assert later_today, "the test needs ads posted in the afternoon"
    assert not set(ad.listing_id for ad in later_today) & set(ad.listing_id for ad in feed)
    # a past `today` shows its whole last day
    assert len(market.feed("avito")) == len(market.ground_truth("avito", market.first_day, market.today))


def test_ground_truth_has_one_row_per_ad_with_listing_columns():
    market = Market(MarketConfig(today=dt.date(2026, 5, 20), **SMALL))
    truth = market.ground_truth("moteur", dt.date(2026, 5, 15), dt.date(2026, 5, 17))
    expected = sum(len(market.listings("moteur", dt.date(2026, 5, d))) for d in (15, 16, 17))
    assert len(truth) == expected
    assert list(truth.columns) == [f.name for f in dataclasses.fields(Listing)]
    shown = market.ground_truth("moteur", dt.date(2026, 5, 15), dt.date(2026, 5, 17), as_shown=True)
    assert list(shown.columns) == list(truth.columns) + [
        "price_now_dh", "old_price_now_dh", "price_displayed_dh", "expired_now"]
    assert (shown.price_now_dh == shown.price_dh).all()  # no fault, no price drop


@pytest.fixture(scope="module")
def month_of_ads() -> dict[str, pd.DataFrame]:
    market = Market(MarketConfig(seed=42, today=dt.date(2026, 5, 20), history_days=30, faults=Faults.off()))
    return {source: market.ground_truth(source, market.first_day, market.today) for source in ("avito", "moteur")}


def test_values_use_the_sites_vocabularies(month_of_ads):
    for source, ads in month_of_ads.items():
        assert set(ads.fuel) <= set(catalog.FUELS)
        assert set(ads.gearbox) == set(catalog.GEARBOXES)
        assert set(ads.origin) <= set(catalog.ORIGINS)
        assert set(ads.condition) <= set(catalog.CONDITIONS)
        assert set(ads.seller_type) == {"shop", "private"}
        assert set(ads.doors) <= {3, 5}
        assert set(ads.city) <= {city.name for city in catalog.CITIES}
        assert all(set(items) <= set(catalog.EQUIPMENT_LABELS) for items in ads.equipment)
        assert (ads.price_dh > 0).all() and (ads.mileage_km >= 0).all()
        assert ads.seller_phone.str.fullmatch(r"0[5-7]\d{8}").all()
    avito_paths = month_of_ads["avito"].url_path
    assert avito_paths.str.fullmatch(r"/fr/[^/]+/voitures_d_occasion/[^/]+_\d{8}\.htm").all()
    moteur_paths = month_of_ads["moteur"].url_path
    assert moteur_paths.str.fullmatch(r"/fr/voiture/achat-voiture-occasion/detail-annonce/\d+/[a-z0-9-]+\.html").all()
    assert month_of_ads["moteur"].sector.isna().all()
    assert month_of_ads["moteur"].title.str.match(r"^[A-Z0-9-]+ ").all()


def test_distributions_look_like_the_real_sites(month_of_ads):
    avito, moteur = month_of_ads["avito"], month_of_ads["moteur"]
    assert 135_000 <= avito.price_dh.median() <= 190_000
    assert 170_000 <= moteur.price_dh.median() <= 240_000
    assert moteur.price_dh.median() > avito.price_dh.median()
    assert 0.72 <= (avito.fuel == "Diesel").mean() <= 0.88
    assert 0.45 <= (avito.gearbox == "Automatique").mean() <= 0.62
    assert 0.2 <= (avito.city == "Casablanca").mean() <= 0.4
    assert (moteur.city == "Casablanca").mean() >= 0.55
    assert (moteur.seller_type == "shop").mean() > (avito.seller_type == "shop").mean() + 0.3
    assert avito.brand.nunique() >= 20
    top_brands = set(avito.brand.value_counts().index[:8])
    assert {"Volkswagen", "Renault", "Dacia", "Peugeot"} <= top_brands
    assert 70_000 <= avito.mileage_km.median() <= 150_000
    assert (avito.condition == "Excellent").mean() > 0.45


def test_prices_fall_with_age_and_mileage(month_of_ads):
    ads = month_of_ads["avito"]
    age = 2026 - ads.year
    young, middle, old = (ads.price_dh[age <= 3].median(), ads.price_dh[(age >= 8) & (age <= 12)].median(),
                          ads.price_dh[age >= 20].median())
    assert young > 1.4 * middle > 1.4 * 1.4 * old
    same_age = ads[(age >= 5) & (age <= 8)]
    assert same_age.price_dh[same_age.mileage_km < 80_000].median() > \
        same_age.price_dh[same_age.mileage_km > 160_000].median()
    # the same model is cheaper when older
    clio = ads[ads.model == "Clio"]
    assert clio.price_dh[clio.year >= 2020].median() > clio.price_dh[clio.year <= 2012].median()


def test_shops_post_many_ads_under_one_name_and_phone(month_of_ads):
    shops = month_of_ads["avito"][month_of_ads["avito"].seller_type == "shop"]
    per_dealer = shops.groupby(["seller_name", "seller_phone"]).size()
    assert per_dealer.max() >= 10
    # a dealer name always comes with the same phone
    assert shops.groupby("seller_name").seller_phone.nunique().max() == 1


def test_avito_urls_are_slugs_of_sector_and_title():
    market = Market(MarketConfig(today=dt.date(2026, 5, 20), **SMALL))
    for ad in market.listings("avito", dt.date(2026, 5, 18)):
        place = ad.city if ad.sector in (None, "Toute la ville") else ad.sector
        # every non-word character becomes "_", accents are percent-encoded (real 2026 URLs)
        place_slug = quote(re.sub(r"\W", "_", place.lower()), safe="_")
        title_slug = quote(re.sub(r"\W", "_", ad.title), safe="_")
        assert ad.url_path == f"/fr/{place_slug}/voitures_d_occasion/{title_slug}_{ad.listing_id}.htm"
