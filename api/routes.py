"""The /v1 endpoints. Every one is read-only: POST /v1/estimate computes, it stores nothing."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.exceptions import RequestValidationError

from api import store
from api.schemas import (
    DEFAULT_MART_PAGE, DEFAULT_PAGE, MAX_K, MAX_KM, MAX_MART_PAGE, MAX_PAGE, MAX_PRICE_DH, MAX_YEAR, MIN_YEAR,
    BrandSharePage, CurveKind, DealRating, DepreciationPage, EstimateRequest, EstimateResponse, Fuel, Gearbox, Grain,
    Health, ListingDetail, ListingPage, ListingSort, PriceCellPage, Problem, RateLimited, Recommendations,
    SimilarListings, Source, VolumePage,
)
from ml.price.estimate import estimate
from ml.price.features import normalize_key

router = APIRouter(
    prefix="/v1",
    responses={
        429: {"model": RateLimited, "description": "Over the per-client rate limit; see Retry-After"},
        503: {"model": Problem, "description": "No snapshot or model published yet"},
    },
)

NOT_FOUND = {404: {"model": Problem, "description": "Unknown vehicle"}}
Text = Annotated[str | None, Query(min_length=1, max_length=60)]
Year = Annotated[int | None, Query(ge=MIN_YEAR, le=MAX_YEAR)]
Price = Annotated[int | None, Query(ge=0, le=MAX_PRICE_DH)]
K = Annotated[int, Query(ge=1, le=MAX_K, description="how many listings")]
Cursor = Annotated[str | None, Query(min_length=1, max_length=400, pattern="^[A-Za-z0-9_-]+$",
                                     description="next_cursor of the previous page")]
MartLimit = Annotated[int, Query(ge=1, le=MAX_MART_PAGE)]
VehicleId = Annotated[str, Path(min_length=1, max_length=100, examples=["veh_b8d5170984fa5ba0"])]


def _bad_cursor(error: store.BadCursor, cursor: str | None) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("query", "cursor"), "msg": str(error), "input": cursor}])


def _value(choice):
    return choice.value if choice is not None else None


# ------------------------------------------------------------------ listings
@router.get("/listings", response_model=ListingPage, tags=["listings"], summary="Search listings, one page at a time")
def list_listings(
    brand: Text = None,
    model: Text = None,
    year_min: Year = None,
    year_max: Year = None,
    price_min: Price = None,
    price_max: Price = None,
    km_max: Annotated[int | None, Query(ge=0, le=MAX_KM)] = None,
    fuel: Fuel | None = None,
    gearbox: Gearbox | None = None,
    city: Text = None,
    region: Text = None,
    source: Annotated[Source | None, Query(description="listed on this site (a cross-posted car is on both)")] = None,
    deal_rating: Annotated[list[DealRating] | None, Query(description="repeat for several")] = None,
    active: Annotated[bool | None, Query(description="still online at the last scrape")] = None,
    sort: ListingSort = ListingSort.newest,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    cursor: Cursor = None,
):
    """Vehicles (reposts and cross-posts collapsed) matching every filter given, in a stable order: the sort key,
    then vehicle_id. Text filters ignore case. Follow `next_cursor` for the next page."""
    filters = {
        "brand": brand, "model": model, "year_min": year_min, "year_max": year_max, "price_min": price_min,
        "price_max": price_max, "km_max": km_max, "fuel": _value(fuel), "gearbox": _value(gearbox), "city": city,
        "region": region, "source": _value(source), "active": active,
    }
    ratings = sorted({r.value for r in deal_rating or []})
    try:
        items, next_cursor = store.listings_page(filters, ratings, sort.value, limit, cursor)
    except store.BadCursor as error:
        raise _bad_cursor(error, cursor) from None
    return {"items": items, "next_cursor": next_cursor, "limit": limit, "sort": sort}


@router.get("/listings/{vehicle_id}", response_model=ListingDetail, responses=NOT_FOUND, tags=["listings"],
            summary="One vehicle with its price history, estimate and deal rating")
def get_listing(vehicle_id: VehicleId):
    row = store.listing(vehicle_id)
    if row is None:
        raise HTTPException(404, f"no vehicle {vehicle_id} in the current snapshot")
    row["sources"] = [s for s in (row.get("sources") or row["source"]).split(",") if s]
    row["estimate"] = None
    if row.get("predicted_price_dh") is not None:
        row["estimate"] = {
            "price_dh": row["predicted_price_dh"],
            "range_80": {"low_dh": row["low_80_dh"], "high_dh": row["high_80_dh"]},
            "range_90": {"low_dh": row["low_90_dh"], "high_dh": row["high_90_dh"]},
            "price_gap_pct": row["price_gap_pct"],
            "deal_rating": row["deal_rating"],
            "rating_rule": row["rating_rule"],
            "model_version": row["model_version"],
        }
    row["price_history"] = store.price_history(vehicle_id)
    return row


# ------------------------------------------------------------------ estimate
@router.post("/estimate", response_model=EstimateResponse, tags=["estimate"],
             responses={400: {"model": Problem, "description": "The body is not JSON"}},
             summary="Estimate a car's price, with ranges, a deal rating, contributions and comparables")
def post_estimate(car: EstimateRequest):
    """The same `estimate()` the app's estimator calls, on the champion price model. Give `asking_price_dh` for
    a deal rating (great, good, fair, high, overpriced) or the reason there is none."""
    model = store.price_model()
    features = car.model_dump(mode="json", exclude={"asking_price_dh"})
    features["price_dh"] = car.asking_price_dh
    result = estimate(features, model=model)
    categories = model.schema.categories
    brand_key, model_key = normalize_key(car.brand), normalize_key(car.model)
    notes = []
    if brand_key not in categories.get("brand", []):
        notes.append(f"brand {car.brand!r} is unknown to the model")
    if f"{brand_key}|{model_key}" not in categories.get("model", []):
        notes.append(f"model {car.brand} {car.model!r} is unknown to the model")
    if car.city and normalize_key(car.city) not in categories.get("city", []):
        notes.append(f"city {car.city!r} is unknown to the model")
    return {
        "price_dh": result.price_dh,
        "range_80": {"low_dh": result.interval_80[0], "high_dh": result.interval_80[1]},
        "range_90": {"low_dh": result.interval_90[0], "high_dh": result.interval_90[1]},
        "asking_price_dh": car.asking_price_dh,
        "deal_rating": result.rating,
        "rating_rule": result.rating_rule,
        "contributions": result.explanation,
        "comparables": [
            {k: (round(v) if isinstance(v, float) and k in ("model_year", "mileage_km", "price_dh") else v) for k, v in c.items()}
            for c in result.comparables
        ],
        "model_version": result.model_version,
        "notes": notes,
    }


# ------------------------------------------------------------------ recommendations
def _picks(model, frame) -> list[dict]:
    positions = model.positions(frame["listing_key"])
    columns = {c: model.items[c].to_numpy() for c in ("vehicle_id", "url") if c in model.items}
    out = []
    for rank, (row, position) in enumerate(zip(frame.to_dict("records"), positions), start=1):
        extra = {c: store.plain(values[position]) if position >= 0 else None for c, values in columns.items()}
        out.append({"rank": rank, "vehicle_id": None, "url": None, **{k: store.plain(v) for k, v in row.items()}, **extra})
    return out


def _recommender_filters(canonical: dict, brand, city, region, fuel, price_min, price_max) -> dict:
    wanted = {"brand": brand, "city": city, "region": region, "fuel": _value(fuel)}
    filters = {c: canonical[c].get(v.casefold(), v) for c, v in wanted.items() if v}
    return {**filters, "min_price": price_min, "max_price": price_max}


@router.get("/users/{user_id}/recommendations", response_model=Recommendations, tags=["recommendations"],
            summary="A user's top-k active listings, each with its reason")
def user_recommendations(
    user_id: Annotated[str, Path(min_length=1, max_length=100, examples=["user_0001"])],
    k: K = 10,
    brand: Text = None,
    city: Text = None,
    region: Text = None,
    fuel: Fuel | None = None,
    price_min: Price = None,
    price_max: Price = None,
):
    """The hybrid recommender (content + co-visitation + popularity). A user with no history gets popular listings
    (`personalised: false`). Listings the user contacted are never returned."""
    model, trained_at, canonical = store.recommender()
    filters = _recommender_filters(canonical, brand, city, region, fuel, price_min, price_max)
    frame = model.recommend_for_user(user_id, k, filters)
    return {"items": _picks(model, frame), "k": k, "personalised": user_id in model.user_history,
            "recommender_trained_at": trained_at}


@router.get("/listings/{vehicle_id}/similar", response_model=SimilarListings, responses=NOT_FOUND,
            tags=["recommendations"], summary="Active listings closest to one vehicle")
def similar_listings(
    vehicle_id: VehicleId,
    k: K = 10,
    brand: Text = None,
    city: Text = None,
    region: Text = None,
    fuel: Fuel | None = None,
    price_min: Price = None,
    price_max: Price = None,
):
    """The k active listings nearest in content (brand, model, fuel, gearbox, place, price, age, mileage)."""
    model, trained_at, canonical = store.recommender()
    listing_key = canonical.get("listing_key", {}).get(vehicle_id)
    if listing_key is None:
        if store.listing_key_of(vehicle_id) is None:
            raise HTTPException(404, f"no vehicle {vehicle_id} in the current snapshot")
        raise HTTPException(404, f"vehicle {vehicle_id} is newer than the recommender; the next run covers it")
    filters = _recommender_filters(canonical, brand, city, region, fuel, price_min, price_max)
    frame = model.similar_listings(listing_key, k, filters)
    return {"vehicle_id": vehicle_id, "items": _picks(model, frame), "k": k, "recommender_trained_at": trained_at}


# ------------------------------------------------------------------ market
def _mart(mart: str, filters: dict, limit: int, cursor: str | None) -> dict:
    try:
        items, next_cursor = store.mart_page(mart, filters, limit, cursor)
    except store.BadCursor as error:
        raise _bad_cursor(error, cursor) from None
    return {"items": items, "next_cursor": next_cursor}


@router.get("/market/prices", response_model=PriceCellPage, tags=["market"],
            summary="Asking prices by model, year and city")
def market_prices(
    brand: Text = None, model: Text = None, city: Text = None, year_min: Year = None, year_max: Year = None,
    min_listings: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    limit: MartLimit = DEFAULT_MART_PAGE, cursor: Cursor = None,
):
    filters = {"brand": brand, "model": model, "city": city, "year_min": year_min, "year_max": year_max,
               "min_listings": min_listings}
    return _mart("prices", filters, limit, cursor)


@router.get("/market/brand-share", response_model=BrandSharePage, tags=["market"],
            summary="Each brand's share of a city's listings")
def market_brand_share(
    city: Text = None, region: Text = None, brand: Text = None,
    top: Annotated[int | None, Query(ge=1, le=1000, description="only the city's top brands")] = None,
    limit: MartLimit = DEFAULT_MART_PAGE, cursor: Cursor = None,
):
    return _mart("brand-share", {"city": city, "region": region, "brand": brand, "top": top}, limit, cursor)


@router.get("/market/depreciation", response_model=DepreciationPage, tags=["market"],
            summary="Median price against age and mileage, per model or per fuel")
def market_depreciation(
    curve_kind: CurveKind | None = None, brand: Text = None, model: Text = None, fuel: Fuel | None = None,
    meaningful_only: Annotated[bool, Query(description="only cells with enough vehicles")] = False,
    limit: MartLimit = DEFAULT_MART_PAGE, cursor: Cursor = None,
):
    filters = {"curve_kind": _value(curve_kind), "brand": brand, "model": model, "fuel": _value(fuel),
               "meaningful_only": True if meaningful_only else None}
    return _mart("depreciation", filters, limit, cursor)


@router.get("/market/volume", response_model=VolumePage, tags=["market"],
            summary="New listings per day, week or month, by site, region and fuel")
def market_volume(
    grain: Grain = Grain.day, source: Source | None = None, region: Text = None,
    fuel: Annotated[str | None, Query(min_length=1, max_length=20, description="a fuel, or Unknown")] = None,
    date_from: date | None = None, date_to: date | None = None,
    limit: MartLimit = DEFAULT_MART_PAGE, cursor: Cursor = None,
):
    filters = {"grain": grain.value, "source": _value(source), "region": region, "fuel": fuel,
               "date_from": date_from, "date_to": date_to}
    return _mart("volume", filters, limit, cursor)


# ------------------------------------------------------------------ health
@router.get("/health", response_model=Health, tags=["health"],
            summary="Snapshot time, freshness per source and model versions")
def health():
    return store.health()
