"""Hostile pages and CSVs through the real parsers, raw loaders and dbt: no crash, every row accounted for.

`make reliability` runs the whole corpus (over 1,000 cases); the test runs a stratified sixth of it (every
category of every site and page kind) to stay within seconds, with the same checks.
"""

import hashlib

import pytest

from reliability.bad_inputs import run_corpus
from reliability.corpus import CorpusBuilder, build_corpus, summary

SEED = 8


def _sample(builder: CorpusBuilder, every: int = 6) -> CorpusBuilder:
    """Every `every`-th case of each category, plus every case that states its expected outcome."""
    seen: dict[str, int] = {}
    pages, csvs = [], []
    for case in builder.page_cases:
        key = f"{case.category}/{case.source}/{case.target}"
        seen[key] = seen.get(key, -1) + 1
        if seen[key] % every == 0 or (case.expect and seen[key] % 5 == 0):
            pages.append(case)
    for case in builder.csv_cases:
        seen[case.category] = seen.get(case.category, -1) + 1
        if seen[case.category] % (every // 2) == 0 or case.category in ("empty", "unknown_headers"):
            csvs.append(case)
    builder.page_cases, builder.csv_cases = pages, csvs
    return builder


@pytest.fixture(scope="module")
def corpus():
    return build_corpus(SEED)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return run_corpus(_sample(build_corpus(SEED)), tmp_path_factory.mktemp("corpus"))


def test_the_corpus_has_over_a_thousand_cases_in_every_category(corpus):
    counts = summary(corpus)
    assert len(corpus.page_cases) + len(corpus.csv_cases) >= 1000
    categories = {key.split(" (")[0] for key in counts}
    assert {"truncated_html", "next_data_missing", "next_data_broken", "next_data_wrong_shape", "wrong_types",
            "absurd_values", "mojibake", "arabic", "huge_page", "empty_200", "injection", "sql_strings",
            "csv misaligned", "csv unknown_headers", "csv source_quirks", "csv encodings"} <= categories
    for source in ("avito", "moteur"):
        for target in ("list", "ad"):
            assert any(c.source == source and c.target == target for c in corpus.page_cases)


def test_the_corpus_is_the_same_for_the_same_seed(corpus):
    def digest(builder):
        h = hashlib.sha256()
        for case in builder.page_cases:
            for url, answer in sorted(case.answers.items()):
                h.update(url.encode() + bytes([answer.status % 256]) + answer.body)
        for case in builder.csv_cases:
            h.update(case.data)
        return h.hexdigest()

    assert digest(corpus) == digest(build_corpus(SEED))
    assert digest(corpus) != digest(build_corpus(SEED + 1))


def test_no_case_crashes(report):
    crashed = [(o.case_id, o.error) for o in report.outcomes if o.status == "crashed"]
    assert report.cases > 150
    assert crashed == []


def test_every_case_ends_as_rows_or_a_recorded_failure(report):
    assert report.unaccounted_cases == []
    assert report.rows_lost == 0
    for outcome in report.outcomes:
        if outcome.status in ("partition_failed", "refused"):
            assert outcome.failure_reasons, outcome.case_id  # a loud failure always leaves its reason
    statuses = report.by_status()
    assert statuses["completed"] > 0 and statuses["partition_failed"] > 0 and statuses["refused"] > 0


def test_every_partition_balances_and_dbt_accepts_the_warehouse(report):
    assert report.dbt_ok, report.dbt_output
    assert report.partitions and report.accounting_breaks == []
    assert report.loaded > 0 and report.quarantined > 0


def test_absurd_values_land_in_quarantine_with_their_reason(report):
    assert report.expectation_mismatches == []
    checked = [o for o in report.outcomes if o.expect]
    assert len(checked) >= 10
    reasons = set(report.quarantined_by_reason)
    assert {"year_out_of_range", "placeholder_price", "price_out_of_bounds", "unparseable_mileage"} <= reasons


def test_unreadable_pages_are_on_record_with_a_reason(report):
    reasons = report.parse_failures_by_reason
    assert reasons.get("list_page", 0) > 0 and reasons.get("no_ad_data", 0) > 0
    assert report.import_rejections_by_reason.get("wrong_column_count", 0) > 0


def test_every_archive_replays_to_the_same_rows(report):
    replays = [o.replay_matches for o in report.outcomes if o.replay_matches is not None]
    assert len(replays) > 100 and all(replays)
