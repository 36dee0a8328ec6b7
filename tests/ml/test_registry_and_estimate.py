"""Champion/challenger registry, rollback command, and the one-car estimator."""

import json

import pytest

from ml.price import registry
from ml.price.estimate import estimate, load_model
from ml.price.rating import rate
from ml.price.train import fit_price_model


def validation_listings(listings, valid):
    return listings[listings["listing_key"].isin(valid["listing_key"])]


def test_worse_challenger_is_kept_out_and_rollback_restores_a_version(listings, trained, tmp_path):
    model, valid = trained
    first = registry.register(model, valid, validation_listings(listings, valid), tmp_path)
    assert first.promoted and registry.champion_version(tmp_path) == model.version
    for name in ("model.txt", "schema.json", "metrics.json", "conformal.json", "card.md", "comparables.parquet"):
        assert (tmp_path / model.version / name).exists()
    info = json.loads((tmp_path / model.version / "metrics.json").read_text())
    assert info["training_window"][0] <= info["training_window"][1]

    weak, weak_valid = fit_price_model(listings, max_rounds=3)
    second = registry.register(weak, weak_valid, validation_listings(listings, weak_valid), tmp_path)
    assert not second.promoted
    assert second.reason.startswith(f"champion {model.version} stays")
    assert registry.champion_version(tmp_path) == model.version
    assert "Registry decision: champion" in (tmp_path / weak.version / "card.md").read_text()

    assert registry.main(["--root", str(tmp_path), "rollback", weak.version]) == 0
    assert registry.champion_version(tmp_path) == weak.version
    events = [json.loads(line)["event"] for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert events == ["promote", "reject", "rollback"]
    with pytest.raises(SystemExit, match="no version nope"):
        registry.rollback("nope", tmp_path)


def test_estimate_gives_price_range_rating_and_explanation(listings, trained, tmp_path):
    model, valid = trained
    registry.register(model, valid, validation_listings(listings, valid), tmp_path)
    car = listings.iloc[0]
    features = {k: car[k] for k in ("brand", "model", "model_year", "mileage_km", "fuel", "gearbox", "fiscal_power",
                                     "origin", "condition", "doors", "city", "seller_type", "source")}
    result = estimate({**features, "price_dh": int(car["price_dh"])}, root=tmp_path)
    assert result.model_version == model.version
    assert result.interval_90[0] <= result.interval_80[0] <= result.price_dh <= result.interval_80[1] <= result.interval_90[1]
    assert result.rating in {"great", "good", "fair", "high", "overpriced"}
    texts = [item["text"] for item in result.explanation]
    assert any(item["feature"] == "mileage" and " km" in item["text"] for item in result.explanation), texts
    assert all(" DH for " in t for t in texts)
    assert 1 <= len(result.comparables) <= 3
    assert all(c["model"] == str(car["model"]).lower() for c in result.comparables)
    # The loaded model is cached: the same object serves the next call.
    assert load_model(tmp_path) is load_model(tmp_path)
    bare = estimate({"brand": car["brand"], "model_year": 2015}, root=tmp_path)
    assert bare.price_dh > 0 and bare.rating is None and bare.rating_rule == "no asking price"


def test_rating_rules_say_why_there_is_no_rating():
    assert rate(0.5, 0.3, 2, 100_000) == (None, "too few comparables (2 < 5 of this brand and model)")
    assert rate(0.5, 1.4, 50, 100_000)[1].startswith("range too wide")
    assert rate(0.05, 0.3, 50, 100_000)[0] == "great"
    assert rate(0.2, 0.3, 50, 100_000)[0] == "good"
    assert rate(0.5, 0.3, 50, 100_000)[0] == "fair"
    assert rate(0.8, 0.3, 50, 100_000)[0] == "high"
    assert rate(0.95, 0.3, 50, 100_000)[0] == "overpriced"
