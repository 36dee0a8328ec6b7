"""What the API reads: the serving snapshot (constant SQL, bound parameters), the price model and the recommender.

Nothing here writes. The snapshot is read through autolist_assets.snapshot, which keeps one connection per
published file; the price model is cached per champion version by ml.price.estimate.load_model, and the
recommender per model file (inode and mtime), so a retrain or a new snapshot is picked up without a restart.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import threading
from datetime import datetime, timezone

import duckdb
import numpy as np

from autolist_assets import paths, snapshot
from ml.price.estimate import load_model
from ml.price.model import PriceModel
from ml.price.registry import champion_version, default_root
from ml.recommender.model import Recommender, load_recommender


class ModelMissing(LookupError):
    """A model the endpoint needs has not been trained yet."""


class BadCursor(ValueError):
    """A cursor that this API did not issue for this endpoint and sort."""


# ------------------------------------------------------------------ models
_recommender_lock = threading.Lock()
_recommender: tuple[tuple, Recommender, datetime, dict] | None = None


def price_model() -> PriceModel:
    try:
        return load_model()
    except FileNotFoundError:
        raise ModelMissing("no price model yet: run `make demo` to train one") from None


def price_model_version() -> str | None:
    return champion_version(default_root())


def recommender() -> tuple[Recommender, datetime, dict]:
    """The trained recommender, when it was trained, and lookups: a case-insensitive map to its canonical filter
    values per column, and vehicle_id → listing_key."""
    global _recommender
    path = paths.recommender_path()
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ModelMissing("no recommender yet: run `make demo` to train one") from None
    identity = (str(path), stat.st_dev, stat.st_ino, stat.st_mtime_ns)
    cached = _recommender
    if cached is not None and cached[0] == identity:
        return cached[1:]
    with _recommender_lock:
        if _recommender is None or _recommender[0] != identity:
            model = load_recommender(path)
            model.prepare_serving()
            canonical = {
                column: {str(v).casefold(): v for v in model.items[column].dropna().unique()}
                for column in ("brand", "city", "region", "fuel")
            }
            # Similar listings start from a vehicle: its listing key without a trip to the snapshot.
            if "vehicle_id" in model.items:
                canonical["listing_key"] = dict(zip(model.items["vehicle_id"], model.items["listing_key"]))
            _recommender = (identity, model, datetime.fromtimestamp(stat.st_mtime, timezone.utc), canonical)
        return _recommender[1:]


def recommender_trained_at() -> datetime | None:
    try:
        return datetime.fromtimestamp(paths.recommender_path().stat().st_mtime, timezone.utc)
    except FileNotFoundError:
        return None


def plain(value):
    """A numpy or pandas scalar as a JSON-ready Python value; NaN and NaT become None."""
    if value is None:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    try:
        if value != value:  # pd.NA, NaT
            return None
    except TypeError:
        return None
    return value


# ------------------------------------------------------------------ cursors
def encode_cursor(payload: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list:
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor("not a cursor issued by this API") from None
    if not isinstance(payload, list) or not payload:
        raise BadCursor("not a cursor issued by this API")
    return payload


# ------------------------------------------------------------------ listings
LISTING_COLUMNS = """
    vehicle_id, listing_key, source, url, title, brand, model, model_year, mileage_km, fuel, gearbox, city, region,
    price_dh, predicted_price_dh, deal_rating, days_on_market, first_seen_at, still_active
