"""Price estimator: a fair price with 80% and 90% ranges, the five deal bands, the drivers in DH and comparables."""

import html
import math

import pandas as pd
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


# The two figures are plain HTML rather than Plotly: drawing two Plotly charts took most of the 200 ms a
# submission may take (building the figures on the server, then plotly.js in the browser).
def band_strip(edges: list[float], estimate_dh: float, asking_dh: float | None) -> str:
    """The five deal bands as a coloured strip on the price axis, with the estimate and the asking price marked."""
    low, high = edges[0], edges[-1]

    def at(value: float) -> float:
        return min(max((value - low) / (high - low) * 100, 0), 100)

    cells = "".join(
        f'<div style="width:{at(end) - at(start):.2f}%;background:{data.DEAL_COLOURS[band]};color:white;'
        f'text-align:center;line-height:36px;overflow:hidden">{band}</div>'
        for (start, end), band in zip(zip(edges, edges[1:]), data.DEAL_BANDS)
    )
    marks = f'<div title="estimate" style="position:absolute;left:{at(estimate_dh):.2f}%;top:-6px;height:48px;' \
            'border-left:2px dotted #24292f"></div>'
    labels = f'<span style="position:absolute;left:{at(estimate_dh):.2f}%;top:-24px">estimate {data.format_dh(estimate_dh)}</span>'
    if asking_dh:
        marks += f'<div title="asking" style="position:absolute;left:{at(asking_dh):.2f}%;top:-6px;height:48px;' \
                 'border-left:3px solid black"></div>'
        labels += f'<span style="position:absolute;left:{at(asking_dh):.2f}%;top:44px">asking {data.format_dh(asking_dh)}</span>'
    return (f'<div style="position:relative;margin:30px 0 34px 0;font-size:0.85rem">'
            f'<div style="display:flex;border-radius:4px;overflow:hidden">{cells}</div>{marks}{labels}</div>'
            f'<div style="display:flex;justify-content:space-between;font-size:0.8rem;color:#57606a">'
            f'<span>{data.format_dh(low)}</span><span>price (DH)</span><span>{data.format_dh(high)}</span></div>')


def driver_bars(drivers: list[dict]) -> str:
    """One horizontal bar per driver, green when it raises the price and red when it lowers it."""
    widest = max(abs(d["effect_dh"]) for d in drivers) or 1
    rows = []
    for d in drivers:
        effect = d["effect_dh"]
        width = abs(effect) / widest * 50  # half the width on each side of zero
        bar = (f'<div style="position:absolute;{"left" if effect > 0 else "right"}:50%;width:{width:.2f}%;height:100%;'
               f'background:{"#1a7f37" if effect > 0 else "#cf222e"}"></div>')
        rows.append(f'<div style="display:flex;align-items:center;gap:12px;margin:4px 0">'
                    f'<div style="flex:0 0 45%">{html.escape(d["text"])}</div>'
                    f'<div style="flex:1;position:relative;height:18px">'
                    f'<div style="position:absolute;left:50%;height:100%;border-left:1px solid #8c959f"></div>{bar}</div></div>')
    return "".join(rows)


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
    st.markdown(band_strip(edges, result.price_dh, asking or None), unsafe_allow_html=True)

    st.subheader("What moves this price")
    drivers = [item for item in result.explanation if item.get("effect_dh")]
    if drivers:
        st.markdown(driver_bars(drivers), unsafe_allow_html=True)

    st.subheader("Comparable listings")
    if result.comparables:
        # A static table: the interactive grid's canvas layout held the whole result back 150 ms at times.
        comparables = pd.DataFrame(result.comparables)
        st.table(pd.DataFrame({
            "listing": comparables["title"].fillna(comparables["listing_key"]),
            "year": comparables["model_year"].map(lambda v: "—" if pd.isna(v) else f"{int(v)}"),
            "mileage": comparables["mileage_km"].map(lambda v: "—" if pd.isna(v) else f"{int(v):,} km".replace(",", "\u202f")),
            "price": comparables["price_dh"].map(data.format_dh),
        }).set_index("listing"))
    else:
        st.caption("No comparable listings of this model in the training data.")
    st.caption(f"Model {result.model_version}. " + data.snapshot_caption())


estimator()
