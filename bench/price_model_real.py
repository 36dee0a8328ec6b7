"""Price model on the shared real datasets: CSV importer → dbt cleaning → 5-fold CV under the scoring protocol.

    uv run python bench/price_model_real.py [--folds 5]

One JSON line per dataset (the two Moteur 2024 files overlap heavily, so they are not pooled), then the
headline last: the Avito 2026 file, on which the issue's targets are set.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from ml.price.evaluate import evaluate_cv  # noqa: E402

REAL = REPO_ROOT.parent / "shared" / "data" / "real"
DATASETS = [
    REAL / "avito_2024_mlds" / "voitures_avito_all_final.csv",
    REAL / "moteur_2024_mlds" / "cars_db_scraping_struct_final.csv",
    REAL / "moteur_2024_mlds_cards" / "used_cars.csv",
    REAL / "avito_2026_jhonelkour" / "avito_final_results.csv",  # headline: last line
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only-headline", action="store_true")
    args = parser.parse_args()
    for path in DATASETS[-1:] if args.only_headline else DATASETS:
        result = evaluate_cv([path], args.folds)
        print(json.dumps({"dataset": path.parent.name, **result}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
