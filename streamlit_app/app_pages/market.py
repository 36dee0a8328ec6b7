"""Market overview: how many listings the snapshot holds, their median price, and prices by model, year and city."""

import plotly.express as px
import streamlit as st

from streamlit_app import data

st.title("Market")

kpis = data.query(data.MARKET_KPIS)
if kpis is None or kpis.loc[0, "listings"] == 0:
    st.info(data.EMPTY_STATE)
    st.stop()

row = kpis.iloc[0]
col_listings, col_median, col_latest = st.columns(3)
col_listings.metric("Listings", f"{int(row['listings']):,}".replace(",", "\u202f"))
col_median.metric("Median price", data.format_dh(row["median_price_dh"]))
col_latest.metric("Latest posting day", str(row["latest_day"]))

per_day = data.query(data.LISTINGS_PER_DAY)
st.plotly_chart(
    px.bar(per_day, x="posted_date", y="listings", color="source", title="Listings per posting day"),
    use_container_width=True,
)

st.subheader("Average price by model, year and city")
brands = data.query(data.BRANDS)["brand"].tolist()
brand = st.selectbox("Brand", brands, index=brands.index("Dacia") if "Dacia" in brands else 0, key="brand")
prices = data.query(data.PRICES_FOR_BRAND, (brand,))
st.dataframe(
    prices,
    hide_index=True,
    use_container_width=True,
    column_config={
        "avg_price_dh": st.column_config.NumberColumn("Average price (DH)", format="%d"),
        "median_price_dh": st.column_config.NumberColumn("Median price (DH)", format="%d"),
    },
)

info = data.query(data.SNAPSHOT_INFO)
st.caption(f"Snapshot published {info.loc[0, 'published_at']:%Y-%m-%d %H:%M} UTC")
