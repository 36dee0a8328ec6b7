"""Recommendations: a demo buyer's personalised picks with their reasons, and listings similar to one you like."""

import pandas as pd
import streamlit as st

from autolist_assets.paths import recommender_path
from ml.recommender.model import load_recommender
from streamlit_app import data


@st.cache_resource(show_spinner=False)
def recommender(version: float):
    """The trained recommender, loaded once per model file."""
    model = load_recommender(recommender_path())
    model.prepare_serving()
    return model


st.title("Recommendations")
users = data.query(data.DEMO_USERS) if "demo_users" in data.tables() else None
if users is None or users.empty:
    st.info(data.EMPTY_STATE)
    st.stop()

st.subheader("For a demo buyer")
user = st.selectbox("Demo user", users["user_id"].tolist(), key="user")
persona = users.set_index("user_id").loc[user]
st.caption(
    f"Hidden tastes of this synthetic buyer: budget {data.format_dh(persona['budget_dh'])}, "
    f"brands {', '.join(persona['preferred_brands'])}, {persona['preferred_fuel']}, {persona['home_region']}."
)
picks = data.query(data.USER_RECOMMENDATIONS, (user,))
st.dataframe(
    picks.assign(price=picks["price_dh"].map(data.format_dh))[["rank", "brand", "model", "model_year", "price", "city", "reason", "url"]],
    hide_index=True,
    width="stretch",
    column_config={"url": st.column_config.LinkColumn("ad", display_text="open")},
)

st.subheader("Similar to a listing you like")
brands = data.query(data.BRANDS)["brand"].tolist()
brand = st.selectbox("Brand", brands, key="similar_brand")
choices = data.query(data.LISTING_CHOICES, (brand,))
if choices.empty:
    st.info("No active listing of this brand.")
    st.stop()
listing = st.selectbox("Listing", choices["listing_key"].tolist(), format_func=dict(zip(choices["listing_key"], choices["label"])).get, key="listing")
path = recommender_path()
if not path.exists():
    st.info("No recommender trained yet: run `make demo`.")
    st.stop()
model = recommender(path.stat().st_mtime)
if listing not in model.item_index:
    st.info("This listing is newer than the recommender; it will be covered after the next run.")
    st.stop()
similar: pd.DataFrame = model.similar_listings(listing, 10)
st.dataframe(
    similar.assign(price=similar["price_dh"].map(data.format_dh))[["brand", "model", "model_year", "price", "city", "reason"]],
    hide_index=True,
    width="stretch",
)
st.caption(data.snapshot_caption())
