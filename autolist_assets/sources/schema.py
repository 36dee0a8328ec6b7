"""The row every source adapter produces, and the list-page result shared by the parsers."""

from __future__ import annotations

from dataclasses import dataclass, field

# Same keys for both sources; None where the site does not show the value.
ROW_FIELDS = (
    "source", "listing_id", "url", "title", "price_text", "price_dh", "old_price_dh", "monthly_payment_dh",
    "year", "mileage_text", "mileage_km", "fuel", "gearbox", "brand", "model", "fiscal_power", "doors", "origin",
    "condition", "first_owner", "city", "sector", "seller_type", "seller_name_hash", "seller_phone_hash",
    "posted_at", "image_count", "category", "equipment",
    # added by #3: messy-site fields (original texts beside parsed values, non-cars, gone/expired ads)
    "is_car", "ad_status", "posted_text", "mileage_min_km", "mileage_max_km", "attributes",
)
AD_STATUSES = ("active", "expired", "gone")


@dataclass
class ListPage:
    """Cards of one list page (partial rows, clear-text seller fields) and the next page's URL."""

    cards: list[dict] = field(default_factory=list)
    next_url: str | None = None
    from_markup: bool = False  # no JSON: card dates are relative ("il y a 3 heures"), so only approximate
    # cards left out because nothing identifies the ad (no id, or an id of the wrong shape): one reason each
    skipped: list[str] = field(default_factory=list)


class ParseError(ValueError):
    """The page does not have the structure the parser expects."""
