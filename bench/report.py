"""Rewrite the generated tables of bench/BENCHMARKS.md from bench/results/*.json, keeping the prose around them.

Usage: uv run python bench/report.py

Each result goes between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` markers. A result without markers gets
them, in a section at the end of the file; hand-written text outside the markers is never touched. The
end-to-end results (e2e_<N>) get their summary, per-stage and daily-run tables; any other benchmark gets a
table of the fields of its JSON line.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
DOCUMENT = BENCH_DIR / "BENCHMARKS.md"
GENERATED_SECTION = "## Latest `make bench` results (generated)"
SEED_PER_CORE = 1000 / 12


def load(path: Path) -> tuple[dict, dict]:
    """(run record, the benchmark's JSON line) for a result file written by run_all.py or by a script itself."""
    data = json.loads(path.read_text())
    if "result" in data and "bench_wall_s" in data:
        return data, data["result"] or {}
    return {"benchmark": path.stem, "date": data.get("date"), "machine": data.get("machine")}, data


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, (dict, list)):
        return "`" + json.dumps(value, ensure_ascii=False)[:160] + "`"
    return str(value).replace("|", "\\|")


def _table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) if not isinstance(v, str) else v for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _context(record: dict, result: dict) -> str:
    parts = [record.get("date") or result.get("date") or "", record.get("machine") or result.get("machine") or ""]
    if record.get("load_avg_before"):
        parts.append("load average " + " / ".join(str(x) for x in record["load_avg_before"]) + " (1, 5, 15 min) at the "
                     "start, other processes sharing the cores")
    if result.get("load_avg_1m_runs"):
        parts.append("1-minute load average at the start and end of each run: " + ", ".join(
            f"{a}–{b}" for a, b in result["load_avg_1m_runs"]))
    elif result.get("load_avg_1m_at_end") is not None:
        parts.append(f"1-minute load average {result['load_avg_1m_at_end']} at the end")
    if record.get("command"):
        parts.append(f"`{record['command']}`")
    return "; ".join(p for p in parts if p)


def render_e2e(record: dict, result: dict) -> str:
    if not result:
        return f"_No result: {record.get('error', 'the run failed')}_"
    n = result.get("target_listings")
    per_core = result.get("listings_per_s_per_core")
    summary = _table(
        ["figure", "value", "goal / baseline"],
        [
            ["listings scraped (both sites, 30 days)", result.get("listings"), f"target {n:,}" if n else "—"],
            ["runs (median shown)", result.get("runs"), "—"],
            ["**total wall, empty data dir → serving snapshot**", f"**{_fmt(result.get('wall_s'))} s**",
             "≤ 90 s at 60,000; ≤ 600 s at 1,000,000"],
            ["all runs (s)", result.get("wall_s_runs"), "—"],
            ["process start → run start (imports, Definitions, Dagster)", f"{_fmt(result.get('startup_s'))} s", "—"],
            ["`Definitions` import (fresh interpreter, median of 3)", f"{_fmt(result.get('definitions_import_s'))} s",
             f"`import dagster` alone: {_fmt(result.get('dagster_import_s'))} s"],
            ["peak RSS, pipeline process and its children (dbt, scrape workers)", f"{_fmt(result.get('peak_rss_mb'))} MB",
             "≤ 6,144 MB at 1,000,000"],
            ["listings/s per core (listings / wall / cores)", per_core,
             f"seed 83/core: {_fmt(result.get('vs_seed_per_core'))}× (goal ≥ 10×)"],
            ["demo marketplace (own process): CPU during the run / RSS", f"{_fmt(result.get('server_cpu_s'))} s / "
             f"{_fmt(result.get('server_rss_mb'))} MB", f"market generated in {_fmt(result.get('market_generate_s'))} s"
             " before the clock starts"],
            ["fct_listings rows (vehicles after dedup)", result.get("fct_listings"), "—"],
        ],
    )
    stages = _table(
        ["stage (Dagster steps)", "wall s", "listings/s", "listings/s/core", "× seed/core", "peak RSS MB"],
        [[s["stage"], s["wall_s"], s.get("listings_per_s"), s.get("listings_per_s_per_core"),
          round(s["listings_per_s_per_core"] / SEED_PER_CORE, 1) if s.get("listings_per_s_per_core") else None,
          s.get("peak_rss_mb")] for s in result.get("stages", [])],
    )
    parts = [_context(record, result), "", summary, "", "Per stage (from the run's step events; RSS sampled every 50 ms "
             "and attributed to the step running):", "", stages]
    daily = result.get("daily")
    if daily:
        parts += ["", f"Daily run: one new day ({_fmt(daily.get('listings'))} listings) on top of "
                  f"{_fmt(daily.get('on_top_of'))}, same data dir, the marketplace moved on one day: "
                  f"**{_fmt(daily.get('wall_s'))} s** wall (goal ≤ 60 s), peak RSS {_fmt(daily.get('peak_rss_mb'))} MB.",
                  "", _table(["stage", "wall s", "peak RSS MB"],
                             [[s["stage"], s["wall_s"], s.get("peak_rss_mb")] for s in daily.get("stages", [])])]
    retrain = result.get("retrain")
    if retrain:
        parts += ["", f"Retrain run (retrain_job: price model, recommender, rescoring, snapshot; weekly and when the "
                  f"sensor sees enough new listings), on the same {_fmt(retrain.get('fct_listings'))} vehicles: "
                  f"**{_fmt(retrain.get('wall_s'))} s** wall, peak RSS {_fmt(retrain.get('peak_rss_mb'))} MB.",
                  "", _table(["stage", "wall s", "peak RSS MB"],
                             [[s["stage"], s["wall_s"], s.get("peak_rss_mb")] for s in retrain.get("stages", [])])]
    return "\n".join(parts)


def render_generic(record: dict, result: dict) -> str:
    if not result:
        return f"{_context(record, result)}\n\n_No result: {record.get('error', 'the run failed')}_"
    flat = []
    for key, value in result.items():
        if isinstance(value, dict) and len(json.dumps(value)) > 160:
            flat += [(f"{key}.{k}", v) for k, v in value.items()]
        else:
            flat.append((key, value))
    return _context(record, result) + "\n\n" + _table(["field", "value"], [[k, v] for k, v in flat])


def render(name: str, record: dict, result: dict) -> str:
    return render_e2e(record, result) if name.startswith("e2e") else render_generic(record, result)


def update(document: str, name: str, body: str) -> str:
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(document):
        return pattern.sub(lambda _: block, document)
    if GENERATED_SECTION not in document:
        document = document.rstrip("\n") + f"\n\n{GENERATED_SECTION}\n\nWritten by `bench/report.py` from "\
            "`bench/results/` after `make bench`; edit the text outside the markers only.\n"
    return document.rstrip("\n") + f"\n\n### `{name}`\n\n{block}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--document", type=Path, default=DOCUMENT)
    args = parser.parse_args()
    document = args.document.read_text()
    names = []
    for path in sorted(args.results.glob("*.json")):
        record, result = load(path)
        document = update(document, path.stem, render(path.stem, record, result))
        names.append(path.stem)
    args.document.write_text(document)
    print(json.dumps({"updated": names, "document": str(args.document)}))


if __name__ == "__main__":
    main()
