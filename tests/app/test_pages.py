"""Every page renders against the pipeline's snapshot and shows the snapshot's own figures."""

import shutil
import threading
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from autolist_assets import paths
from autolist_assets.assets.ml import registry_root
from autolist_assets.assets.serving import publish_snapshot
from ml.price.estimate import estimate
from streamlit_app import data

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app" / "app.py")


def snapshot(sql: str, params=()):
    con = duckdb.connect(str(paths.serving_path()), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def open_page(page: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60).run()
    if page:
        app.switch_page(f"app_pages/{page}.py").run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    return app


@pytest.fixture(autouse=True)
def snapshot_dir(in_pipeline_dir):
    return in_pipeline_dir


def test_market_kpis_equal_the_snapshot():
    app = open_page()
    metrics = {m.label: m.value for m in app.metric}
    active, median = snapshot("select count(*), median(price_dh) from listings where still_active")[0]
    assert metrics["Active listings"] == data.format_count(active)
    assert metrics["Median price"] == data.format_dh(median)


def test_model_explorer_counts_match_the_mart():
    app = open_page("model_explorer")
    brand, model = app.selectbox(key="brand").value, app.selectbox(key="model").value
    shown = app.dataframe[0].value
    expected = snapshot("select sum(listings) from prices_by_model_year_city where brand = ? and model = ?", (brand, model))[0][0]
    assert shown["listings"].sum() == expected


def test_model_explorer_draws_depreciation_by_fuel_from_the_snapshot():
    app = open_page("model_explorer")
    brand, model = app.selectbox(key="brand").value, app.selectbox(key="model").value
    vehicles = snapshot(
        "select count(*) from listings where brand = ? and model = ? and fuel is not null and price_dh is not null"
        " and model_year is not null", (brand, model),
    )[0][0]
    assert vehicles > 0
    by_age = snapshot(data.DEPRECIATION_BY_AGE, (brand, model))
    assert sum(row[2] for row in by_age) == vehicles
    # Both curves are drawn (no "not enough listings" notice).
    assert not [i.value for i in app.info if "Not enough listings" in i.value]


def test_estimator_shows_what_estimate_returns():
    app = open_page("estimator")
    brand = app.selectbox(key="est_brand").value
    model = app.selectbox(key="est_model").value
    app.number_input(key="est_year").set_value(2017)
    app.number_input(key="est_km").set_value(140_000)
    app.number_input(key="est_asking").set_value(90_000)
    app.button[0].click().run()
    assert not app.exception, app.exception
    metrics = {m.label: m.value for m in app.metric}
    city = app.selectbox(key="est_city").value
    expected = estimate(
        {"brand": brand, "model": model, "model_year": 2017, "mileage_km": 140_000, "fuel": "Diesel", "gearbox": "Manuelle",
         "city": city, "fiscal_power": None, "doors": None, "origin": None, "first_owner": None, "condition": None,
         "seller_type": None, "price_dh": 90_000}
    )
    assert metrics["Estimated price"] == data.format_dh(expected.price_dh)
    assert metrics["90% range"] == f"{data.format_dh(expected.interval_90[0])} – {data.format_dh(expected.interval_90[1])}"
    verdicts = [s.value for s in app.success] + [w.value for w in app.warning]
    assert any(expected.rating_rule in v for v in verdicts)


@pytest.fixture
def rated_snapshot(in_pipeline_dir, tmp_path, monkeypatch):
    """The pipeline's snapshot with deal ratings on every active listing.

    A two-day window is too thin for the price model to rate anything (it withholds ratings when the range
    is wide), so the ratings are set here from where each price sits against the estimate.
    """
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


def test_deals_lists_rated_listings_best_first(rated_snapshot):
    app = open_page("deals")
    shown = app.dataframe[0].value
    rated = snapshot("select count(*) from listings where still_active and deal_rating is not null and price_dh <= 400000 and model_year >= 2012")[0][0]
    assert rated > 20
    assert len(shown) == min(rated, 200)
    order = {band: i for i, band in enumerate(data.DEAL_BANDS)}
    assert list(shown["deal_rating"].map(order)) == sorted(shown["deal_rating"].map(order))
    app.selectbox(key="deal_fuel").select("Diesel").run()
    diesel = snapshot(
        "select count(*) from listings where still_active and deal_rating is not null and price_dh <= 400000"
        " and model_year >= 2012 and fuel = 'Diesel'"
    )[0][0]
    assert 0 < diesel < rated
    assert len(app.dataframe[0].value) == min(diesel, 200)


def test_recommendations_show_ten_reasoned_picks_for_a_demo_user():
    app = open_page("recommendations")
    user = app.selectbox(key="user").value
    picks = app.dataframe[0].value
    assert len(picks) == snapshot("select count(*) from user_recommendations where user_id = ?", (user,))[0][0] == 10
    assert picks["reason"].str.len().gt(10).all()
    similar = app.dataframe[1].value
    assert 0 < len(similar) <= 10


def test_health_page_shows_every_partition():
    app = open_page("health")
    assert len(app.dataframe[0].value) == snapshot("select count(*) from scrape_health")[0][0] == 4


def test_app_keeps_answering_while_the_pipeline_publishes_50_snapshots():
    warehouse = paths.warehouse_path()
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

    writer = threading.Thread(target=publish)
    writer.start()
    shown_errors = renders = 0
    while not done.is_set() or renders < 3:
        app = AppTest.from_file(APP, default_timeout=60).run()
        shown_errors += len(app.exception) + len(app.error)
        renders += 1
    writer.join()
    assert not errors
    assert renders >= 3
    assert shown_errors == 0
