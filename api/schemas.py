"""Request and response models: the OpenAPI schema at /openapi.json is generated from these."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

MAX_YEAR = date.today().year + 1
MIN_YEAR = 1980
MAX_PAGE = 100
DEFAULT_PAGE = 20
MAX_MART_PAGE = 1000
DEFAULT_MART_PAGE = 200
MAX_K = 50
MAX_PRICE_DH = 10_000_000
MAX_KM = 1_000_000


class Fuel(str, Enum):
    diesel = "Diesel"
    essence = "Essence"
    hybride = "Hybride"
    electrique = "Electrique"
    lpg = "LPG"


class Gearbox(str, Enum):
    manuelle = "Manuelle"
    automatique = "Automatique"


class Source(str, Enum):
    avito = "avito"
    moteur = "moteur"


class DealRating(str, Enum):
    great = "great"
    good = "good"
    fair = "fair"
    high = "high"
    overpriced = "overpriced"


class Origin(str, Enum):
    ww_au_maroc = "WW au Maroc"
    dedouanee = "Dédouanée"
    importee_neuve = "Importée neuve"
    pas_encore_dedouanee = "Pas encore dédouanée"


class Condition(str, Enum):
    neuf = "Neuf"
    excellent = "Excellent"
    tres_bon = "Très bon"
    bon = "Bon"
    correct = "Correct"
    endommage = "Endommagé"
    pour_pieces = "Pour Pièces"


class SellerType(str, Enum):
    private = "private"
    shop = "shop"


class ListingSort(str, Enum):
    newest = "newest"  # first seen, latest first
    price_asc = "price_asc"
    price_desc = "price_desc"
    year_desc = "year_desc"
    mileage_asc = "mileage_asc"
    best_deal = "best_deal"  # furthest below the estimate first; unrated listings last


class Grain(str, Enum):
    day = "day"
    week = "week"
    month = "month"


class CurveKind(str, Enum):
    model = "model"
    fuel = "fuel"


def _json_number(value):
    if isinstance(value, (bool, str)):
        raise ValueError("should be a JSON number")
    return value


def whole(ge: int, le: int):
    """An integer as JSON Schema means it (2018 or 2018.0, never "2018" or true: a client's mistakes to report)."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(_json_number)]


class Schema(BaseModel):
    # Fields named model, model_year… are the domain's words, not pydantic's namespace.
    model_config = ConfigDict(protected_namespaces=())


# ------------------------------------------------------------------ listings
class Range(Schema):
    low_dh: int
    high_dh: int


class ListingEstimate(Schema):
    """The price model's view of a listing, as published in the snapshot."""

    price_dh: int = Field(description="estimated fair asking price")
    range_80: Range
    range_90: Range
    price_gap_pct: float | None = Field(None, description="(asking − estimate) / estimate")
    deal_rating: DealRating | None
    rating_rule: str | None = Field(None, description="why this rating, or why none")
    model_version: str | None


class ListingSummary(Schema):
    vehicle_id: str = Field(description="the car behind reposts and cross-posts")
    listing_key: str = Field(description="its representative listing, '<source>:<listing_id>'")
    source: Source
    url: str | None
    title: str | None
    brand: str | None
    model: str | None
    model_year: int | None
    mileage_km: int | None
    fuel: Fuel | None
    gearbox: Gearbox | None
    city: str | None
    region: str | None
    price_dh: int = Field(description="latest asking price")
    predicted_price_dh: int | None
    deal_rating: DealRating | None
    days_on_market: int | None
    first_seen_at: datetime | None
    still_active: bool | None


class ListingPage(Schema):
    items: list[ListingSummary]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")
    limit: int
    sort: ListingSort


class PricePeriod(Schema):
    listing_key: str
    price_dh: int
    previous_price_dh: int | None
    price_change_dh: int | None
    valid_from: datetime
    valid_to: datetime | None = Field(description="null while it is the current price")
    is_current: bool


class ListingDetail(ListingSummary):
    sources: list[Source]
    mileage_is_estimated: bool | None
    fiscal_power: int | None
    doors: int | None
    origin: str | None
    condition: str | None
    first_owner: bool | None
    seller_type: str | None
    province: str | None
    first_price_dh: int | None
    price_change_dh: int | None
    price_changes: int | None
    price_drops: int | None
    posted_date: date | None
    last_seen_at: datetime | None
    is_cross_posted: bool | None
    reposts: int | None
    estimate: ListingEstimate | None = Field(description="null when the price model has not scored this vehicle")
    price_history: list[PricePeriod] = Field(description="every asking-price period of the vehicle's listings, oldest first")


# ------------------------------------------------------------------ estimate
class EstimateRequest(Schema):
    """A car's features. Only brand, model and year are required: every missing detail widens the range."""

    model_config = ConfigDict(
        protected_namespaces=(),
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"brand": "Dacia", "model": "Logan", "model_year": 2018, "mileage_km": 120000, "fuel": "Diesel",
                 "gearbox": "Manuelle", "city": "Casablanca", "asking_price_dh": 85000}
            ]
        },
    )

    brand: str = Field(min_length=1, max_length=40, examples=["Dacia"])
    model: str = Field(min_length=1, max_length=60, examples=["Logan"])
    model_year: whole(MIN_YEAR, MAX_YEAR)
    mileage_km: whole(0, MAX_KM) | None = None
    fuel: Fuel | None = None
    gearbox: Gearbox | None = None
    city: str | None = Field(None, min_length=1, max_length=60, examples=["Casablanca"])
    fiscal_power: whole(1, 60) | None = Field(None, description="CV")
    doors: whole(2, 5) | None = None
    origin: Origin | None = None
    first_owner: StrictBool | None = None
    condition: Condition | None = None
    seller_type: SellerType | None = None
    asking_price_dh: whole(1_000, MAX_PRICE_DH) | None = Field(None, description="to get a deal rating")


