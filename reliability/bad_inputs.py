"""Run every hostile case through the real code path and account for each one.

Pages go through `scrape_partition` (the parsers, the merge, PII hashing, the WARC archive), then
`replace_partition` or, when a list page cannot be read, `record_failed_partition`; CSVs go through
`load_csv_exports`. One `dbt build` of staging, quarantine and the accounting test then covers them all.
Every case must end as rows (cleaned or quarantined with a reason), parse-failure records with a reason, or a
loud failure; a crash is any exception that escapes the product code.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from autolist_assets.raw_tables import ensure_raw_tables, record_failed_partition, replace_partition
from autolist_assets.sources.archive import PageArchive
from autolist_assets.sources.csv_import import ImportLayoutError, load_csv_exports
from autolist_assets.sources.scrape import ScrapeError, reparse_archive, scrape_partition
from reliability.common import dbt
from reliability.corpus import CorpusBuilder, CorpusFetcher, CsvCase, PageCase, case_now

# Parse-failure records that stand for a card that did not become a row (the others keep the card's row).
_DROPPED_CARD_PAGES = {"card"}


@dataclass
class CaseOutcome:
    """What became of one case."""

    case_id: str
    category: str
    kind: str  # "page" or "csv"
    source: str
    partition: str  # the scrape day, or the CSV file name
    status: str  # completed | partition_failed | refused | crashed
    rows: int = 0
    expected: int = 0
    dropped_on_record: int = 0
    failure_reasons: list[str] = field(default_factory=list)
    error: str | None = None
    expect: str | None = None
    listing_id: str | None = None
    replay_matches: bool | None = None


@dataclass
class BadInputReport:
    """The tally of a corpus run."""

    outcomes: list[CaseOutcome]
    partitions: list[dict]  # accounting per partition: raw = accepted + rejected
    quarantined_by_reason: dict[str, int]
    parse_failures_by_reason: dict[str, int]
    import_rejections_by_reason: dict[str, int]
    loaded: int
    quarantined: int
    expectation_mismatches: list[dict]
    dbt_ok: bool
    dbt_output: str
    seconds: float

    @property
    def cases(self) -> int:
        return len(self.outcomes)

    @property
    def crashes(self) -> int:
        return sum(o.status == "crashed" for o in self.outcomes)

    @property
    def accounting_breaks(self) -> list[dict]:
        return [p for p in self.partitions if p["raw"] != p["accepted"] + p["rejected"]
                or p.get("read", p["raw"]) != p["raw"] + p.get("import_rejected", 0)]

    @property
    def rows_lost(self) -> int:
        """Rows a case should have given that are neither in the warehouse nor on record as a failure."""
        lost = 0
        for o in self.outcomes:
            if o.status == "completed":
                lost += max(0, o.expected - o.rows - o.dropped_on_record)
        for p in self.partitions:
            lost += abs(p["raw"] - p["accepted"] - p["rejected"])
            lost += abs(p.get("read", p["raw"]) - p["raw"] - p.get("import_rejected", 0))
        return lost

    @property
    def unaccounted_cases(self) -> list[str]:
        """Cases with no outcome at all: no row, no failure record, no loud error."""
        return [o.case_id for o in self.outcomes
                if o.status == "completed" and o.rows == 0 and not o.failure_reasons and o.expected > 0]

    def by_status(self) -> dict[str, int]:
        return dict(Counter(o.status for o in self.outcomes))

    def summary(self) -> dict:
        return {
            "bad_inputs": self.cases,
            "page_cases": sum(o.kind == "page" for o in self.outcomes),
            "csv_cases": sum(o.kind == "csv" for o in self.outcomes),
            "crashes": self.crashes,
            "outcomes": self.by_status(),
            "rows_loaded": self.loaded,
            "rows_quarantined": self.quarantined,
            "quarantined_by_reason": self.quarantined_by_reason,
            "parse_failures_by_reason": self.parse_failures_by_reason,
            "import_rejections_by_reason": self.import_rejections_by_reason,
            "partitions": len(self.partitions),
            "partitions_balanced": len(self.partitions) - len(self.accounting_breaks),
            "rows_lost": self.rows_lost,
            "unaccounted_cases": len(self.unaccounted_cases),
            "expectation_mismatches": len(self.expectation_mismatches),
            "archive_replays_identical": sum(o.replay_matches is True for o in self.outcomes),
            "archive_replays_different": sum(o.replay_matches is False for o in self.outcomes),
            "dbt_build_ok": self.dbt_ok,
            "seconds": round(self.seconds, 1),
        }


def _dropped(case: PageCase, failures: list[dict]) -> int:
    urls = {f["url"] for f in failures
            if f["page"] in _DROPPED_CARD_PAGES or (case.source == "moteur" and f["page"] == "ad")}
    return len(urls)


def run_page_case(case: PageCase, con: duckdb.DuckDBPyConnection, salt: str, lake: Path,
                  replay: bool = True) -> CaseOutcome:
    """Scrape the case's partition from its pages, archive them, and load the outcome."""
    outcome = CaseOutcome(case.case_id, case.category, "page", case.source, case.day.isoformat(), "completed",
                          expected=case.expected_cards, expect=case.expect, listing_id=case.listing_id)
    archive_file = lake / case.source / f"{case.day.isoformat()}.warc.gz"
    fetcher = CorpusFetcher(case.answers, case_now(case.day))
    try:
        try:
            with PageArchive(archive_file) as archive:
                result = scrape_partition(case.source, case.day, case.base_url, fetcher, archive, salt)
        except ScrapeError as error:
            record_failed_partition(con, case.day, case.source, error.failures)
            outcome.status, outcome.error = "partition_failed", str(error)[:300]
            outcome.failure_reasons = [f["reason"] for f in error.failures]
            return outcome
        replace_partition(con, case.day, case.source, result.rows, result.report("fetch"), result.failures)
        outcome.rows = len(result.rows)
        outcome.failure_reasons = [f["reason"] for f in result.failures]
        outcome.dropped_on_record = _dropped(case, result.failures)
        if replay:
            outcome.replay_matches = reparse_archive(case.source, case.day, archive_file, salt).rows == result.rows
    except Exception as error:  # anything escaping the product code is a crash, the figure that must stay 0
        outcome.status = "crashed"
        outcome.error = "".join(traceback.format_exception(error))[-1500:]
    return outcome


