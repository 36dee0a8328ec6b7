"""ML layer: thin Dagster wrappers around ml.price (training, registry, scoring).

ml.price (LightGBM, scikit-learn, pandas) is imported inside the assets: loading the Definitions, which every
run, sensor tick and UI reload does, should not pay for the libraries only a training step uses.
"""

import os

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from autolist_assets import paths
from autolist_assets.assets.warehouse import build_dbt_assets
from autolist_assets.resources import WAREHOUSE_POOL, Warehouse

ML_GROUP = "ml"
PRICE_MODEL_REGISTRY = "price_model"  # ml.price.registry.REGISTRY_NAME


def fct_listings_key() -> dg.AssetKey:
    return get_asset_key_for_model([build_dbt_assets()], "fct_listings")


def registry_root():
    return paths.models_dir() / PRICE_MODEL_REGISTRY


def active_listings(con) -> "pd.DataFrame":  # noqa: F821
    """Cleaned listings still on sale (every listing when the warehouse does not say)."""
    # ordered: a parallel dbt build stores rows in no fixed order, and training and scoring follow row order
    listings = con.execute("select * from main.fct_listings order by listing_key").df()
    if "still_active" in listings:
        listings = listings[listings["still_active"].fillna(True).astype(bool)]
    return listings.reset_index(drop=True)


class PriceModelConfig(dg.Config):
    # The candidate comparison adds a few seconds per 10,000 listings; a retrain can skip it.
    compare_candidates: bool = os.environ.get("AUTOLIST_PRICE_CANDIDATES", "1") != "0"
    # Candidates are compared on a random sample of this many listings (time split kept): six model families
    # on a million rows cost many times the champion's own training, for a ranking a sample already gives.
    candidate_rows: int = 10_000
    # Early stopping usually ends far sooner; a cap bounds the run time.
    max_rounds: int = 3000


class PricePredictionsConfig(dg.Config):
    # Explanations (LightGBM contributions, about a millisecond per listing per thousand trees) and comparables
    # are stored for this many of the best-rated deals; every other listing is explained on request by the
    # estimator and the API (PriceModel.score_one), which is where they are read.
    explain_top_deals: int = 1000


def build_ml_assets() -> list[dg.AssetsDefinition]:
    """The ML assets, wired to the dbt model keys looked up in the manifest."""

    # Reading counts too: DuckDB refuses a reader process while another process writes (and the reverse).
    @dg.asset(deps=[fct_listings_key()], group_name=ML_GROUP, kinds={"lightgbm", "python"}, pool=WAREHOUSE_POOL)
    def price_model(context: dg.AssetExecutionContext, config: PriceModelConfig, warehouse: Warehouse) -> dg.MaterializeResult:
        """A LightGBM model of log asking price with conformal ranges, validated on the most recent listings;
        promoted to champion in the registry only if not worse than the current one."""
        from ml.price.metrics import markdown_table, segment_metrics
        from ml.price.registry import register
        from ml.price.train import compare_candidates, fit_price_model

        with warehouse.connect(read_only=True) as con:
            listings = con.execute("select * from main.fct_listings order by listing_key").df()
        model, valid = fit_price_model(listings, split="time", max_rounds=config.max_rounds)
        segments = segment_metrics(valid)
        sample = listings.sample(n=min(len(listings), config.candidate_rows), random_state=7) \
            if len(listings) > config.candidate_rows else listings
        candidates = compare_candidates(sample, split="time") if config.compare_candidates else None
        decision = register(model, valid, listings[listings["listing_key"].isin(valid["listing_key"])],
                            registry_root(), segments=segments, candidates=candidates)
        (context.log.info if decision.promoted else context.log.warning)(decision.reason)
        metrics = model.info["metrics"]
        metadata = {
            "version": model.version,
            "champion": decision.champion,
            "promoted": decision.promoted,
            "decision": decision.reason,
            "path": dg.MetadataValue.path(str(registry_root() / model.version)),
            "training_window": " .. ".join(str(d) for d in model.info["training_window"]),
            "cleaned_listings": len(listings),
            "mae_dh": round(metrics["mae_dh"]),
            "rmse_dh": round(metrics["rmse_dh"]),
            "r2_price": round(metrics["r2_price"], 4),
            "r2_log": round(metrics["r2_log"], 4),
            "mape": round(metrics["mape"], 4),
            "median_ape": round(metrics["median_ape"], 4),
            "coverage_90": round(metrics["coverage_90"], 4),
            "train_rows": metrics["train_rows"],
            "valid_rows": metrics["valid_rows"],
            "segments": dg.MetadataValue.md(markdown_table(segments)),
        }
        if candidates is not None:
            shown = [c for c in ("candidate", "mae_dh", "rmse_dh", "r2_price", "r2_log", "mape", "median_ape",
                                 "seconds", "error") if c in candidates]
            metadata["candidates"] = dg.MetadataValue.md(markdown_table(candidates[shown]))
        return dg.MaterializeResult(metadata=metadata)

    @dg.asset(deps=[price_model], group_name=ML_GROUP, kinds={"lightgbm", "duckdb"}, pool=WAREHOUSE_POOL)
    def price_predictions(config: PricePredictionsConfig, warehouse: Warehouse) -> dg.MaterializeResult:
        """The champion's estimate, 80%/90% range and deal rating for every active listing, with explanations for
        the best deals (ml.price_predictions), and the deals mart joining them to the listings (ml.deals)."""
        from ml.price.registry import load_champion

        model = load_champion(registry_root())
        with warehouse.connect() as con:
            listings = active_listings(con)
            predictions = model.score(listings, explain=False)
            if config.explain_top_deals > 0:
                best = predictions[predictions["deal_rating"].notna()].nsmallest(
                    config.explain_top_deals, "price_percentile", keep="first").index
                if len(best):
                    explained = model.score(listings.loc[best], explain=True, scored_on=predictions["scored_on"].iloc[0])
                    predictions.loc[best, "explanation"] = explained["explanation"].to_numpy()
                    predictions.loc[best, "comparables"] = explained["comparables"].to_numpy()
            # text columns stay text for DuckDB even when the first rows it samples have no explanation
            predictions = predictions.astype({"explanation": "string", "comparables": "string"})
            con.execute("create schema if not exists ml")
            con.execute("create or replace table ml.price_predictions as select * from predictions")
            con.execute(
                """
                create or replace table ml.deals as
                select l.listing_key, l.source, l.url, l.title, l.brand, l.model, l.model_year, l.mileage_km,
                       l.fuel, l.gearbox, l.city, l.region, l.price_dh, p.predicted_price_dh,
                       p.predicted_price_dh - l.price_dh as below_estimate_dh, p.price_gap_pct,
                       p.low_80_dh, p.high_80_dh, p.low_90_dh, p.high_90_dh, p.deal_rating, p.rating_rule,
                       p.explanation, p.comparables, p.model_version
                from main.fct_listings l
                join ml.price_predictions p using (listing_key)
                where p.deal_rating is not null
                order by p.price_percentile
                """
            )
            rated = con.execute("select deal_rating, count(*) from ml.deals group by 1 order by 1").fetchall()
        return dg.MaterializeResult(
            metadata={
                "rows": len(predictions),
                "model_version": model.version,
                "rated": int(predictions["deal_rating"].notna().sum()),
                "ratings": dg.MetadataValue.json({k: v for k, v in rated}),
                "median_abs_gap_pct": round(float(predictions["price_gap_pct"].abs().median()), 4)
                if predictions["price_gap_pct"].notna().any() else None,
            }
        )

    return [price_model, price_predictions]
