"""Retrain the price model after every N new cleaned listings (20,000 by default).

The sensor counts fct_listings rows and compares with a baseline kept in its cursor. The baseline moves
to the current count when the sensor requests a retrain (so the same records never trigger twice), and
to the count a `price_model` materialization reports in its `cleaned_listings` metadata when a newer
materialization appears (so after any retrain, scheduled or manual, the count starts again).
"""

import json
import os

import dagster as dg
import duckdb

from autolist_assets import paths
from autolist_assets.resources import Warehouse

PRICE_MODEL_KEY = dg.AssetKey("price_model")
RETRAIN_EVERY = int(os.environ.get("AUTOLIST_RETRAIN_EVERY", "20000"))


def cleaned_listing_count(warehouse: Warehouse) -> int | None:
    """Rows in main.fct_listings, or None while the warehouse or the table does not exist yet."""
    path = warehouse.resolved_path()
    if not os.path.exists(path):
        return None
    try:
        with warehouse.connect(read_only=True) as con:
            return con.execute("select count(*) from main.fct_listings").fetchone()[0]
    except duckdb.Error:
        return None


def make_retrain_sensor(threshold: int = RETRAIN_EVERY, name: str = "price_model_retrain_sensor") -> dg.SensorDefinition:
    @dg.sensor(
        name=name,
        asset_selection=dg.AssetSelection.assets(PRICE_MODEL_KEY, dg.AssetKey("price_predictions")),
        minimum_interval_seconds=300,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Requests a price model retrain once {threshold:,} new cleaned listings have arrived.",
    )
    def retrain_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
        state = json.loads(context.cursor) if context.cursor else {"baseline": 0, "materialization": None}
        event = context.instance.get_latest_materialization_event(PRICE_MODEL_KEY)
        if event is not None and event.timestamp != state.get("materialization"):
            # A retrain happened since the last tick: count from what that model was trained on.
            metadata = event.asset_materialization.metadata if event.asset_materialization else {}
            trained_on = metadata.get("cleaned_listings")
            state = {"baseline": int(trained_on.value) if trained_on is not None else state["baseline"],
                     "materialization": event.timestamp}
        count = cleaned_listing_count(warehouse)
        if count is None:
            return dg.SkipReason("no cleaned listings yet (main.fct_listings does not exist)")
        new = count - state["baseline"]
        if new < threshold:
            return dg.SensorResult(
                skip_reason=f"{new:,} new cleaned listings since the last price_model training; retrain at {threshold:,}",
                cursor=json.dumps(state),
            )
        request = dg.RunRequest(
            run_key=f"price-model-retrain-{state['baseline']}-{count}",
            tags={"autolist/reason": f"{new} new cleaned listings"},
        )
        return dg.SensorResult(run_requests=[request], cursor=json.dumps({**state, "baseline": count}))

    return retrain_sensor


price_model_retrain_sensor = make_retrain_sensor()
