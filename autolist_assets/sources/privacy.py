"""Pseudonymise seller names and phone numbers before anything is stored."""

from __future__ import annotations

import hashlib
import re

_PHONE_CHARS = re.compile(r"^[\d\s+().\-/\u00a0\u202f]+$")


def normalise_pii(value: str) -> str:
    """Canonical form so one seller hashes the same on both sites: phone digits only, names case-folded."""
    text = value.strip()
    if _PHONE_CHARS.match(text) and sum(ch.isdigit() for ch in text) >= 6:
        digits = re.sub(r"\D", "", text)
        # +212 6.. / 00212 6.. and 06.. are the same Moroccan number
        for prefix in ("00212", "212"):
            if digits.startswith(prefix) and len(digits) == len(prefix) + 9:
                return "0" + digits[len(prefix):]
        return digits
    return " ".join(text.casefold().split())


def hash_pii(value: str | None, salt: str) -> str | None:
    """sha256 hex of salt + normalised value; None (or blank) stays None."""
    if value is None or not value.strip():
        return None
    return hashlib.sha256((salt + normalise_pii(value)).encode("utf-8")).hexdigest()
