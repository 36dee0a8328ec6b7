"""The model registry: one folder per version under AUTOLIST_DATA_DIR/models/price_model/.

Each version keeps model.txt (LightGBM), schema.json (features and categories), conformal.json,
metrics.json (metrics, training window, parameters), comparables.parquet, validation.parquet and a
markdown model card. `champion` names the version that serves; `history.jsonl` records every decision.

A new model becomes champion only if it is not worse than the champion on the *same* validation
listings: its MAE and its median APE may each exceed the champion's by at most TOLERANCE.

    python -m ml.price.registry list
    python -m ml.price.registry rollback VERSION
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ml.price.metrics import markdown_table, regression_metrics
from ml.price.model import PriceModel

TOLERANCE = 0.01
REGISTRY_NAME = "price_model"


def default_root() -> Path:
    data = os.environ.get("AUTOLIST_DATA_DIR") or Path(__file__).resolve().parents[2] / "data"
    return Path(data).resolve() / "models" / REGISTRY_NAME


@dataclass
class Decision:
    version: str
    promoted: bool
    reason: str
    champion: str
    challenger_metrics: dict
    champion_metrics: dict | None


def champion_version(root: Path) -> str | None:
    pointer = root / "champion"
    return pointer.read_text().strip() if pointer.exists() else None


def load_champion(root: Path | None = None) -> PriceModel:
    root = root or default_root()
    version = champion_version(root)
    if not version:
        raise FileNotFoundError(f"no champion price model in {root}: materialize price_model first")
    return PriceModel.load(root / version)


def versions(root: Path) -> list[dict]:
    out = []
    for folder in sorted(p for p in root.glob("*") if (p / "metrics.json").exists()):
        info = json.loads((folder / "metrics.json").read_text())
        out.append({"version": folder.name, "trained_at": info.get("trained_at"), "rows": info.get("rows"),
                    "training_window": info.get("training_window"), **{k: info["metrics"].get(k) for k in
                    ("mae_dh", "r2_log", "median_ape", "coverage_90")}})
    return out


def _set_champion(root: Path, version: str, event: str, reason: str) -> None:
    tmp = root / "champion.tmp"
    tmp.write_text(version)
    tmp.replace(root / "champion")  # atomic: readers never see a half-written pointer
    with (root / "history.jsonl").open("a") as log:
        log.write(json.dumps({"at": datetime.now(timezone.utc).isoformat(), "event": event,
                              "champion": version, "reason": reason}) + "\n")


def model_card(model: PriceModel, decision_reason: str, segments: pd.DataFrame | None,
               candidates: pd.DataFrame | None) -> str:
    info, metrics = model.info, model.info["metrics"]
    start, end = info.get("training_window") or [None, None]
    lines = [
        f"# Price model {model.version}",
        "",
        "LightGBM on log asking price (huber loss) for used cars listed on Avito.ma and Moteur.ma, stacked on a",
        "linear prior (ridge on brand/model/year crossings and title words, out of fold) and blended with it at",
        f"weight {metrics.get('prior_weight', 0)}; split-conformal 80%/90% ranges (Mondrian by predicted price band),",
        "deal ratings and explanations. Listings the model trained on are scored by the cross-fitted fold model",
        f"that never saw them ({metrics.get('cross_fit_folds', 0)} folds), so their ratings are out of sample; the",
        "ranges are calibrated on those out-of-fold residuals.",
        "",
        f"- Trained at: {info.get('trained_at')}",
        f"- Training data window: {start} .. {end} ({info.get('rows')} listings, split: {info.get('split')})",
        f"- Validation: {metrics.get('valid_rows')} most recent listings held out; {metrics.get('rounds')} boosting rounds",
        f"- Typo prices left out of the trees' training (over 3× off the prior): {metrics.get('typo_rows_left_out', 0)}",
        f"- Training time by stage (s): {metrics.get('stage_seconds', {})}",
        f"- Registry decision: {decision_reason}",
        "",
        "## Validation metrics",
        "",
        markdown_table(pd.DataFrame([{k: metrics[k] for k in ("mae_dh", "rmse_dh", "r2_price", "r2_log", "mape",
                                                               "median_ape", "coverage_90")}])),
    ]
    if segments is not None and len(segments):
        lines += ["", "## By segment", "", markdown_table(segments)]
    if candidates is not None and len(candidates):
        lines += ["", "## Candidates on the same split", "", markdown_table(candidates)]
    lines += [
        "",
        "## Features",
        "",
        ", ".join(model.feature_names),
        "",
        "## Limits",
        "",
        "- Asking prices, not transaction prices. Typo prices (about 1% of real listings) cannot be predicted.",
        "- No rating when the 90% range is wider than the estimate itself or fewer than 5 comparables exist.",
        "- Unseen brands or models are scored from the other features (their category is treated as missing).",
        "- Explanations are decision-path contributions (Saabas): exact sums, the same base value as TreeSHAP, but a",
        "  feature split near the leaves can take credit that an interaction shares (ml/price/attribution.py).",
    ]
    return "\n".join(lines) + "\n"


def register(model: PriceModel, validation: pd.DataFrame, validation_listings: pd.DataFrame, root: Path | None = None,
             segments: pd.DataFrame | None = None, candidates: pd.DataFrame | None = None,
             tolerance: float = TOLERANCE) -> Decision:
    """Save the challenger; promote it only if it is not worse than the champion on the same validation listings."""
    root = root or default_root()
    root.mkdir(parents=True, exist_ok=True)
    challenger = regression_metrics(validation["actual"], validation["predicted"])
    current = champion_version(root)
    champion_metrics = None
    if current is None:
        promoted, reason = True, "first model in the registry"
    else:
        try:
            champion = PriceModel.load(root / current)
            champion_metrics = regression_metrics(validation_listings["price_dh"].astype(float),
                                                  champion.predict(validation_listings))
        except Exception as error:  # an unreadable champion must not block a working challenger
            champion_metrics, promoted = None, True
            reason = f"champion {current} could not score the validation data ({type(error).__name__}: {error})"
        else:
            worse = [
                f"{name} {challenger[name]:,.4g} vs champion {champion_metrics[name]:,.4g}"
                for name in ("mae_dh", "median_ape")
                if challenger[name] > champion_metrics[name] * (1 + tolerance)
            ]
            promoted = not worse
            reason = (f"not worse than champion {current} on the same {len(validation)} validation listings "
                      f"(MAE {challenger['mae_dh']:,.0f} vs {champion_metrics['mae_dh']:,.0f} DH)"
                      if promoted else
                      f"champion {current} stays: challenger is worse by more than {tolerance:.0%} on the same "
                      f"{len(validation)} validation listings ({'; '.join(worse)})")
    folder = model.save(root / model.version)
    validation.to_parquet(folder / "validation.parquet", index=False)
    (folder / "card.md").write_text(model_card(model, reason, segments, candidates))
    (root / "latest").write_text(model.version)
    if promoted:
        _set_champion(root, model.version, "promote", reason)
    else:
        with (root / "history.jsonl").open("a") as log:
            log.write(json.dumps({"at": datetime.now(timezone.utc).isoformat(), "event": "reject",
                                  "challenger": model.version, "champion": current, "reason": reason}) + "\n")
    return Decision(model.version, promoted, reason, model.version if promoted else current, challenger, champion_metrics)


def rollback(version: str, root: Path | None = None) -> str:
    """Make an earlier version the champion again; returns the version that was champion before."""
    root = root or default_root()
    if not (root / version / "model.txt").exists():
        known = ", ".join(v["version"] for v in versions(root)) or "none"
        raise SystemExit(f"no version {version} in {root} (known: {known})")
    before = champion_version(root) or ""
    _set_champion(root, version, "rollback", f"rolled back from {before or 'nothing'}")
    return before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.price.registry", description="The price model registry.")
    parser.add_argument("--root", type=Path, default=None, help="registry folder (default AUTOLIST_DATA_DIR/models/price_model)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every version, the champion marked with *")
    back = sub.add_parser("rollback", help="make VERSION the champion")
    back.add_argument("version")
    args = parser.parse_args(argv)
    root = args.root or default_root()
    if args.command == "rollback":
        before = rollback(args.version, root)
        print(f"champion: {args.version} (was {before or 'none'})")
        return 0
    current = champion_version(root)
    for row in versions(root):
        mark = "*" if row["version"] == current else " "
        print(f"{mark} {row['version']}  rows={row['rows']}  window={row['training_window']}  "
              f"mae={row['mae_dh']:,.0f}  r2_log={row['r2_log']:.3f}  median_ape={row['median_ape']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
