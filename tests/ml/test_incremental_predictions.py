"""A day's run rescores only new and changed listings, and ends with exactly what a full rescoring gives."""

import dagster as dg
import duckdb
import pandas as pd

from autolist_assets.assets.ml import build_ml_assets, registry_root
from autolist_assets.resources import Warehouse
from ml.price.registry import load_champion

COLUMNS = ["listing_key", "predicted_price_dh", "price_gap_pct", "low_80_dh", "high_80_dh", "low_90_dh", "high_90_dh",
           "price_percentile", "deal_rating", "rating_rule", "comparables_count", "explanation", "comparables",
           "model_version"]


def _table(path) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"select {', '.join(COLUMNS)} from ml.price_predictions order by listing_key").df()
    finally:
        con.close()


def test_a_second_scoring_keeps_unchanged_rows_and_equals_a_full_rescoring(listings, tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOLIST_DATA_DIR", str(tmp_path))  # a registry of its own
    path = tmp_path / "warehouse.duckdb"
    fct = listings.drop(columns=["equipment"]).rename(columns={"url_path": "url"}).assign(still_active=True)
    first, later = fct.iloc[:-40].copy(), fct.iloc[-40:].copy()
    con = duckdb.connect(str(path))
    con.execute("create table main.fct_listings as select * from first")
    con.close()
    assets = build_ml_assets()
    resources = {"warehouse": Warehouse(path=str(path))}
    # the first scoring goes in chunks of 2,048 rows; the full rescoring below in one
    config = {"ops": {"price_model": {"config": {"compare_candidates": False, "max_rounds": 30}},
                      "price_predictions": {"config": {"explain_top_deals": 25, "scoring_chunk_rows": 2048}}}}
    with dg.instance_for_test() as instance:
        first_run = dg.materialize(assets, resources=resources, run_config=config, instance=instance)
        assert first_run.success
        first_scored = first_run.asset_materializations_for_node("price_predictions")[0].metadata["scored_now"].value
        assert first_scored == len(first) > 2048

        # the next day: 40 new listings, 7 repriced, 3 gone off sale, 2 deleted; the champion stays
        con = duckdb.connect(str(path))
        con.execute("insert into main.fct_listings by name select * from later")
        changed = con.execute("select listing_key from main.fct_listings order by listing_key limit 12").df()
        con.execute("update main.fct_listings set price_dh = price_dh + 1000 where listing_key in "
                    "(select listing_key from changed limit 7)")
        con.execute("update main.fct_listings set still_active = false where listing_key in "
                    "(select listing_key from changed limit 3 offset 7)")
        con.execute("delete from main.fct_listings where listing_key in (select listing_key from changed limit 2 offset 10)")
        active = con.execute("select count(*) from main.fct_listings where still_active").fetchone()[0]
        con.close()
        predictions_only = {"ops": {"price_predictions": {"config": {"explain_top_deals": 25}}}}
        result = dg.materialize(assets, resources=resources, run_config=predictions_only, instance=instance,
                                selection=[dg.AssetKey("price_predictions")])
        assert result.success
        metadata = {k: v.value for k, v in result.asset_materializations_for_node("price_predictions")[0].metadata.items()}
    assert metadata["scored_now"] == 40 + 7
    assert metadata["kept"] == active - 47 and metadata["rows"] == active

    incremental = _table(path)
    # the same warehouse scored from nothing
    con = duckdb.connect(str(path))
    con.execute("drop table ml.price_predictions")
    con.close()
    with dg.instance_for_test() as instance:
        assert dg.materialize(assets, resources=resources, instance=instance, run_config=predictions_only,
                              selection=[dg.AssetKey("price_predictions")]).success
    full = _table(path)
    assert load_champion(registry_root()).version == full["model_version"].iloc[0]
    assert full["explanation"].notna().sum() == 25
    pd.testing.assert_frame_equal(incremental, full)
