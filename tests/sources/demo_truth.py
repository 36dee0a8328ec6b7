"""Fixed demo-market settings and the display mapping used to compare scraped rows with ground truth."""

import datetime as dt
import unicodedata

TODAY = dt.date(2026, 5, 20)  # fixed, far from the Ramadan clock changes
SCRAPE_DAYS = (dt.date(2026, 5, 19), dt.date(2026, 5, 15))
PII_SALT = "test-salt"


def _ascii(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def displayed_brand(source: str, canonical: str) -> str:
    """Brand as each site prints it: moteur upper-cases ASCII and hyphenates ('LAND-ROVER')."""
    return _ascii(canonical).upper().replace(" ", "-") if source == "moteur" else canonical


def displayed_city(source: str, canonical: str) -> str:
    """City as each site prints it: moteur drops accents and capitalises only the first letter."""
    return _ascii(canonical).capitalize() if source == "moteur" else canonical
