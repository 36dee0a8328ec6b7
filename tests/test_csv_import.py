"""CSV exports of earlier scrapes load into the raw layer, with every row imported or rejected with a reason."""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from autolist_assets.sources.csv_import import (
    ImportLayoutError,
    load_csv_exports,
    normalize_header,
    parse_posted_dates,
    read_csv_export,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = REPO_ROOT.parent / "shared" / "data" / "real"

# (file, site, rows in the file, exact duplicate rows, repeated ad ids), checked against each SOURCE.md:
# the Moteur struct export writes 167 ads twice, once with raw texts ("140 000 Dhs", 07/03/2024) and once
# converted (140000, 03/07/2024); the card export's 178 duplicates differ only in the pandas index column.
REAL_FILES = [
    ("avito_2024_mlds/voitures_avito_all_final.csv", "avito", 3321, 53, 0),
    ("avito_2026_jhonelkour/avito_final_results.csv", "avito", 16059, 0, 3),
    ("moteur_2024_mlds/cars_db_scraping_struct_final.csv", "moteur", 1328, 6, 167),
    ("moteur_2024_mlds_cards/used_cars.csv", "moteur", 1530, 178, 0),
]


@pytest.mark.parametrize(
    ("header", "expected"),
    [("\ufeffURL", "url"), ("Année-Modèle", "annee_modele"), ("prix-dh", "prix_dh"), ("Type de carburant", "type_de_carburant")],
)
def test_headers_normalize_across_spellings(header, expected):
    assert normalize_header(header) == expected


def test_french_labels_semicolons_bom_buckets_and_bad_rows(tmp_path):
    export = tmp_path / "mes_annonces.csv"
    export.write_text(
        "\ufeffMarque;Modèle;Prix;Kilométrage;Année-Modèle;Ville;Type de carburant;Première main\n"
        "Dacia;Sandero;95\u202f000 DH;100 000 - 109 999;2019;Fès;Diesel;Oui\n"
        "Dacia;Sandero;95\u202f000 DH;100 000 - 109 999;2019;Fès;Diesel;Oui\n"
        "Renault;Clio;Demander le prix;54000;2021;Casablanca;Essence;Non\n"
        "Peugeot;208;120000;;2020\n"
        ";;;;;;;\n",
        encoding="utf-8",
    )
    result = read_csv_export(export, pii_salt="s")
    assert result.source == "avito"
    assert result.rows_read == 5
    assert len(result.rows) == 2
    assert result.rejected_by_reason == {"duplicate_row": 1, "empty_row": 1, "wrong_column_count": 1}
    sandero, clio = result.rows
    assert (sandero["brand"], sandero["model"], sandero["price_dh"], sandero["year"]) == ("Dacia", "Sandero", 95000, 2019)
    assert sandero["mileage_text"] == "100 000 - 109 999" and sandero["mileage_km"] is None
    assert sandero["first_owner"] is True and sandero["city"] == "Fès"
    assert clio["price_dh"] is None and clio["price_text"] == "Demander le prix" and clio["mileage_km"] == 54000
    assert "line 5 has 5 fields, the header has 8" in [r["detail"] for r in result.rejections][1]


def test_unknown_layout_names_the_columns_it_could_not_map(tmp_path):
    export = tmp_path / "other.csv"
    export.write_text("foo,bar,Marque\n1,2,Dacia\n")
    with pytest.raises(ImportLayoutError, match=r"cannot map the columns \['foo', 'bar'\]"):
        read_csv_export(export)


def test_mixed_month_day_orders_resolve_to_the_files_window():
    import pandas as pd

    dates = parse_posted_dates(pd.Series(["03/09/2024", "07/03/2024", "03/15/2024", "2024-03-08"], dtype="string"))
    assert [d.strftime("%Y-%m-%d") for d in dates] == ["2024-03-09", "2024-03-07", "2024-03-15", "2024-03-08"]


def test_moteur_card_quirks_are_repaired(tmp_path):
    export = tmp_path / "cards.csv"
    export.write_text(
        ",nom,version,price,model,localisation,carburant\n"
        "0,MERCEDES\u00a0\u00a0Classe cC220,C220,98 000 Dhs,2004,Nador,Diesel\n"
        "1,DACIA\u00a0\u00a0Logan,,Appeler pour le prix,2015,Diesel,Afficher l'annonce\n",
        encoding="utf-8",
    )
    mercedes, logan = read_csv_export(export).rows
    assert (mercedes["brand"], mercedes["model"], mercedes["year"], mercedes["price_dh"]) == ("MERCEDES", "Classe c", 2004, 98000)
    assert mercedes["source"] == "moteur" and mercedes["listing_id"].startswith("csv-")
    assert (logan["fuel"], logan["city"], logan["price_dh"]) == ("Diesel", None, None)


@pytest.mark.skipif(not REAL_DATA.exists(), reason="../shared/data/real is not present")
@pytest.mark.parametrize(("relative", "site", "rows", "exact_duplicates", "repeated_ids"), REAL_FILES)
def test_real_exports_account_for_every_row(relative, site, rows, exact_duplicates, repeated_ids):
    result = read_csv_export(REAL_DATA / relative, pii_salt="s")
    assert result.source == site
    assert result.rows_read == rows
    assert len(result.rows) + len(result.rejections) == rows
    assert result.rejected_by_reason.get("duplicate_row", 0) == exact_duplicates
    assert result.rejected_by_reason.get("duplicate_listing_id", 0) == repeated_ids
    assert not result.rejected_by_reason.get("wrong_column_count")
    assert all(row["seller_name_hash"] is None or len(row["seller_name_hash"]) == 64 for row in result.rows)


def test_importing_twice_replaces_the_files_rows(tmp_path):
    export = tmp_path / "twice.csv"
    export.write_text("Marque,Modèle,Prix\nDacia,Logan,70 000 DH\nDacia,Logan,70 000 DH\nKia,Picanto,90 000 DH\n")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    for _ in range(2):
        load_csv_exports([export], con, pii_salt="s")
    assert con.execute("select count(*) from raw.imported_listings").fetchone()[0] == 2
    assert con.execute("select reason, import_row from raw.import_rejections").fetchall() == [("duplicate_row", 3)]
    con.close()


def test_cli_prints_a_summary_and_a_json_last_line(tmp_path):
    export = tmp_path / "cli.csv"
    export.write_text("voiture,prix-dh,lieu\nRENAULT Clio,159000,Fes\nRENAULT Clio,159000,Fes\n")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "autolist"), "import", str(export), "--source", "moteur"],
        capture_output=True, text=True, cwd=REPO_ROOT, env={**os.environ, "AUTOLIST_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["imported"], summary["rejected"]) == (1, 1)
    assert summary["rejected_by_reason"] == {"duplicate_row": 1}
    assert "duplicate_row: 1" in done.stdout


def test_cli_names_a_missing_file(tmp_path):
    done = subprocess.run(
        [str(Path(sys.executable).parent / "autolist"), "import", str(tmp_path / "nope.csv")],
        capture_output=True, text=True, cwd=REPO_ROOT,
    )
    assert done.returncode == 2 and "nope.csv" in done.stderr