"""

# sort name → (key expression, descending?, type of the key in the cursor). Unrated, undated or unknown
# values sort last through the coalesce, so the key is never null and keyset paging is exact.
SORTS = {
    "newest": ("coalesce(epoch_us(first_seen_at), 0)", True, int),
    "price_asc": ("coalesce(price_dh, 9000000000000)", False, int),
    "price_desc": ("coalesce(price_dh, -1)", True, int),
    "year_desc": ("coalesce(model_year, 0)", True, int),
    "mileage_asc": ("coalesce(mileage_km, 9000000000000)", False, int),
    "best_deal": ("coalesce(price_gap_pct, 1e9)", False, float),
}

# filter name → SQL condition with one bound parameter; the values never reach the SQL text.
LISTING_FILTERS = {
    "brand": "lower(brand) = lower(?)",
    "model": "lower(model) = lower(?)",
    "year_min": "model_year >= ?",
    "year_max": "model_year <= ?",
    "price_min": "price_dh >= ?",
    "price_max": "price_dh <= ?",
    "km_max": "mileage_km <= ?",
    "fuel": "fuel = ?",
    "gearbox": "gearbox = ?",
    "city": "lower(city) = lower(?)",
    "region": "lower(region) = lower(?)",
    "source": "list_contains(string_split(sources, ','), ?)",
    "active": "still_active = ?",
}


def listings_page(filters: dict, deal_ratings: list[str], sort: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    """One page of listings in a stable order (sort key, then vehicle_id) and the cursor of the next page."""
    key, descending, key_type = SORTS[sort]
    conditions, params = [], []
    for name, value in filters.items():
        if value is not None:
            conditions.append(LISTING_FILTERS[name])
            params.append(value)
    if deal_ratings:
        conditions.append(f"deal_rating in ({', '.join('?' for _ in deal_ratings)})")
        params.extend(deal_ratings)
    if cursor:
        payload = decode_cursor(cursor)
        if len(payload) != 3 or payload[0] != sort or not isinstance(payload[2], str):
            raise BadCursor(f"this cursor does not belong to sort={sort}")
        value = payload[1]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (key_type is int and not isinstance(value, int)):
            raise BadCursor("not a cursor issued by this API")
        conditions.append(f"({key} {'<' if descending else '>'} ? or ({key} = ? and vehicle_id > ?))")
        params.extend([value, value, payload[2]])
    sql = (
        f"select {LISTING_COLUMNS}, {key} as sort_key from listings"
        f"{' where ' + ' and '.join(conditions) if conditions else ''}"
        f" order by sort_key {'desc' if descending else 'asc'}, vehicle_id limit ?"
    )
    found = snapshot.rows(sql, [*params, limit + 1])
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        last = found[-1]
        next_cursor = encode_cursor([sort, last["sort_key"], last["vehicle_id"]])
    for row in found:
        del row["sort_key"]
    return found, next_cursor


def listing(vehicle_id: str) -> dict | None:
    found = snapshot.rows("select * from listings where vehicle_id = ?", (vehicle_id,))
    return found[0] if found else None


def price_history(vehicle_id: str) -> list[dict]:
    try:
        return snapshot.rows(
            """
            select listing_key, price_dh, previous_price_dh, price_change_dh, valid_from, valid_to, is_current
            from listing_price_history where vehicle_id = ? order by valid_from, listing_key
            """,
            (vehicle_id,),
        )
    except duckdb.CatalogException:
        return []  # a snapshot published before the history was part of it


def listing_key_of(vehicle_id: str) -> str | None:
    found = snapshot.rows("select listing_key from listings where vehicle_id = ?", (vehicle_id,))
    return found[0]["listing_key"] if found else None


# ------------------------------------------------------------------ market marts
# mart → (columns, total order). Marts are rebuilt whole with each snapshot, so their cursor is an offset
# in a total order rather than a keyset.
MARTS = {
    "prices": ("brand, model, model_year, city, listings, avg_price_dh, median_price_dh, min_price_dh, max_price_dh",
               "prices_by_model_year_city", "brand, model, model_year, city"),
    "brand-share": ("city, region, brand, vehicles, city_vehicles, share, brand_rank",
                    "brand_share_by_city", "city, brand_rank, brand"),
    "depreciation": ("curve_kind, curve, brand, model, fuel, age_years, mileage_band_km, vehicles, median_price_dh,"
                     " value_retention, is_meaningful", "depreciation_curves",
                     "curve_kind, curve, age_years, mileage_band_km"),
    "volume": ("grain, period_start, source, region, fuel, vehicles, median_price_dh", "listing_volume",
               "period_start, source, region, fuel"),
}

MART_FILTERS = {
    "brand": "lower(brand) = lower(?)",
    "model": "lower(model) = lower(?)",
    "city": "lower(city) = lower(?)",
    "region": "lower(region) = lower(?)",
    "fuel": "lower(fuel) = lower(?)",
    "year_min": "model_year >= ?",
    "year_max": "model_year <= ?",
    "min_listings": "listings >= ?",
    "top": "brand_rank <= ?",
    "curve_kind": "curve_kind = ?",
    "meaningful_only": "(not ? or is_meaningful)",
    "grain": "grain = ?",
    "source": "source = ?",
    "date_from": "period_start >= ?",
    "date_to": "period_start <= ?",
}


def mart_page(mart: str, filters: dict, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
    columns, table, order = MARTS[mart]
    offset = 0
    if cursor:
        payload = decode_cursor(cursor)
        if len(payload) != 2 or payload[0] != mart or isinstance(payload[1], bool) or not isinstance(payload[1], int) or payload[1] < 0:
            raise BadCursor(f"this cursor does not belong to /v1/market/{mart}")
        offset = payload[1]
    conditions, params = [], []
    for name, value in filters.items():
        if value is not None:
            conditions.append(MART_FILTERS[name])
            params.append(value)
    sql = (
        f"select {columns} from {table}{' where ' + ' and '.join(conditions) if conditions else ''}"
        f" order by {order} nulls last limit ? offset ?"
    )
    found = snapshot.rows(sql, [*params, limit + 1, offset])
    if len(found) > limit:
        return found[:limit], encode_cursor([mart, offset + limit])
    return found, None


# ------------------------------------------------------------------ health
def health() -> dict:
    info = snapshot.rows("select published_at, listings from snapshot_info")[0]
    sources = snapshot.rows(
        """
        select source, scrape_date as last_scrape_date, scraped_at as last_scraped_at,
               listings as listings_last_scrape, rejection_rate as rejection_rate_last_scrape
        from scrape_health
        qualify row_number() over (partition by source order by scrape_date desc, scraped_at desc nulls last) = 1
        order by source
        """
    )
    champion = snapshot.rows("select version from model_versions where champion")
    now = datetime.now(timezone.utc)
    for row in sources:
        scraped = row["last_scraped_at"]
        row["hours_since_scrape"] = round((now - scraped).total_seconds() / 3600, 2) if scraped else None
    published = info["published_at"]
    return {
        "status": "ok",
        "snapshot_published_at": published,
        "snapshot_age_s": round((now - published).total_seconds(), 1),
        "listings": info["listings"],
        "sources": sources,
        "price_model_version": price_model_version(),
        "snapshot_model_version": champion[0]["version"] if champion else None,
        "recommender_trained_at": recommender_trained_at(),
    }
