"""Warehouse layer: the dbt project on DuckDB, each model an asset and each dbt test an asset check."""

from collections.abc import Mapping
from functools import cache
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from autolist_assets import paths
from autolist_assets.project import dbt_project
from autolist_assets.resources import WAREHOUSE_POOL

WAREHOUSE_GROUP = "warehouse"


class DbtConfig(dg.Config):
    """Run config of the dbt assets."""

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


def dbt_build_args(full_refresh: bool = False) -> list[str]:
    """The dbt command line of a build."""
    return ["build", *(["--full-refresh"] if full_refresh else [])]


@cache
def build_dbt_assets() -> dg.AssetsDefinition:
    """The dbt assets, built on first use so that importing this module never reads the manifest."""

    @dbt_assets(
        manifest=dbt_project().manifest_path,
        project=dbt_project(),
        dagster_dbt_translator=AutoListDbtTranslator(
            settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
        ),
        pool=WAREHOUSE_POOL,
    )
    def autolist_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtConfig):
        """Cleans, normalizes and aggregates raw listings into the warehouse's marts."""
        paths.data_dir()  # exports AUTOLIST_DATA_DIR for profiles.yml before dbt starts
        yield from dbt.cli(dbt_build_args(config.full_refresh), context=context).stream()

    return autolist_dbt_models
