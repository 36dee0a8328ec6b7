"""AutoList: market intelligence on Morocco's used-car listings, read from the serving snapshot."""

import streamlit as st

st.set_page_config(page_title="AutoList", page_icon="🚗", layout="wide")

pages = [
    st.Page("app_pages/market.py", title="Market", icon="📈", default=True),
]
st.navigation(pages).run()
