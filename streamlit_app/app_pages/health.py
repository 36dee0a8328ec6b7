"""Pipeline health: freshness and scrape figures per site and day, rejections by reason, and model versions."""

import plotly.express as px
import streamlit as st

from streamlit_app import data

st.title("Pipeline health")
health = data.query(data.SCRAPE_HEALTH)
if health is None:
    st.info(data.EMPTY_STATE)
    st.stop()

st.markdown(f"[Dagster UI]({data.DAGSTER_URL}) · [dbt docs]({data.DBT_DOCS_URL})")
if not health.empty:
    latest = health.sort_values("scrape_date").groupby("source").tail(1).set_index("source")
    cols = st.columns(len(latest))
    for col, (source, row) in zip(cols, latest.iterrows()):
        col.metric(f"{source}: hours since last scrape", f"{row['hours_since_scrape']:.1f}")
    st.subheader("Per site and day")
    st.dataframe(health, hide_index=True, width="stretch", column_config={"rejection_rate": st.column_config.NumberColumn(format="%.1%%")})
    st.plotly_chart(px.line(health, x="scrape_date", y="listings", color="source", markers=True, title="listings scraped per day"), width="stretch")

st.subheader("Duplicates per site")
duplicates = data.query(data.DUPLICATE_RATES)
if not duplicates.empty:
    cols = st.columns(len(duplicates))
    for col, row in zip(cols, duplicates.itertuples()):
        col.metric(f"{row.source}: duplicate rate", f"{row.duplicate_rate:.1%}", help=f"{row.listings} listings, {row.vehicles} vehicles")

st.subheader("Rejected rows by reason")
rejections = data.query(data.REJECTIONS)
if rejections.empty:
    st.caption("No row has been quarantined.")
else:
    st.plotly_chart(px.bar(rejections, x="scrape_date", y="rows", color="rejection_reason"), width="stretch")

st.subheader("Price model versions")
versions = data.query(data.MODEL_VERSIONS)
if versions.empty:
    st.caption("No model trained yet.")
else:
    st.dataframe(versions, hide_index=True, width="stretch")
st.caption(data.snapshot_caption())
