"""The feature schema a training chooses depends on the rows alone, not on the process that fits it."""

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Three title words, each in the same 30 titles: their counts tie, so only the tie rule orders them.
FIT_SCHEMA = """
import pandas as pd
from ml.price.features import FeatureSchema, base_frame
rows = pd.DataFrame({"title": ["Dacia Logan gamma delta zeta"] * 30 + ["Renault Clio"] * 5,
                     "brand": ["Dacia"] * 30 + ["Renault"] * 5, "model": ["Logan"] * 30 + ["Clio"] * 5})
print(" ".join(FeatureSchema.fit(base_frame(rows)).tokens))
"""


def test_title_words_and_their_order_do_not_follow_the_string_hash_seed():
    # A title's words are a frozenset, iterated in an order set by PYTHONHASHSEED (random per process unless
    # set); the chosen words and their column order must not follow it, or two trainings on the same rows differ.
    chosen = set()
    for seed in ("1", "2", "3"):
        result = subprocess.run([sys.executable, "-c", FIT_SCHEMA], cwd=REPO_ROOT, capture_output=True, text=True,
                                env={"PATH": "/usr/bin:/bin", "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO_ROOT)},
                                check=True)
        chosen.add(result.stdout.strip())
    assert chosen == {"delta gamma zeta"}  # equal counts rank by the word
