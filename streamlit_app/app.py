"""AutoList: market intelligence on Morocco's used-car listings, read from the serving snapshot."""

import streamlit as st

st.set_page_config(page_title="AutoList", page_icon="🚗", layout="wide")

pages = [
    st.Page("app_pages/market.py", title="Market", icon="📈", default=True),
    st.Page("app_pages/model_explorer.py", title="Model explorer", icon="🔎"),
    st.Page("app_pages/estimator.py", title="Price estimator", icon="🧮"),
    st.Page("app_pages/deals.py", title="Deals", icon="🏷️"),
    st.Page("app_pages/recommendations.py", title="Recommendations", icon="✨"),
    st.Page("app_pages/health.py", title="Pipeline health", icon="🩺"),
]
st.navigation(pages).run()
