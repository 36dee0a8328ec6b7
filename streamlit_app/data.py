"""Data access for the app: short-lived read-only connections to the serving snapshot, cached per snapshot.

Pages never open connections themselves. The pipeline replaces serving.duckdb by renaming a new file
over it, so a read either sees the old snapshot or the new one, never a half-written file.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from autolist_assets import paths

EMPTY_STATE = "No data yet: run `make demo` to scrape the demo marketplace and publish a snapshot."


def snapshot_path() -> Path:
    return paths.serving_path()


def snapshot_version() -> float | None:
    """The snapshot's modification time, part of every cache key so a new snapshot is read at once."""
    try:
        return snapshot_path().stat().st_mtime
    except FileNotFoundError:
        return None


@st.cache_data(ttl=300, show_spinner=False)
def _query(sql: str, params: tuple, version: float) -> pd.DataFrame:
    con = duckdb.connect(str(snapshot_path()), read_only=True)
    try:
        return con.execute(sql, list(params)).df()
    finally:
        con.close()


def query(sql: str, params: tuple = ()) -> pd.DataFrame | None:
    """Run a parameterised query on the snapshot; None when no snapshot has been published yet."""
    version = snapshot_version()
    if version is None:
        return None
    return _query(sql, tuple(params), version)


MARKET_KPIS = """
    select count(*) as listings,
           count(distinct source) as sources,
           median(price_dh) as median_price_dh,
           max(posted_date) as latest_day
    from listings
"""

LISTINGS_PER_DAY = """
    select posted_date, source, count(*) as listings
    from listings group by all order by posted_date
"""

BRANDS = "select distinct brand from prices_by_model_year_city order by brand"

PRICES_FOR_BRAND = """
    select model, model_year, city, listings, avg_price_dh, median_price_dh
    from prices_by_model_year_city
    where brand = ?
    order by model, model_year desc, listings desc
"""

SNAPSHOT_INFO = "select published_at, listings from snapshot_info"


def format_dh(value: float | int | None) -> str:
    """A price as Moroccan sites print it: '173 000 DH' (narrow no-break space between thousands)."""
    if value is None or pd.isna(value):
        return "—"
    return f"{round(value):,} DH".replace(",", "\u202f")