class Contribution(Schema):
    feature: str
    value: str
    effect_dh: int = Field(description="how many DH this feature moves the estimate")
    text: str


class Comparable(Schema):
    listing_key: str | None
    model: str | None
    model_year: int | None
    mileage_km: int | None
    price_dh: int | None
    title: str | None


class EstimateResponse(Schema):
    price_dh: int
    range_80: Range
    range_90: Range
    asking_price_dh: int | None
    deal_rating: DealRating | None = Field(description="null without an asking price, or when the range is too wide")
    rating_rule: str
    contributions: list[Contribution]
    comparables: list[Comparable]
    model_version: str
    notes: list[str] = Field(description="inputs the model does not know, estimated from the other features")


# ------------------------------------------------------------------ recommendations
class Recommendation(Schema):
    rank: int
    vehicle_id: str | None
    listing_key: str
    brand: str | None
    model: str | None
    model_year: int | None
    price_dh: int | None
    city: str | None
    url: str | None
    score: float
    reason: str


class Recommendations(Schema):
    items: list[Recommendation]
    k: int
    personalised: bool = Field(description="false when the user is unknown: popular listings instead")
    recommender_trained_at: datetime


# ------------------------------------------------------------------ market
class PriceCell(Schema):
    brand: str | None
    model: str | None
    model_year: int | None
    city: str | None
    listings: int
    avg_price_dh: float | None
    median_price_dh: float | None
    min_price_dh: int | None
    max_price_dh: int | None


class BrandShare(Schema):
    city: str | None
    region: str | None
    brand: str | None
    vehicles: int
    city_vehicles: int
    share: float
    brand_rank: int


class DepreciationPoint(Schema):
    curve_kind: CurveKind
    curve: str | None
    brand: str | None
    model: str | None
    fuel: str | None
    age_years: int | None
    mileage_band_km: int | None
    vehicles: int
    median_price_dh: float | None
    value_retention: float | None = Field(description="median price as a share of the curve's youngest cell")
    is_meaningful: bool = Field(description="enough vehicles in the cell to read it")


class VolumePoint(Schema):
    grain: Grain
    period_start: date
    source: Source
    region: str
    fuel: str
    vehicles: int
    median_price_dh: float | None


class PriceCellPage(Schema):
    items: list[PriceCell]
    next_cursor: str | None


class BrandSharePage(Schema):
    items: list[BrandShare]
    next_cursor: str | None


class DepreciationPage(Schema):
    items: list[DepreciationPoint]
    next_cursor: str | None


class VolumePage(Schema):
    items: list[VolumePoint]
    next_cursor: str | None


# ------------------------------------------------------------------ health
class SourceFreshness(Schema):
    source: Source
    last_scrape_date: date | None
    last_scraped_at: datetime | None
    hours_since_scrape: float | None = Field(description="from the last scrape to now")
    listings_last_scrape: int | None
    rejection_rate_last_scrape: float | None


class Health(Schema):
    status: str = Field(description="ok when a snapshot is published")
    snapshot_published_at: datetime
    snapshot_age_s: float
    listings: int
    sources: list[SourceFreshness]
    price_model_version: str | None = Field(description="the champion that /v1/estimate uses")
    snapshot_model_version: str | None = Field(description="the champion when the snapshot was published")
    recommender_trained_at: datetime | None


class Problem(Schema):
    detail: str


class RateLimited(Schema):
    detail: str
    limit_per_s: float
    burst: int
    retry_after_s: int


class SimilarListings(Schema):
    vehicle_id: str
    items: list[Recommendation]
    k: int
    recommender_trained_at: datetime
