"""Seller names and phones are hashed with a salt after normalisation."""

import hashlib

from autolist_assets.sources.privacy import hash_pii


def test_phone_formats_of_both_sites_hash_alike():
    digits = hash_pii("0612345678", "s")
    assert digits == hashlib.sha256(b"s0612345678").hexdigest()
    assert hash_pii("06 12 34 56 78", "s") == digits
    assert hash_pii("+212 6 12 34 56 78", "s") == digits
    assert hash_pii("00212612345678", "s") == digits
    assert hash_pii("0612345679", "s") != digits


def test_names_are_case_and_space_insensitive_and_salted():
    assert hash_pii("Garage Sebou", "s") == hash_pii("  garage   SEBOU ", "s")
    assert hash_pii("Garage Sebou", "s") != hash_pii("Garage Sebou", "t")
    assert hash_pii("Garage Sebou", "s") != hash_pii("Garage Souss", "s")
    assert len(hash_pii("Omar A.", "s")) == 64


def test_missing_values_stay_missing():
    assert hash_pii(None, "s") is None
    assert hash_pii("  ", "s") is None