def run_csv_case(case: CsvCase, con: duckdb.DuckDBPyConnection, salt: str, folder: Path) -> CaseOutcome:
    """Import the case's file; a layout nobody can map is refused with a message, never half-loaded."""
    outcome = CaseOutcome(case.case_id, case.category, "csv", case.source, case.file_name, "completed",
                          expected=case.records)
    path = folder / case.file_name
    path.write_bytes(case.data)
    try:
        (result,) = load_csv_exports([path], con, case.source, salt)
        outcome.rows = len(result.rows)
        outcome.source = result.source
        outcome.failure_reasons = [r["reason"] for r in result.rejections]
        outcome.dropped_on_record = len(result.rejections)
    except ImportLayoutError as error:
        outcome.status, outcome.error = "refused", str(error)[:300]
        outcome.failure_reasons = ["unknown_layout"]
    except Exception as error:
        outcome.status = "crashed"
        outcome.error = "".join(traceback.format_exception(error))[-1500:]
    return outcome


def run_corpus(builder: CorpusBuilder, work_dir: Path, replay: bool = True) -> BadInputReport:
    """Every case of the corpus into a fresh warehouse under `work_dir`, then one dbt build, then the tally."""
    started = time.perf_counter()
    data_dir = work_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "csv").mkdir(exist_ok=True)
    salt = os.environ.get("AUTOLIST_PII_SALT") or secrets.token_hex(16)
    warehouse = data_dir / "warehouse.duckdb"
    outcomes: list[CaseOutcome] = []
    con = duckdb.connect(str(warehouse))
    try:
        ensure_raw_tables(con)
        for case in builder.page_cases:
            outcomes.append(run_page_case(case, con, salt, data_dir / "lake", replay))
        for case in builder.csv_cases:
            outcomes.append(run_csv_case(case, con, salt, work_dir / "csv"))
    finally:
        con.close()
    build = dbt(["build", "--select", "+int_listings_accepted", "+listings_rejected", "--quiet"], data_dir, work_dir)
    report = _tally(warehouse, outcomes, build.returncode == 0, build.stdout[-4000:] + build.stderr[-2000:])
    report.seconds = time.perf_counter() - started
    return report


