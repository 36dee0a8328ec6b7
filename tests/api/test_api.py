"""The REST API answers with the snapshot's own figures, estimate()'s own numbers and the recommender's own picks."""

import shutil
import threading
from datetime import datetime

import duckdb
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from autolist_assets import paths
from autolist_assets.assets.ml import registry_root
from autolist_assets.assets.serving import publish_snapshot
from ml.price.estimate import estimate
from ml.recommender.model import load_recommender


def snapshot(sql: str, params=()):
    con = duckdb.connect(str(paths.serving_path()), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


@pytest.fixture
def client(in_pipeline_dir):
    with TestClient(create_app(rate_per_s=0)) as test_client:
        yield test_client


def all_pages(client, params: dict) -> list[dict]:
    items, cursor, pages = [], None, 0
    while True:
        body = client.get("/v1/listings", params={**params, **({"cursor": cursor} if cursor else {})}).json()
        items += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return items
        assert pages < 500


def test_listing_pages_follow_the_snapshot_order_without_gaps_or_repeats(client):
    got = all_pages(client, {"fuel": "Diesel", "active": "true", "sort": "price_asc", "limit": 37})
    expected = snapshot(
        "select vehicle_id, price_dh from listings where fuel = 'Diesel' and still_active order by price_dh, vehicle_id"
    )
    assert len(expected) > 37 * 3
    assert [(i["vehicle_id"], i["price_dh"]) for i in got] == expected


@pytest.mark.parametrize("sort, order", [("newest", "first_seen_at desc"), ("year_desc", "model_year desc"),
                                         ("mileage_asc", "mileage_km asc nulls last"), ("price_desc", "price_dh desc")])
def test_every_sort_pages_stably(client, sort, order):
    got = all_pages(client, {"sort": sort, "limit": 100, "year_min": 2010})
    expected = snapshot(f"select vehicle_id from listings where model_year >= 2010 order by {order}, vehicle_id")
    assert [i["vehicle_id"] for i in got] == [v for (v,) in expected]


def test_listing_filters_match_the_snapshot(client):
    brand, city = snapshot("select brand, city from listings group by all order by count(*) desc limit 1")[0]
    body = client.get("/v1/listings", params={"brand": brand.upper(), "city": city.lower(), "year_min": 2012,
                                              "price_max": 300000, "km_max": 200000, "limit": 100}).json()
    expected = snapshot(
        "select count(*) from listings where brand = ? and city = ? and model_year >= 2012 and price_dh <= 300000"
        " and mileage_km <= 200000", (brand, city))[0][0]
    assert 0 < len(body["items"]) == expected
    assert all(i["brand"] == brand and i["city"] == city and i["price_dh"] <= 300000 for i in body["items"])
    moteur = all_pages(client, {"source": "moteur", "limit": 100})
    assert len(moteur) == snapshot("select count(*) from listings where sources like '%moteur%'")[0][0] > 0


def test_page_size_and_cursor_are_bounded(client):
    assert client.get("/v1/listings", params={"limit": 101}).status_code == 422
    first = client.get("/v1/listings", params={"sort": "price_asc", "limit": 5}).json()
    wrong_sort = client.get("/v1/listings", params={"sort": "newest", "cursor": first["next_cursor"]})
    assert wrong_sort.status_code == 422
    assert wrong_sort.json()["detail"][0]["loc"] == ["query", "cursor"]
    assert len(client.get("/v1/listings").json()["items"]) == 20


def test_listing_detail_has_its_price_history_and_estimate(client):
    vehicle_id, price, predicted, low90 = snapshot(
        "select vehicle_id, price_dh, predicted_price_dh, low_90_dh from listings"
        " where predicted_price_dh is not null order by price_changes desc, vehicle_id limit 1"
    )[0]
    body = client.get(f"/v1/listings/{vehicle_id}").json()
    assert body["price_dh"] == price
    assert body["estimate"]["price_dh"] == predicted and body["estimate"]["range_90"]["low_dh"] == low90
    history = body["price_history"]
    periods = snapshot("select count(*) from listing_price_history where vehicle_id = ?", (vehicle_id,))[0][0]
    assert len(history) == periods >= 1
    assert [p["valid_from"] for p in history] == sorted(p["valid_from"] for p in history)
    current = [p for p in history if p["is_current"]]
    assert price in {p["price_dh"] for p in current} and all(p["valid_to"] is None for p in current)
    missing = client.get("/v1/listings/veh_does_not_exist")
    assert missing.status_code == 404 and "veh_does_not_exist" in missing.json()["detail"]


CAR = {"brand": "Dacia", "model": "Logan", "model_year": 2017, "mileage_km": 140000, "fuel": "Diesel",
       "gearbox": "Manuelle", "city": "Casablanca"}


def test_estimate_returns_what_estimate_returns(client):
    body = client.post("/v1/estimate", json={**CAR, "asking_price_dh": 90000}).json()
    expected = estimate({**CAR, "price_dh": 90000})
    assert body["price_dh"] == expected.price_dh
    assert (body["range_80"]["low_dh"], body["range_80"]["high_dh"]) == expected.interval_80
    assert (body["range_90"]["low_dh"], body["range_90"]["high_dh"]) == expected.interval_90
    assert body["deal_rating"] == expected.rating and body["rating_rule"] == expected.rating_rule
    assert body["contributions"] == expected.explanation and len(body["contributions"]) > 0
    assert [c["listing_key"] for c in body["comparables"]] == [c["listing_key"] for c in expected.comparables]
    assert body["model_version"] == expected.model_version
    assert body["range_90"]["low_dh"] <= body["range_80"]["low_dh"] <= body["price_dh"] <= body["range_80"]["high_dh"]
    unknown = client.post("/v1/estimate", json={**CAR, "brand": "Trabant", "model": "601"}).json()
    assert unknown["notes"] and "Trabant" in unknown["notes"][0]


@pytest.mark.parametrize("change, field", [({"model_year": 1970}, "model_year"), ({"fuel": "Coal"}, "fuel"),
                                           ({"mileage_km": -5}, "mileage_km"), ({"colour": "red"}, "colour"),
                                           ({"asking_price_dh": "cheap"}, "asking_price_dh")])
def test_bad_estimate_input_gets_a_422_naming_the_field(client, change, field):
    response = client.post("/v1/estimate", json={**CAR, **change})
    assert response.status_code == 422
    assert [e["loc"][-1] for e in response.json()["detail"]] == [field]
    missing = client.post("/v1/estimate", json={"brand": "Dacia", "model_year": 2018})
    assert [e["loc"] for e in missing.json()["detail"]] == [["body", "model"]]


def test_recommendations_are_the_snapshot_picks_and_honour_filters(client):
    user = snapshot("select user_id from user_recommendations order by user_id limit 1")[0][0]
    body = client.get(f"/v1/users/{user}/recommendations").json()
    expected = snapshot("select listing_key, reason from user_recommendations where user_id = ? order by rank", (user,))
    assert [(i["listing_key"], i["reason"]) for i in body["items"]] == expected
    assert body["personalised"] is True and [i["rank"] for i in body["items"]] == list(range(1, 11))
    city = snapshot("select city from listings where still_active group by city order by count(*) desc limit 1")[0][0]
    narrowed = client.get(f"/v1/users/{user}/recommendations", params={"k": 25, "city": city.upper(), "price_max": 150000}).json()
    assert 0 < len(narrowed["items"]) <= 25
    assert all(i["city"] == city and i["price_dh"] <= 150000 for i in narrowed["items"])
    stranger = client.get("/v1/users/nobody-at-all/recommendations", params={"k": 5}).json()
    assert stranger["personalised"] is False and len(stranger["items"]) == 5
    assert client.get(f"/v1/users/{user}/recommendations", params={"k": 51}).status_code == 422


def test_similar_listings_are_the_recommenders(client):
    model = load_recommender(paths.recommender_path())
    vehicle_id, listing_key = snapshot(
        "select vehicle_id, listing_key from listings where still_active order by vehicle_id limit 1")[0]
    body = client.get(f"/v1/listings/{vehicle_id}/similar", params={"k": 7}).json()
    expected = model.similar_listings(listing_key, 7)
    assert [i["listing_key"] for i in body["items"]] == expected["listing_key"].tolist()
    assert listing_key not in {i["listing_key"] for i in body["items"]}
    assert all(i["vehicle_id"] and i["url"] for i in body["items"])
    assert client.get("/v1/listings/veh_nope/similar").status_code == 404


def test_market_marts_match_the_snapshot(client):
    brand, model = snapshot("select brand, model from prices_by_model_year_city group by all order by sum(listings) desc limit 1")[0]
    prices = client.get("/v1/market/prices", params={"brand": brand, "model": model}).json()["items"]
    assert sum(p["listings"] for p in prices) == snapshot(
        "select sum(listings) from prices_by_model_year_city where brand = ? and model = ?", (brand, model))[0][0]
    shares, cursor = [], None
    while True:
        page = client.get("/v1/market/brand-share", params={"limit": 50, **({"cursor": cursor} if cursor else {})}).json()
        shares += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    assert len(shares) == snapshot("select count(*) from brand_share_by_city")[0][0] > 50
    assert len({(s["city"], s["brand"]) for s in shares}) == len(shares)
    top3 = client.get("/v1/market/brand-share", params={"city": "casablanca", "top": 3}).json()["items"]
    assert [s["brand"] for s in top3] == [b for (b,) in snapshot(
        "select brand from brand_share_by_city where city = 'Casablanca' order by brand_rank, brand limit 3")]
    curves = client.get("/v1/market/depreciation", params={"curve_kind": "fuel", "fuel": "Diesel", "limit": 1000}).json()["items"]
    assert len(curves) == snapshot("select count(*) from depreciation_curves where curve_kind = 'fuel' and fuel = 'Diesel'")[0][0] > 0
    weeks = client.get("/v1/market/volume", params={"grain": "week", "limit": 1000}).json()["items"]
    assert sum(w["vehicles"] for w in weeks) == snapshot("select sum(vehicles) from listing_volume where grain = 'week'")[0][0]


def test_health_reports_the_snapshot_sources_and_models(client):
    body = client.get("/v1/health").json()
    published, listings = snapshot("select published_at, listings from snapshot_info")[0]
    assert datetime.fromisoformat(body["snapshot_published_at"]) == published
    assert body["listings"] == listings
    assert [s["source"] for s in body["sources"]] == ["avito", "moteur"]
    last_days = dict(snapshot("select source, max(scrape_date) from scrape_health group by source"))
    assert all(s["last_scrape_date"] == last_days[s["source"]].isoformat() for s in body["sources"])
    assert body["price_model_version"] == body["snapshot_model_version"] == estimate(CAR).model_version


def test_only_the_estimate_is_a_post_and_nothing_writes(client):
    schema = client.get("/openapi.json").json()
    methods = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert {m for _, m in methods} == {"get", "post"}
    assert [p for p, m in methods if m == "post"] == ["/v1/estimate"]
    assert client.delete("/v1/listings").status_code == 405


def test_rate_limit_answers_429_with_retry_after(in_pipeline_dir):
    now = [1000.0]
    with TestClient(create_app(rate_per_s=2, burst=3, clock=lambda: now[0])) as limited:
        assert [limited.get("/v1/health").status_code for _ in range(3)] == [200, 200, 200]
        refused = limited.get("/v1/health")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert refused.json()["limit_per_s"] == 2 and "2 requests a second" in refused.json()["detail"]
        assert limited.get("/openapi.json").status_code == 200  # the docs are never limited
        now[0] += 0.5  # one token back
        assert limited.get("/v1/health").status_code == 200
        assert limited.get("/v1/health").status_code == 429


@pytest.fixture
def rated_snapshot(in_pipeline_dir, tmp_path, monkeypatch):
    """The pipeline's snapshot with deal ratings on every active listing (a two-day window rates none)."""
    shutil.copy(paths.serving_path(), tmp_path / "serving.duckdb")
    con = duckdb.connect(str(tmp_path / "serving.duckdb"))
    con.execute(
        """
        update listings set deal_rating = case
            when price_gap_pct < -0.10 then 'great' when price_gap_pct < -0.03 then 'good'
            when price_gap_pct < 0.03 then 'fair' when price_gap_pct < 0.10 then 'high' else 'overpriced' end
        where still_active and price_gap_pct is not null
        """
    )
    con.close()
    monkeypatch.setenv("AUTOLIST_DATA_DIR", str(tmp_path))


def test_deal_rating_filter_and_best_deal_sort(rated_snapshot):
    with TestClient(create_app(rate_per_s=0)) as client:
        got = all_pages(client, {"deal_rating": ["great", "good"], "sort": "best_deal", "limit": 50})
    expected = snapshot("select vehicle_id from listings where deal_rating in ('great', 'good') order by price_gap_pct, vehicle_id")
    assert len(expected) > 20
    assert [i["vehicle_id"] for i in got] == [v for (v,) in expected]
    assert {i["deal_rating"] for i in got} == {"great", "good"}


def test_api_keeps_answering_while_the_pipeline_publishes_50_snapshots(client):
    warehouse = paths.warehouse_path()
    vehicle_id = snapshot("select vehicle_id from listings where still_active order by vehicle_id limit 1")[0][0]
    user = snapshot("select user_id from user_recommendations order by user_id limit 1")[0][0]
    requests = [
        ("get", "/v1/listings?limit=50&sort=price_asc", None), ("get", f"/v1/listings/{vehicle_id}", None),
        ("post", "/v1/estimate", CAR), ("get", f"/v1/users/{user}/recommendations", None),
        ("get", f"/v1/listings/{vehicle_id}/similar", None), ("get", "/v1/market/prices?limit=100", None),
        ("get", "/v1/health", None),
    ]
    errors: list[Exception] = []
    done = threading.Event()

    def publish():
        try:
            for _ in range(50):
                publish_snapshot(warehouse, paths.serving_path(), registry_root())
        except Exception as error:  # a failed publish is a failure of this test too
            errors.append(error)
        finally:
            done.set()

    statuses, published = [], set()

    def load(offset: int):
        sent = 0
        try:
            while not done.is_set() or sent < 15:
                method, url, body = requests[(offset + sent) % len(requests)]
                response = client.request(method, url, json=body)
                statuses.append(response.status_code)
                if url == "/v1/health" and response.status_code == 200:
                    published.add(response.json()["snapshot_published_at"])
                sent += 1
        except Exception as error:  # an exception in the app reaches the client as one
            errors.append(error)

    writer = threading.Thread(target=publish)
    readers = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    writer.start()
    for reader in readers:
        reader.start()
    writer.join()
    for reader in readers:
        reader.join()
    assert not errors
    assert len(statuses) >= 60
    assert [s for s in statuses if s != 200] == []
    assert len(published) > 1  # new snapshots were picked up while serving
