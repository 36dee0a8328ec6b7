"""Recommender layer: thin Dagster wrappers around ml.recommender (imported inside the assets, so loading the
Definitions does not load pandas and SciPy)."""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from autolist_assets import paths
from autolist_assets.assets.warehouse import build_dbt_assets
from autolist_assets.resources import WAREHOUSE_POOL, Warehouse

RECOMMENDER_GROUP = "recommender"
RECOMMENDATIONS_PER_USER = 10


class InteractionsConfig(dg.Config):
    """Run config of user_interactions: the synthetic population's size and seed."""

    users: int = 2000
    seed: int = 7


def _listings(warehouse: Warehouse) -> "pd.DataFrame":  # noqa: F821
    from ml.recommender import LISTING_COLUMNS

    with warehouse.connect(read_only=True) as con:
        # ordered, so the synthetic users and the model do not depend on the order a parallel build stored rows in
        return con.execute(
            f"select {', '.join(LISTING_COLUMNS)} from main.fct_listings where price_dh is not null order by listing_key"
        ).df()


def build_recommender_assets() -> list[dg.AssetsDefinition]:
    """The recommender assets, downstream of fct_listings."""
    fct_listings = get_asset_key_for_model([build_dbt_assets()], "fct_listings")

    @dg.asset(deps=[fct_listings], group_name=RECOMMENDER_GROUP, kinds={"python", "duckdb"}, pool=WAREHOUSE_POOL)
    def user_interactions(config: InteractionsConfig, warehouse: Warehouse) -> dg.MaterializeResult:
        """Synthetic buyers with hidden preferences and their view, favourite and contact events on active listings."""
        from ml.recommender import InteractionConfig, generate_interactions

        personas, interactions = generate_interactions(_listings(warehouse), InteractionConfig(users=config.users, seed=config.seed))
        with warehouse.connect() as con:
            con.execute("create schema if not exists ml")
            con.execute("create or replace table ml.demo_users as select * from personas")
            con.execute("create or replace table ml.user_interactions as select * from interactions")
        counts = interactions["event"].value_counts()
        return dg.MaterializeResult(
            metadata={"users": len(personas), "events": len(interactions), **{f"{e}s": int(n) for e, n in counts.items()}}
        )

    # A reader of the warehouse too: DuckDB refuses readers in one process while another writes.
    @dg.asset(deps=[user_interactions], group_name=RECOMMENDER_GROUP, kinds={"python", "scipy"}, pool=WAREHOUSE_POOL)
    def recommender(warehouse: Warehouse) -> dg.MaterializeResult:
        """A hybrid content + co-visitation recommender, evaluated against popularity on each user's last session."""
        from ml.recommender import evaluate_and_train
        from ml.recommender.model import save_recommender

        listings = _listings(warehouse)
        with warehouse.connect(read_only=True) as con:
            interactions = con.execute("select * from ml.user_interactions").df()
        table, model = evaluate_and_train(listings, interactions)
        save_recommender(model, paths.recommender_path())
        overall = table[table["segment"] == "all"].set_index("method")
        cold = table[table["segment"] == "cold_items"].set_index("method")
        return dg.MaterializeResult(
            metadata={
                "ndcg10_hybrid": round(float(overall.loc["hybrid", "ndcg"]), 4),
                "ndcg10_popularity": round(float(overall.loc["popularity", "ndcg"]), 4),
                "ndcg10_hybrid_cold_items": round(float(cold.loc["hybrid", "ndcg"]), 4),
                "hybrid_weights": str(model.weights),
                "metrics": dg.MetadataValue.md(table.round(4).to_markdown(index=False)),
                "path": dg.MetadataValue.path(str(paths.recommender_path())),
            }
        )

    @dg.asset(deps=[recommender], group_name=RECOMMENDER_GROUP, kinds={"python", "duckdb"}, pool=WAREHOUSE_POOL)
    def user_recommendations(warehouse: Warehouse) -> dg.MaterializeResult:
        """The top ten active listings for every known user, precomputed with their reasons."""
        from ml.recommender.model import load_recommender

        model = load_recommender(paths.recommender_path())
        # users in batches: one matrix product scores a batch against every listing
        recommendations = model.recommend_for_users(list(model.user_history), RECOMMENDATIONS_PER_USER)
        with warehouse.connect() as con:
            con.execute("create or replace table ml.user_recommendations as select * from recommendations")
        users = recommendations["user_id"].nunique() if len(recommendations) else 0
        return dg.MaterializeResult(metadata={"users": users, "rows": len(recommendations)})

    return [user_interactions, recommender, user_recommendations]
