"""`python -m ml.price.evaluate --cv K --csv PATH` scores an export under the protocol and prints one JSON line."""

import json

import pandas as pd

from ml.price.evaluate import main
from tests.ml.conftest import market_listings


def _export(path) -> int:
    """A French-label export of demo-market listings; returns how many rows the protocol scores."""
    truth = market_listings(seed=5, days=12, per_day=50)
    pd.DataFrame({
        "Marque": truth["brand"], "Modèle": truth["model"], "Prix": truth["price_dh"].map(lambda p: f"{p:,} DH"),
        "Kilométrage": truth["mileage_km"], "Année-Modèle": truth["model_year"], "Ville": truth["city"],
        "Type de carburant": truth["fuel"], "Boite de vitesses": truth["gearbox"],
    }).to_csv(path, sep=";", index=False)
    return int(truth["price_dh"].between(10_000, 5_000_000).sum())


def _run(capsys, *argv) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_cross_validation_of_an_export_prints_the_protocol_figures_and_repeats_exactly(tmp_path, capsys):
    export = tmp_path / "annonces.csv"
    scored = _export(export)
    first = _run(capsys, "--cv", "2", "--csv", str(export))
    assert first["rows"] == scored and first["unscored"] == 0 and first["folds"] == 2
    # the demo market prices cars from brand, model, age and mileage: the method must find that out of fold
    assert first["r2_log"] > 0.6 and first["median_ape"] < 0.2
    assert 0.75 <= first["coverage_90"] <= 0.99
    assert first["mae_dh"] > 0 and first["mape"] >= first["median_ape"] * 0.5
    # the same file gives the same figures: reads, splits and training follow the rows, not the run
    second = _run(capsys, "--cv", "2", "--csv", str(export))
    assert {k: v for k, v in second.items() if k != "seconds"} == {k: v for k, v in first.items() if k != "seconds"}
