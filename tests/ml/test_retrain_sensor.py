"""The retraining sensor on a real Dagster instance and a real DuckDB warehouse."""

import json

import dagster as dg
import duckdb
import pytest

from autolist_assets.resources import Warehouse
from autolist_assets.sensors import PRICE_MODEL_KEY, make_retrain_sensor


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"

    def set_count(rows: int) -> Warehouse:
        con = duckdb.connect(str(path))
        con.execute("create or replace table main.fct_listings as select range as listing_key from range(?)", [rows])
        con.close()
        return Warehouse(path=str(path))

    return set_count


@dg.asset(name="price_model")
def price_model_stub() -> None: ...


@dg.asset(name="price_predictions", deps=[price_model_stub])
def price_predictions_stub() -> None: ...


def tick(sensor, instance, resource, cursor):
    # The sensor targets the two ML assets, so its context needs definitions that hold them.
    definitions = dg.Definitions(assets=[price_model_stub, price_predictions_stub], sensors=[sensor])
    # a context manager: the warehouse resource has a set-up and a tear-down (the run lock, taken only by runs)
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"warehouse": resource},
                                 definitions=definitions) as context:
        return sensor.evaluate_tick(context)


def test_19999_new_listings_skip_with_a_reason_and_20000_request_one_retrain(warehouse):
    sensor = make_retrain_sensor(threshold=20_000)
    with dg.instance_for_test() as instance:
        result = tick(sensor, instance, warehouse(19_999), None)
        assert result.run_requests == []
        assert "19,999 new cleaned listings" in result.skip_message and "retrain at 20,000" in result.skip_message

        result = tick(sensor, instance, warehouse(20_000), result.cursor)
        assert len(result.run_requests) == 1
        assert set(result.run_requests[0].asset_selection) == {PRICE_MODEL_KEY, dg.AssetKey("price_predictions")}
        assert json.loads(result.cursor)["baseline"] == 20_000

        # The same records never fire twice.
        again = tick(sensor, instance, warehouse(20_000), result.cursor)
        assert again.run_requests == []
        assert "0 new cleaned listings" in again.skip_message


def test_the_count_starts_again_after_a_retrain(warehouse):
    sensor = make_retrain_sensor(threshold=20_000)
    with dg.instance_for_test() as instance:
        result = tick(sensor, instance, warehouse(25_000), None)
        assert len(result.run_requests) == 1
        cursor = result.cursor
        # The retrain ran on 30,000 cleaned listings (more arrived meanwhile).
        instance.report_runless_asset_event(
            dg.AssetMaterialization(PRICE_MODEL_KEY, metadata={"cleaned_listings": 30_000})
        )
        result = tick(sensor, instance, warehouse(49_999), cursor)
        assert result.run_requests == []
        assert "19,999 new" in result.skip_message
        state = json.loads(result.cursor)
        assert state["baseline"] == 30_000 and state["materialization"] is not None
        result = tick(sensor, instance, warehouse(50_000), result.cursor)
        assert len(result.run_requests) == 1
        assert json.loads(result.cursor)["baseline"] == 50_000


def test_no_warehouse_yet_is_a_skip(tmp_path):
    with dg.instance_for_test() as instance:
        result = tick(make_retrain_sensor(), instance, Warehouse(path=str(tmp_path / "none.duckdb")), None)
        assert result.run_requests == [] and "does not exist" in result.skip_message
