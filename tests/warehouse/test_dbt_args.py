"""The dbt command line Dagster builds for each kind of run (pure functions, no dbt)."""

import json

import pytest

from autolist_assets.assets.warehouse import SKIP_UNIT_TESTS, _dbt_args, _window


def test_dbt_args_omits_vars_for_an_unpartitioned_run():
    assert _dbt_args("build") == ["build", *SKIP_UNIT_TESTS]


def test_dbt_args_passes_the_partition_window_as_vars():
    args = _dbt_args("build", min_date="2026-01-01", max_date="2026-01-14")
    assert args[:4] == ["build", *SKIP_UNIT_TESTS, "--vars"]
    assert json.loads(args[4]) == {"min_date": "2026-01-01", "max_date": "2026-01-14"}
    assert "--full-refresh" not in args


def test_dbt_args_full_refresh_keeps_the_window():
    args = _dbt_args("build", full_refresh=True, min_date="2026-01-01", max_date="2026-01-01")
    assert args[-1] == "--full-refresh"
    assert json.loads(args[4]) == {"min_date": "2026-01-01", "max_date": "2026-01-01"}


def test_dbt_args_full_refresh_without_a_window():
    assert _dbt_args("build", full_refresh=True) == ["build", *SKIP_UNIT_TESTS, "--full-refresh"]


def test_dbt_args_rejects_half_a_window_or_an_empty_one():
    with pytest.raises(ValueError):
        _dbt_args("build", min_date="2026-01-01")
    with pytest.raises(ValueError):
        _dbt_args("build", min_date="2026-01-02", max_date="2026-01-01")


def test_window_spans_the_first_and_last_day_of_multi_partition_keys():
    keys = ["2026-01-03|moteur", "2026-01-01|avito", "2026-01-02|avito", "2026-01-03|avito"]
    assert _window(keys) == ("2026-01-01", "2026-01-03")
    with pytest.raises(ValueError):
        _window([])
