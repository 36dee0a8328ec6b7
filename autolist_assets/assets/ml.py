"""ML layer: thin Dagster wrappers around ml.price_model."""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from autolist_assets import paths
from autolist_assets.assets.warehouse import build_dbt_assets
from autolist_assets.resources import WAREHOUSE_POOL, Warehouse
from ml.price_model import PriceModel, score_listings, train_price_model

ML_GROUP = "ml"
PRICE_MODEL_REGISTRY = "price_model"


def fct_listings_key() -> dg.AssetKey:
    return get_asset_key_for_model([build_dbt_assets()], "fct_listings")


def build_ml_assets() -> list[dg.AssetsDefinition]:
    """The ML assets, wired to the dbt model keys looked up in the manifest."""

    @dg.asset(deps=[fct_listings_key()], group_name=ML_GROUP, kinds={"lightgbm", "python"})
    def price_model(warehouse: Warehouse) -> dg.MaterializeResult:
        """A LightGBM model of log asking price, validated on the most recent listings and saved to the registry."""
        with warehouse.connect(read_only=True) as con:
            listings = con.execute("select * from main.fct_listings").df()
        model = train_price_model(listings)
        folder = model.save(paths.models_dir() / PRICE_MODEL_REGISTRY)
        metrics = model.metrics
        return dg.MaterializeResult(
            metadata={
                "version": model.version,
                "path": dg.MetadataValue.path(str(folder)),
                "mae_dh": round(metrics["mae_dh"]),
                "rmse_dh": round(metrics["rmse_dh"]),
                "r2_price": round(metrics["r2_price"], 4),
                "r2_log": round(metrics["r2_log"], 4),
                "median_ape": round(metrics["median_ape"], 4),
                "train_rows": metrics["train_rows"],
                "valid_rows": metrics["valid_rows"],
            }
        )

    @dg.asset(deps=[price_model], group_name=ML_GROUP, kinds={"lightgbm", "duckdb"}, pool=WAREHOUSE_POOL)
    def price_predictions(warehouse: Warehouse) -> dg.MaterializeResult:
        """The latest price model's estimate for every listing, written to ml.price_predictions."""
        model = PriceModel.load(paths.models_dir() / PRICE_MODEL_REGISTRY)
        with warehouse.connect() as con:
            listings = con.execute("select * from main.fct_listings").df()
            predictions = score_listings(model, listings)
            con.execute("create schema if not exists ml")
            con.execute("create or replace table ml.price_predictions as select * from predictions")
        return dg.MaterializeResult(
            metadata={
                "rows": len(predictions),
                "model_version": model.version,
                "median_abs_gap_pct": round(float(predictions["price_gap_pct"].abs().median()), 4),
            }
        )

    return [price_model, price_predictions]
