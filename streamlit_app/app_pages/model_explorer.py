"""Model explorer: price by year and city, and depreciation by fuel against age and mileage, with counts."""

import plotly.express as px
import streamlit as st

from streamlit_app import data

st.title("Model explorer")
brands = data.query(data.BRANDS)
if brands is None or brands.empty:
    st.info(data.EMPTY_STATE)
    st.stop()

brand_list = brands["brand"].tolist()
left, right = st.columns(2)
brand = left.selectbox("Brand", brand_list, index=brand_list.index("Dacia") if "Dacia" in brand_list else 0, key="brand")
models = data.query(data.MODELS_OF_BRAND, (brand,))["model"].tolist()
model = right.selectbox("Model", models, index=models.index("Sandero") if "Sandero" in models else 0, key="model")

prices = data.query(data.PRICE_BY_YEAR_CITY, (brand, model))
st.subheader(f"{data.md_escape(brand)} {data.md_escape(model)}: asking price by year and city")
if prices.empty:
    st.info("No priced listings of this model yet.")
else:
    st.plotly_chart(
        px.scatter(prices, x="model_year", y="median_price_dh", color="city", size="listings", hover_data=["listings", "avg_price_dh"],
                   labels={"median_price_dh": "median price (DH)", "model_year": "model year"}),
        width="stretch",
    )
    table = prices.assign(median=prices["median_price_dh"].map(data.format_dh), average=prices["avg_price_dh"].map(data.format_dh))
    st.dataframe(table[["model_year", "city", "listings", "median", "average"]], hide_index=True, width="stretch")

st.subheader("Depreciation by fuel")
by_age = data.query(data.DEPRECIATION_BY_AGE, (brand, model))
by_km = data.query(data.DEPRECIATION_BY_MILEAGE, (brand, model))
age_col, km_col = st.columns(2)
if by_age.empty:
    age_col.info("Not enough listings of this model per age to draw a curve.")
else:
    age_col.plotly_chart(
        px.line(by_age, x="age_years", y="median_price_dh", color="fuel", markers=True, hover_data=["vehicles"],
                labels={"age_years": "age (years)", "median_price_dh": "median price (DH)"}, title="against age"),
        width="stretch",
    )
if by_km.empty:
    km_col.info("Not enough listings of this model per mileage band to draw a curve.")
else:
    km_col.plotly_chart(
        px.line(by_km, x="mileage_band_km", y="median_price_dh", color="fuel", markers=True, hover_data=["vehicles"],
                labels={"mileage_band_km": "mileage (km)", "median_price_dh": "median price (DH)"}, title="against mileage"),
        width="stretch",
    )
st.caption("Each point shows its listing count on hover. " + data.snapshot_caption())