def _tally(warehouse: Path, outcomes: list[CaseOutcome], dbt_ok: bool, dbt_output: str) -> BadInputReport:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        def grouped(sql: str) -> dict[str, int]:
            return {str(k): int(v) for k, v in con.execute(sql).fetchall()}

        tables = {r[0] for r in con.execute(
            "select table_schema || '.' || table_name from information_schema.tables").fetchall()}
        built = {"intermediate.int_listings_accepted", "main.listings_rejected"} <= tables
        partitions = []
        if built:
            rows = con.execute(
                """
                with raw as (
                    select 'scrape' as ingestion, source, cast(scrape_date as varchar) as part, count(*) as n
                    from raw.listings group by all
                    union all
                    select 'import', source, import_file, count(*) from raw.imported_listings group by all
                ),
                accepted as (
                    select ingestion, source, coalesce(import_file, cast(scrape_date as varchar)) as part, count(*) as n
                    from intermediate.int_listings_accepted group by all
                ),
                rejected as (
                    select ingestion, source, coalesce(import_file, cast(scrape_date as varchar)) as part, count(*) as n
                    from main.listings_rejected group by all
                )
                select coalesce(raw.ingestion, a.ingestion, r.ingestion), coalesce(raw.source, a.source, r.source),
                       coalesce(raw.part, a.part, r.part), coalesce(raw.n, 0), coalesce(a.n, 0), coalesce(r.n, 0)
                from raw full join accepted a using (ingestion, source, part) full join rejected r
                    using (ingestion, source, part)
                order by all
                """
            ).fetchall()
            partitions = [{"ingestion": i, "source": s, "partition": p, "raw": n, "accepted": a, "rejected": r}
                          for i, s, p, n, a, r in rows]
        import_rejected = grouped("select import_file, count(*) from raw.import_rejections group by all")
        csv_reads = {o.partition: o.expected for o in outcomes if o.kind == "csv" and o.status == "completed"}
        for p in partitions:
            if p["ingestion"] == "import":
                p["import_rejected"] = import_rejected.get(p["partition"], 0)
                p["read"] = csv_reads.get(p["partition"], p["raw"] + p["import_rejected"])
        # a file whose every row was rejected has no raw row, so it is its own partition
        seen_files = {p["partition"] for p in partitions if p["ingestion"] == "import"}
        for name, rejected in import_rejected.items():
            if name not in seen_files:
                partitions.append({"ingestion": "import", "source": "", "partition": name, "raw": 0, "accepted": 0,
                                   "rejected": 0, "import_rejected": rejected, "read": csv_reads.get(name, rejected)})
        quarantined = grouped("select rejection_reason, count(*) from main.listings_rejected group by all order by 2 desc") \
            if built else {}
        loaded = con.execute("select count(*) from intermediate.int_listings_accepted").fetchone()[0] if built else 0
        reasons = {}
        if built:
            reasons = {key: reason for key, reason in con.execute(
                "select listing_key, rejection_reason from main.listings_rejected where ingestion = 'scrape'").fetchall()}
        accepted_keys = set()
        if built:
            accepted_keys = {r[0] for r in con.execute(
                "select listing_key from intermediate.int_listings_accepted where ingestion = 'scrape'").fetchall()}
        mismatches = []
        for o in outcomes:
            if not o.expect or o.status != "completed":
                continue
            key = f"{o.source}:{o.listing_id}"
            got = f"quarantine:{reasons[key]}" if key in reasons else ("loaded" if key in accepted_keys else "missing")
            if got != o.expect:
                mismatches.append({"case": o.case_id, "expected": o.expect, "got": got})
        return BadInputReport(
            outcomes=outcomes,
            partitions=partitions,
            quarantined_by_reason=quarantined,
            parse_failures_by_reason=grouped(
                "select reason, count(*) from raw.parse_failures group by all order by 2 desc"),
            import_rejections_by_reason=grouped(
                "select reason, count(*) from raw.import_rejections group by all order by 2 desc"),
            loaded=loaded,
            quarantined=sum(quarantined.values()),
            expectation_mismatches=mismatches,
            dbt_ok=dbt_ok,
            dbt_output=dbt_output,
            seconds=0.0,
        )
    finally:
        con.close()


def print_report(report: BadInputReport) -> None:
    """The bad-input tally as the runner prints it."""
    from reliability.common import markdown

    summary = report.summary()
    print(f"Bad inputs: {summary['bad_inputs']} cases ({summary['page_cases']} pages, {summary['csv_cases']} CSV files)"
          f" in {summary['seconds']} s")
    categories: dict[tuple[str, str], Counter] = {}
    for o in report.outcomes:
        categories.setdefault((o.kind, o.category), Counter())[o.status] += 1
    print(markdown([{"kind": k, "category": c, "cases": sum(n.values()), **{s: n.get(s, 0) for s in
                    ("completed", "partition_failed", "refused", "crashed")}}
                    for (k, c), n in sorted(categories.items())]))
    print(f"\nRows loaded (cleaned): {report.loaded}; quarantined: {report.quarantined}")
    print(markdown([{"quarantine reason": k, "rows": v} for k, v in report.quarantined_by_reason.items()]))
    print()
    print(markdown([{"parse-failure reason": k, "pages": v} for k, v in report.parse_failures_by_reason.items()]))
    print()
    print(markdown([{"import rejection reason": k, "rows": v} for k, v in report.import_rejections_by_reason.items()]))
    balanced = summary["partitions_balanced"]
    print(f"\nAccounting per partition (raw = loaded + quarantined; CSV read = imported + rejected): "
          f"{balanced}/{summary['partitions']} partitions balance")
    for broken in report.accounting_breaks[:10]:
        print("  UNBALANCED", json.dumps(broken))
    for o in [o for o in report.outcomes if o.status == "crashed"][:5]:
        print(f"  CRASH {o.case_id} ({o.category}):\n{o.error}")
    for m in report.expectation_mismatches[:10]:
        print("  EXPECTATION", json.dumps(m))
    print(f"crashed: {report.crashes}; rows lost: {report.rows_lost}; cases without any outcome: "
          f"{len(report.unaccounted_cases)}; archive replays identical: {summary['archive_replays_identical']}, "
          f"different: {summary['archive_replays_different']}; dbt build ok: {report.dbt_ok}")
