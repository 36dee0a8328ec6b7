"""Data access for the app: short-lived read-only connections to the serving snapshot, cached per snapshot.

Pages never open connections themselves and never build SQL from user input: every query here is a
constant with bound parameters. The pipeline replaces serving.duckdb by renaming a new file over it, so
a read sees either the old snapshot or the new one, never a half-written file; the snapshot's mtime is
part of every cache key, so a new snapshot is read as soon as it lands. The reading itself is
autolist_assets.snapshot, which the REST API shares.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from autolist_assets import paths, snapshot

EMPTY_STATE = "No data yet: run `make demo` to scrape the demo marketplace and publish a snapshot."
DAGSTER_URL = "http://127.0.0.1:3000"
DBT_DOCS_URL = "http://127.0.0.1:8080"
DEAL_BANDS = ["great", "good", "fair", "high", "overpriced"]
DEAL_COLOURS = {"great": "#1a7f37", "good": "#57ab5a", "fair": "#8c959f", "high": "#d4a72c", "overpriced": "#cf222e"}


def snapshot_path() -> Path:
    return paths.serving_path()


def snapshot_version() -> float | None:
    return snapshot.version()


def _read(sql: str, params: tuple) -> pd.DataFrame:
    return snapshot.frame(sql, params)


@st.cache_data(ttl=300, show_spinner=False, max_entries=512)
def _cached(sql: str, params: tuple, version: float) -> pd.DataFrame:
    return _read(sql, params)


def query(sql: str, params: tuple = ()) -> pd.DataFrame | None:
    """Run a parameterised query on the snapshot; None when no snapshot has been published yet."""
    version = snapshot_version()
    if version is None:
        return None
    return _cached(sql, tuple(params), version)


def tables() -> set[str]:
    frame = query("select table_name from information_schema.tables")
    return set(frame["table_name"]) if frame is not None else set()


def format_dh(value) -> str:
    """A price as Moroccan sites print it: '173 000 DH' (narrow no-break space between thousands)."""
    if value is None or pd.isna(value):
        return "—"
    sign = "−" if value < 0 else ""
    return f"{sign}{abs(round(value)):,} DH".replace(",", "\u202f")


_MARKDOWN_SPECIALS = str.maketrans({ch: "\\" + ch for ch in "\\`*_{}[]()<>#+-.!|~$"})


def md_escape(text) -> str:
    """Scraped text shown inside markdown (titles, captions): every markdown and HTML character escaped, so a
    seller's `[link](javascript:...)` or `<img onerror>` is printed, never rendered."""
    return str(text).translate(_MARKDOWN_SPECIALS)


def format_count(value) -> str:
    return f"{int(value):,}".replace(",", "\u202f")


def snapshot_caption() -> str:
    info = query(SNAPSHOT_INFO)
    if info is None or info.empty:
        return ""
    return f"Snapshot published {info.loc[0, 'published_at']:%Y-%m-%d %H:%M} UTC"


# ---------------------------------------------------------------- queries (bound parameters only)
SNAPSHOT_INFO = "select published_at, listings from snapshot_info"

MARKET_KPIS = """
    select count(*) filter (where still_active) as active_listings,
           count(*) filter (where still_active and posted_date = (select max(posted_date) from listings)) as new_today,
           median(price_dh) filter (where still_active) as median_price_dh,
           median(days_on_market) filter (where still_active) as median_days_on_market,
           max(posted_date) as latest_day
    from listings
"""

VOLUME = """
    select period_start, source, sum(vehicles) as listings
    from listing_volume where grain = ? group by all order by period_start
"""

CITIES_BY_VOLUME = "select city from brand_share_by_city group by city order by sum(vehicles) desc"

BRAND_SHARE_TWO_CITIES = """
    select city, brand, vehicles, share, brand_rank
    from brand_share_by_city where city in (?, ?) and brand_rank <= ?
    order by city, brand_rank
"""

REGION_PRICES = """
    select region, count(*) as listings, median(price_dh) as median_price_dh
    from listings where region is not null and still_active group by region
"""

BRANDS = "select brand from listings group by brand order by count(*) desc"
MODELS_OF_BRAND = "select model from listings where brand = ? group by model order by count(*) desc"

PRICE_BY_YEAR_CITY = """
    select model_year, city, listings, avg_price_dh, median_price_dh
    from prices_by_model_year_city where brand = ? and model = ?
    order by model_year, listings desc
"""

# Per model and fuel, from the snapshot's listings with the mart's own age and mileage-band definitions:
# depreciation_curves has per-model curves (all fuels) and per-fuel curves (all models), not both at once.
_MODEL_VEHICLES = """
    with vehicles as (
        select fuel, price_dh,
               greatest(extract(year from coalesce(posted_date, current_date)) - model_year, 0) as age_years,
               cast(floor(mileage_km / 25000) * 25000 as bigint) as mileage_band_km
        from listings
        where brand = ? and model = ? and fuel is not null and price_dh is not null and model_year is not null
    )
"""

DEPRECIATION_BY_AGE = _MODEL_VEHICLES + """
    select fuel, age_years, count(*) as vehicles, median(price_dh) as median_price_dh
    from vehicles group by all order by fuel, age_years
"""

DEPRECIATION_BY_MILEAGE = _MODEL_VEHICLES + """
    select fuel, mileage_band_km, count(*) as vehicles, median(price_dh) as median_price_dh
    from vehicles where mileage_band_km is not null group by all order by fuel, mileage_band_km
"""

DEALS = """
    select title, brand, model, model_year, mileage_km, fuel, city, region, price_dh, predicted_price_dh,
           deal_rating, price_change_dh, days_on_market, url
    from listings
    where still_active and deal_rating is not null
      and price_dh <= ? and model_year >= ?
      and (? = '' or brand = ?) and (? = '' or fuel = ?) and (? = '' or city = ? or region = ?)
    order by case deal_rating when 'great' then 1 when 'good' then 2 when 'fair' then 3 when 'high' then 4 else 5 end,
             price_dh - predicted_price_dh
    limit ?
"""

DEAL_FILTER_VALUES = """
    select distinct brand, fuel, city, region from listings where still_active and deal_rating is not null
"""

DEMO_USERS = """
    select u.user_id, u.budget_dh, u.preferred_brands, u.preferred_fuel, u.home_region, count(r.listing_key) as recommendations
    from demo_users u left join user_recommendations r using (user_id)
    group by all having count(r.listing_key) > 0 order by u.user_id limit 200
"""

USER_RECOMMENDATIONS = """
    select r.rank, r.brand, r.model, r.model_year, r.price_dh, r.city, r.reason, l.url, l.listing_key
    from user_recommendations r left join listings l using (listing_key)
    where r.user_id = ? order by r.rank
"""

LISTING_CHOICES = """
    select listing_key, title || ' · ' || city || ' · ' || cast(price_dh as varchar) || ' DH' as label
    from listings where still_active and brand = ? order by price_dh limit 300
"""

SCRAPE_HEALTH = """
    select scrape_date, source, pages, listings, parse_failures, rejection_rate, hours_since_scrape, duration_s
    from scrape_health order by scrape_date desc, source
"""

DUPLICATE_RATES = "select source, listings, vehicles, duplicate_rate, cross_posted_listings from duplicate_rates order by source"

REJECTIONS = "select scrape_date, rejection_reason, rows from rejections order by scrape_date"

MODEL_VERSIONS = "select * from model_versions order by version desc"
