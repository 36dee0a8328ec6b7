"""Market overview: KPIs, listing volume and its seasonality, brand share by city and prices by region."""

import plotly.express as px
import streamlit as st

from streamlit_app import data

# Approximate centres of Morocco's 12 regions, to place them without a base map (no tiles offline).
REGION_CENTRES = {
    "Tanger-Tétouan-Al Hoceïma": (-5.6, 35.3), "Oriental": (-2.6, 34.0), "Fès-Meknès": (-4.9, 33.9),
    "Rabat-Salé-Kénitra": (-6.3, 34.1), "Béni Mellal-Khénifra": (-6.4, 32.4), "Casablanca-Settat": (-7.6, 33.0),
    "Marrakech-Safi": (-8.4, 31.6), "Drâa-Tafilalet": (-5.5, 31.0), "Souss-Massa": (-9.0, 30.2),
    "Guelmim-Oued Noun": (-10.0, 28.8), "Laâyoune-Sakia El Hamra": (-13.2, 27.0), "Dakhla-Oued Ed-Dahab": (-15.0, 23.7),
}

st.title("Market")
kpis = data.query(data.MARKET_KPIS)
if kpis is None or kpis.loc[0, "active_listings"] == 0:
    st.info(data.EMPTY_STATE)
    st.stop()

row = kpis.iloc[0]
active, new_today, median_price, median_dom = st.columns(4)
active.metric("Active listings", data.format_count(row["active_listings"]))
new_today.metric(f"New on {row['latest_day']:%d %b}", data.format_count(row["new_today"]))
median_price.metric("Median price", data.format_dh(row["median_price_dh"]))
median_dom.metric("Median days on market", f"{row['median_days_on_market']:.0f}")

st.subheader("Listing volume")
grain = st.radio("Per", ["day", "week", "month"], horizontal=True, key="grain")
volume = data.query(data.VOLUME, (grain,))
st.plotly_chart(
    px.bar(volume, x="period_start", y="listings", color="source", labels={"period_start": grain, "listings": "new listings"}),
    width="stretch",
)
if grain == "day" and len(volume):
    weekday = volume.assign(weekday=volume["period_start"].dt.day_name()).groupby("weekday", sort=False)["listings"].mean()
    st.caption("Weekly seasonality: average new listings per weekday")
    st.plotly_chart(px.bar(weekday.reindex(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]).reset_index(), x="weekday", y="listings"), width="stretch")

st.subheader("Brand share by city")
cities = data.query(data.CITIES_BY_VOLUME)["city"].tolist()
left, right, top = st.columns([2, 2, 1])
first = left.selectbox("City", cities, index=cities.index("Marrakech") if "Marrakech" in cities else 0, key="city_a")
second = right.selectbox("Compared with", cities, index=cities.index("Casablanca") if "Casablanca" in cities else min(1, len(cities) - 1), key="city_b")
top_n = top.number_input("Top brands", 3, 20, 8, key="top_n")
share = data.query(data.BRAND_SHARE_TWO_CITIES, (first, second, int(top_n)))
st.plotly_chart(
    px.bar(share, x="share", y="brand", color="city", barmode="group", orientation="h", hover_data=["vehicles"],
           labels={"share": "share of the city's listings"}).update_yaxes(categoryorder="total ascending").update_xaxes(tickformat=".0%"),
    width="stretch",
)

st.subheader("Median price by region")
regions = data.query(data.REGION_PRICES)
regions["lon"] = regions["region"].map(lambda r: REGION_CENTRES.get(r, (None, None))[0])
regions["lat"] = regions["region"].map(lambda r: REGION_CENTRES.get(r, (None, None))[1])
regions["median price"] = regions["median_price_dh"].map(data.format_dh)
st.plotly_chart(
    px.scatter(regions.dropna(subset=["lon"]), x="lon", y="lat", size="listings", color="median_price_dh", text="region",
               hover_data={"median price": True, "listings": True, "lon": False, "lat": False, "median_price_dh": False},
               color_continuous_scale="Viridis", labels={"median_price_dh": "median DH"})
    .update_traces(textposition="top center").update_yaxes(scaleanchor="x", visible=False).update_xaxes(visible=False),
    width="stretch",
)
st.caption(data.snapshot_caption())
