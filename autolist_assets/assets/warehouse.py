"""Warehouse layer: the dbt project on DuckDB, each model an asset and each dbt test an asset check.

Two `@dbt_assets`, one per partitioning scheme: the seeds, staging views and the incremental
int_listings_normalized (tag:partitioned) share raw_listings' day × site partitions and its single-run
backfill policy, so a backfill of any window is one dbt run with min_date/max_date vars; everything
downstream is unpartitioned and rebuilt whole. Critical tests have error severity: a failure fails the
dbt step, and Dagster skips every asset downstream of it (the price model, the serving snapshot).
"""

import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from autolist_assets import paths
from autolist_assets.partitions import scrape_partitions
from autolist_assets.project import dbt_project
from autolist_assets.resources import WAREHOUSE_POOL

WAREHOUSE_GROUP = "warehouse"
PARTITIONED_SELECTOR = "tag:partitioned"


class DbtConfig(dg.Config):
    """Run config of the dbt assets."""

    # Rebuild incremental models from scratch instead of replacing the partition window.
    full_refresh: bool = False


class AutoListDbtTranslator(DagsterDbtTranslator):
    """Keys dbt models and seeds by their bare name and puts them all in the warehouse group."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        # Sources keep the key their YAML maps them to (raw.listings → raw_listings).
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey(dbt_resource_props["name"])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return WAREHOUSE_GROUP


SKIP_UNIT_TESTS = ["--exclude-resource-type", "unit_test"]


def _dbt_args(
    command: str,
    *,
    full_refresh: bool = False,
    min_date: str | None = None,
    max_date: str | None = None,
) -> list[str]:
    """The dbt command line of one run.

    The partition window goes in as min_date/max_date vars only when the run is partitioned; an
    unpartitioned run passes no vars, so the incremental model's defaults (everything) apply. A full
    refresh keeps the window vars: they only filter incremental runs, which a full refresh is not.
    dbt unit tests check SQL logic on fixed inputs, so they run in CI (tests/warehouse) and not in every
    pipeline run, as dbt advises for production.
    """
    if (min_date is None) != (max_date is None):
        raise ValueError("min_date and max_date go together")
    args = [command, *SKIP_UNIT_TESTS]
    if min_date is not None:
        if min_date > max_date:
            raise ValueError(f"empty window: {min_date} > {max_date}")
        args += ["--vars", json.dumps({"min_date": min_date, "max_date": max_date})]
    if full_refresh:
        args.append("--full-refresh")
    return args


def _window(partition_keys: Sequence[str]) -> tuple[str, str]:
    """The first and last scrape day of a run's (date|source) partition keys."""
    days = sorted({key.split("|")[0] for key in partition_keys})
    if not days:
        raise ValueError("no partitions in this run")
    return days[0], days[-1]


def _translator() -> AutoListDbtTranslator:
    return AutoListDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@cache
def build_partitioned_dbt_assets() -> dg.AssetsDefinition:
    """The day × site partitioned dbt assets, built on first use so importing never reads the manifest."""

    @dbt_assets(
        manifest=dbt_project().manifest_path,
        project=dbt_project(),
        select=PARTITIONED_SELECTOR,
        name="autolist_dbt_partitioned",
        partitions_def=scrape_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        dagster_dbt_translator=_translator(),
        pool=WAREHOUSE_POOL,
    )
    def autolist_dbt_partitioned(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtConfig):
        """Stages, normalizes and quarantines the raw listings of the run's day × site window."""
        paths.ensure_writable()  # exports AUTOLIST_DATA_DIR for profiles.yml, and names the folder if it is unwritable
        min_date, max_date = _window([str(key) for key in context.partition_keys])
        args = _dbt_args("build", full_refresh=config.full_refresh, min_date=min_date, max_date=max_date)
        yield from dbt.cli(args, context=context).stream()

    return autolist_dbt_partitioned


@cache
def build_dbt_assets() -> dg.AssetsDefinition:
    """The unpartitioned dbt assets (every mart), built on first use so importing never reads the manifest."""

    @dbt_assets(
        manifest=dbt_project().manifest_path,
        project=dbt_project(),
        exclude=PARTITIONED_SELECTOR,
        name="autolist_dbt_models",
        dagster_dbt_translator=_translator(),
        pool=WAREHOUSE_POOL,
    )
    def autolist_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtConfig):
        """Identity, history, duplicates and the marts, rebuilt from every trusted listing."""
        paths.ensure_writable()
        yield from dbt.cli(_dbt_args("build", full_refresh=config.full_refresh), context=context).stream()

    return autolist_dbt_models
