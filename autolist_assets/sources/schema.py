"""The row every source adapter produces, and the list-page result shared by the parsers."""

from __future__ import annotations

from dataclasses import dataclass, field

# Same keys for both sources; None where the site does not show the value.
ROW_FIELDS = (
    "source", "listing_id", "url", "title", "price_text", "price_dh", "old_price_dh", "monthly_payment_dh",
    "year", "mileage_text", "mileage_km", "fuel", "gearbox", "brand", "model", "fiscal_power", "doors", "origin",
    "condition", "first_owner", "city", "sector", "seller_type", "seller_name_hash", "seller_phone_hash",
    "posted_at", "image_count", "category", "equipment",
)


@dataclass
class ListPage:
    """Cards of one list page (partial rows, clear-text seller fields) and the next page's URL."""

    cards: list[dict] = field(default_factory=list)
    next_url: str | None = None


class ParseError(ValueError):
    """The page does not have the structure the parser expects."""
