"""Deals: active listings ranked by deal rating, with price drops, days on market and a link to the ad."""

import streamlit as st

from streamlit_app import data

st.title("Deals")
values = data.query(data.DEAL_FILTER_VALUES)
if values is None or values.empty:
    st.info(data.EMPTY_STATE if values is None else "No rated listings yet: the price model rates listings once it has enough comparables.")
    st.stop()

with st.sidebar:
    st.header("Filters")
    budget = st.number_input("Budget up to (DH)", 10_000, 10_000_000, 400_000, step=10_000, key="budget")
    min_year = st.number_input("Year from", 1980, 2027, 2012, key="min_year")
    brand = st.selectbox("Brand", [""] + sorted(values["brand"].dropna().unique()), key="deal_brand", format_func=lambda v: v or "any")
    fuel = st.selectbox("Fuel", [""] + sorted(values["fuel"].dropna().unique()), key="deal_fuel", format_func=lambda v: v or "any")
    places = sorted(set(values["region"].dropna()) | set(values["city"].dropna()))
    place = st.selectbox("City or region", [""] + places, key="deal_place", format_func=lambda v: v or "anywhere")

deals = data.query(data.DEALS, (budget, min_year, brand, brand, fuel, fuel, place, place, place, 200))
st.caption(f"{len(deals)} rated listings match; best deals first.")
if deals.empty:
    st.info("No rated listing matches these filters.")
    st.stop()
shown = deals.assign(
    price=deals["price_dh"].map(data.format_dh),
    estimate=deals["predicted_price_dh"].map(data.format_dh),
    drop=deals["price_change_dh"].map(lambda v: data.format_dh(v) if v and v < 0 else ""),
)
st.dataframe(
    shown[["deal_rating", "title", "model_year", "mileage_km", "city", "price", "estimate", "drop", "days_on_market", "url"]],
    hide_index=True,
    width="stretch",
    column_config={
        "deal_rating": st.column_config.TextColumn("rating"),
        "url": st.column_config.LinkColumn("ad", display_text="open"),
        "mileage_km": st.column_config.NumberColumn("km", format="%d"),
        "days_on_market": st.column_config.NumberColumn("days on market", format="%d"),
    },
)
st.caption(data.snapshot_caption())
