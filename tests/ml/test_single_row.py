"""The estimator's one-row path gives exactly what batch scoring gives, field for field."""

import json
from datetime import date

import numpy as np
import pandas as pd

from ml.price.features import base_frame, base_record


def request_dicts(listings: pd.DataFrame, n: int = 150) -> list[dict]:
    """Real demo rows, plus the awkward shapes requests take: missing fields, strings, buckets, placeholders."""
    rows = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
            for r in listings.sample(n, random_state=4).to_dict("records")]
    rows += [
        {"brand": "Dacia", "model": "Logan", "model_year": 2018, "mileage_km": 120000, "price_dh": 85000},
        {"brand": "DACIA", "model": "logan", "model_year": "2016", "mileage_text": "100 000 - 109 999", "price_dh": "70000"},
        {"brand": "Peugeot", "model": "208", "year": 2020, "mileage_km": 999999, "fiscal_power": 0, "first_owner": True},
        {"brand": "Renault", "title": "Renault Clio 4 Diesel Manuelle 2017 à Rabat", "model": "Clio", "model_year": 2017,
         "mileage_midpoint_km": 155000, "doors": 5, "price_dh": 10},
        {"brand": "Nope", "model": "Unknown", "model_year": None, "mileage_km": None, "equipment": ["abs", "gps"]},
        {"model_year": 2015},
        {},
    ]
    return rows


def test_one_row_path_equals_batch_scoring(listings, trained):
    model, _ = trained
    requests = request_dicts(listings)
    # Every request alone, as estimate() sends it, against the same requests scored as one batch.
    stamped = [{"listing_key": r.get("listing_key"), "scraped_at": pd.Timestamp(date(2026, 11, 1)), **r} for r in requests]
    batch = model.score(pd.DataFrame(stamped[:-7]))
    singles = [model.score_one(r) for r in stamped]
    odd = pd.concat([model.score(pd.DataFrame([r])) for r in stamped[-7:]], ignore_index=True)
    expected = pd.concat([batch, odd], ignore_index=True)
    assert len(expected) == len(singles)
    rated = 0
    for one, (_, row) in zip(singles, expected.iterrows()):
        for column in expected.columns:
            want = row[column]
            if column in ("explanation", "comparables"):
                want = json.loads(want)
                got = json.loads(json.dumps(one[column], ensure_ascii=False, default=str))
            else:
                got = one[column]
            if isinstance(want, float) and np.isnan(want):
                assert got is None or np.isnan(got), column
            else:
                assert got == want, (column, got, want)
        rated += one["deal_rating"] is not None
    assert rated > 50  # the comparison covers ratings and comparables, not only unrated rows


def test_base_record_matches_base_frame_on_demo_rows(listings):
    sample = listings.sample(300, random_state=5).reset_index(drop=True)
    frame = base_frame(sample)
    for i, record in enumerate(sample.to_dict("records")):
        one = base_record(record)
        for column in frame.columns:
            want, got = frame.at[i, column], one[column]
            assert (pd.isna(want) and pd.isna(got)) if not isinstance(want, frozenset) and pd.isna(want) else got == want, column
