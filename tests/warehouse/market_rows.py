"""Demo-market ads as rows of raw.listings, shown the way the site adapters show them (Moteur brands upper-case and
hyphenated, cities in ASCII, sellers hashed)."""

import hashlib
from datetime import date, datetime, timezone

from demo_market import catalog


def hash_value(value: str | None) -> str | None:
    return hashlib.sha256(f"test-salt:{value}".encode()).hexdigest() if value else None


def raw_row(ad, day: date) -> dict:
    """The raw.listings row of `ad` as scraped on `day`."""
    moteur = ad.source == "moteur"
    return {
        "scrape_date": day, "source": ad.source, "listing_id": ad.listing_id, "url": None, "title": ad.title,
        "price_text": None, "price_dh": ad.price_dh, "year": ad.year, "mileage_km": ad.mileage_km,
        "fuel": ad.fuel, "gearbox": ad.gearbox,
        "brand": catalog.moteur_brand_display(ad.brand) if moteur else ad.brand, "model": ad.model,
        "fiscal_power": ad.fiscal_power, "doors": ad.doors, "origin": ad.origin, "condition": ad.condition,
        "first_owner": ad.first_owner, "city": catalog.moteur_city_display(ad.city) if moteur else ad.city,
        "sector": ad.sector, "seller_type": ad.seller_type, "seller_name_hash": hash_value(ad.seller_name),
        "seller_phone_hash": hash_value(ad.seller_phone), "posted_at": ad.posted_at,
        "category": getattr(ad, "category", None), "scraped_at": datetime.combine(day, datetime.max.time(), timezone.utc),
    }
