"""Price estimator: a fair price with 80% and 90% ranges, the five deal bands, the drivers in DH and comparables."""

import math

import plotly.graph_objects as go
import streamlit as st

from ml.price.estimate import estimate
from streamlit_app import data

# z-scores of the band edges (10th, 30th, 70th, 90th percentiles) of a normal predictive distribution.
Z_10, Z_30 = 1.2816, 0.5244

st.title("Price estimator")
brands = data.query(data.BRANDS)
if brands is None or brands.empty:
    st.info(data.EMPTY_STATE)
    st.stop()


# A fragment: submitting the form reruns this function only, not the page around it.
@st.fragment
def estimator() -> None:
    brand_list = brands["brand"].tolist()
    cities = sorted(data.query("select distinct city from listings where city is not null")["city"].tolist())
    brand = st.selectbox("Brand", brand_list, index=brand_list.index("Dacia") if "Dacia" in brand_list else 0, key="est_brand")
    models = data.query(data.MODELS_OF_BRAND, (brand,))["model"].tolist()

    with st.form("estimate"):
        c1, c2, c3 = st.columns(3)
        model = c1.selectbox("Model", models, key="est_model")
        year = c2.number_input("Year", 1980, 2027, 2018, key="est_year")
        mileage = c3.number_input("Mileage (km)", 0, 1_000_000, 120_000, step=5_000, key="est_km")
        c4, c5, c6 = st.columns(3)
        fuel = c4.selectbox("Fuel", ["Diesel", "Essence", "Hybride", "Electrique", "LPG"], key="est_fuel")
        gearbox = c5.selectbox("Gearbox", ["Manuelle", "Automatique"], key="est_gearbox")
        city = c6.selectbox("City", cities, index=cities.index("Casablanca") if "Casablanca" in cities else 0, key="est_city")
        with st.expander("Optional details"):
            o1, o2, o3 = st.columns(3)
            fiscal_power = o1.number_input("Fiscal power (CV)", 0, 60, 0, key="est_cv", help="0 = unknown")
            doors = o2.selectbox("Doors", [None, 3, 5], key="est_doors")
            origin = o3.selectbox("Origin", [None, "WW au Maroc", "Dédouanée", "Importée neuve", "Pas encore dédouanée"], key="est_origin")
            o4, o5, o6 = st.columns(3)
            first_owner = o4.selectbox("First owner", [None, True, False], key="est_first_owner")
            condition = o5.selectbox("Condition", [None, "Neuf", "Excellent", "Très bon", "Bon", "Correct", "Endommagé"], key="est_condition")
            seller_type = o6.selectbox("Seller", [None, "private", "shop"], key="est_seller")
        asking = st.number_input("Asking price (DH, optional)", 0, 10_000_000, 0, step=1_000, key="est_asking")
        submitted = st.form_submit_button("Estimate")

    if not submitted:
        return

    features = {
        "brand": brand, "model": model, "model_year": int(year), "mileage_km": int(mileage), "fuel": fuel,
        "gearbox": gearbox, "city": city, "fiscal_power": fiscal_power or None, "doors": doors, "origin": origin,
        "first_owner": first_owner, "condition": condition, "seller_type": seller_type, "price_dh": asking or None,
    }
    try:
        result = estimate(features)
    except FileNotFoundError:
        st.info("No price model yet: run `make demo` to train one.")
        return

    low80, high80 = result.interval_80
    low90, high90 = result.interval_90
    m1, m2, m3 = st.columns(3)
    m1.metric("Estimated price", data.format_dh(result.price_dh))
    m2.metric("80% range", f"{data.format_dh(low80)} – {data.format_dh(high80)}")
    m3.metric("90% range", f"{data.format_dh(low90)} – {data.format_dh(high90)}")

    if asking:
        if result.rating:
            st.success(f"Deal rating for {data.format_dh(asking)}: **{result.rating}** ({result.rating_rule}).")
        else:
            st.warning(f"No rating for {data.format_dh(asking)}: {result.rating_rule}.")

    # Band edges on the price axis: the 80% range gives the 10th and 90th percentiles; the 30th and 70th are
    # placed on the same log-normal spread.
    centre = math.log(result.price_dh)
    spread = (math.log(high80) - math.log(low80)) / (2 * Z_10) if high80 > low80 else 0.05
    edges = [low90 * 0.9, low80, math.exp(centre - Z_30 * spread), math.exp(centre + Z_30 * spread), high80, high90 * 1.1]
    bands = go.Figure()
    for (start, end), band in zip(zip(edges, edges[1:]), data.DEAL_BANDS):
        bands.add_shape(type="rect", x0=start, x1=end, y0=0, y1=1, fillcolor=data.DEAL_COLOURS[band], opacity=0.75, line_width=0)
        bands.add_annotation(x=(start + end) / 2, y=0.5, text=band, showarrow=False, font={"color": "white"})
    bands.add_vline(x=result.price_dh, line_dash="dot", annotation_text="estimate")
    if asking:
        bands.add_vline(x=asking, line_color="black", line_width=3, annotation_text="asking", annotation_position="bottom")
    bands.update_layout(height=160, margin={"t": 30, "b": 30}, yaxis_visible=False, xaxis_title="price (DH)", xaxis_range=[edges[0], edges[-1]])
    st.plotly_chart(bands, width="stretch")

    st.subheader("What moves this price")
    drivers = [item for item in result.explanation if item.get("effect_dh")]
    if drivers:
        contributions = go.Figure(
            go.Bar(
                x=[d["effect_dh"] for d in drivers], y=[d["text"] for d in drivers], orientation="h",
                marker_color=["#1a7f37" if d["effect_dh"] > 0 else "#cf222e" for d in drivers],
            )
        )
        contributions.update_layout(height=60 + 40 * len(drivers), margin={"t": 10}, xaxis_title="DH", yaxis_autorange="reversed")
        st.plotly_chart(contributions, width="stretch")

    st.subheader("Comparable listings")
    if result.comparables:
        st.dataframe(result.comparables, hide_index=True, width="stretch")
    else:
        st.caption("No comparable listings of this model in the training data.")
    st.caption(f"Model {result.model_version}. " + data.snapshot_caption())


estimator()
