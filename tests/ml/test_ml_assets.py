"""The ML assets materialize for real: a DuckDB warehouse in, a registry version and two ml tables out."""

import dagster as dg
import duckdb

from autolist_assets.assets.ml import build_ml_assets, registry_root
from autolist_assets.resources import Warehouse
from ml.price.registry import champion_version


def test_price_model_and_predictions_materialize_into_the_warehouse(listings, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    fct = listings.drop(columns=["equipment"]).rename(columns={"url_path": "url"}).assign(still_active=True)
    fct.loc[fct.index[:10], "still_active"] = False
    con.execute("create table main.fct_listings as select * from fct")
    con.close()
    assets = build_ml_assets()
    config = {"ops": {"price_model": {"config": {"compare_candidates": False, "max_rounds": 300}}}}
    with dg.instance_for_test() as instance:
        result = dg.materialize(assets, resources={"warehouse": Warehouse(path=str(path))}, run_config=config,
                                instance=instance)
        assert result.success
        metadata = {k: v.value for k, v in result.asset_materializations_for_node("price_model")[0].metadata.items()}
        assert metadata["cleaned_listings"] == len(fct)
        assert champion_version(registry_root()) == metadata["champion"]
        assert "| segment |" in metadata["segments"] and "price band" in metadata["segments"]
        assert 0.5 < metadata["r2_log"] <= 1.0 and 0.0 < metadata["coverage_90"] <= 1.0
        assert metadata["decision"]

    con = duckdb.connect(str(path), read_only=True)
    try:
        scored = con.execute("select count(*), count(deal_rating), min(low_90_dh <= predicted_price_dh), "
                             "min(predicted_price_dh <= high_90_dh) from ml.price_predictions").fetchone()
        deals = con.execute("select count(*), count(distinct deal_rating), min(below_estimate_dh = predicted_price_dh - price_dh) "
                            "from ml.deals").fetchone()
    finally:
        con.close()
    assert scored[0] == len(fct) - 10  # every active listing, no inactive one
    assert scored[1] > 0 and scored[2] and scored[3]
    # Listings the model trained on sit close to their estimates, so not every band needs to occur here.
    assert deals[0] == scored[1] and deals[1] >= 3 and deals[2]
