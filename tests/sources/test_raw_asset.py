"""A parser fix plus a `refetch: false` re-materialization repairs history, with the marketplace switched off."""

import datetime as dt
import json

import dagster as dg
import duckdb
from demo_truth import TODAY

from autolist_assets import paths
from autolist_assets.assets.raw import raw_listings
from autolist_assets.partitions import window_range_tags
from autolist_assets.resources import Marketplace, Warehouse
from autolist_assets.sources import moteur
from demo_market import DemoMarketServer, Faults, Market, MarketConfig

DAY = dt.date(2026, 5, 18)
PARTITION = dg.MultiPartitionKey({"date": DAY.isoformat(), "source": "moteur"})


def _materialize(warehouse: Warehouse, marketplace: Marketplace, refetch: bool) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [raw_listings], partition_key=PARTITION,
        resources={"warehouse": warehouse, "marketplace": marketplace},
        run_config={"ops": {"raw_listings": {"config": {"refetch": refetch}}}},
    )


def _rows(warehouse: Warehouse) -> dict[str, tuple]:
    with duckdb.connect(warehouse.path, read_only=True) as con:
        return {row[0]: row[1:] for row in con.execute(
            "select listing_id, fiscal_power, doors from raw.listings where source = 'moteur' and scrape_date = ?",
            [DAY]).fetchall()}


def test_a_parser_fix_and_an_offline_rematerialization_repair_history(tmp_path, monkeypatch):
    market = Market(MarketConfig(seed=5, today=TODAY, avito_per_day=20, moteur_per_day=10, history_days=5,
                                 faults=Faults.off()))
    truth = {ad.listing_id: (ad.fiscal_power, ad.doors) for ad in market.listings("moteur", DAY)}
    warehouse = Warehouse(path=str(tmp_path / "warehouse.duckdb"))
    fixed_parser = moteur.parse_detail_page

    def buggy_parser(html, url):
        # the bug under repair: fiscal power is lost on every ad page
        return {**fixed_parser(html, url), "fiscal_power": None}

    monkeypatch.setattr(moteur, "parse_detail_page", buggy_parser)
    with DemoMarketServer(market) as server:
        marketplace = Marketplace(avito_url=server.avito_url, moteur_url=server.moteur_url)
        assert _materialize(warehouse, marketplace, refetch=True).success
    assert paths.archive_path("moteur", DAY.isoformat()).exists()
    broken = _rows(warehouse)
    assert set(broken) == set(truth) and all(fiscal is None for fiscal, _ in broken.values())

    # the fix ships; the server is gone, so any network access would fail the run
    monkeypatch.setattr(moteur, "parse_detail_page", fixed_parser)
    result = _materialize(warehouse, marketplace, refetch=False)
    assert result.success
    assert _rows(warehouse) == truth
    with duckdb.connect(warehouse.path, read_only=True) as con:
        mode, updated, new, statuses = con.execute(
            "select mode, updated_listings, new_listings, http_status_counts from raw.scrape_reports "
            "where source = 'moteur' and scrape_date = ?", [DAY]).fetchone()
    assert (mode, updated, new) == ("reparse", len(truth), 0)
    assert set(json.loads(statuses)) == {"200"}
    metadata = result.asset_materializations_for_node("raw_listings")[0].metadata
    assert metadata["updated_listings"].value == len(truth) and metadata["retries"].value == 0


def _window_run(warehouse: Warehouse, marketplace: Marketplace, workers: int,
                instance: dg.DagsterInstance, refetch: bool = True) -> dg.ExecuteInProcessResult:
    # incremental off: the second warehouse must fetch every page again, not copy the first run's archive
    config = {"ops": {"raw_listings": {"config": {"workers": workers, "incremental": False, "refetch": refetch}}}}
    return dg.materialize([raw_listings], instance=instance, run_config=config,
                          resources={"warehouse": warehouse, "marketplace": marketplace},
                          tags=window_range_tags(DAY - dt.timedelta(days=1), DAY))


def test_partitions_scraped_by_worker_processes_load_the_rows_of_one_process(tmp_path, market):
    from reliability.faults import warehouse_hashes

    instance = dg.DagsterInstance.ephemeral()
    warehouses = {workers: Warehouse(path=str(tmp_path / f"warehouse_{workers}.duckdb")) for workers in (1, 2)}
    with DemoMarketServer(market) as server:
        marketplace = Marketplace(avito_url=server.avito_url, moteur_url=server.moteur_url)
        results = {workers: _window_run(warehouse, marketplace, workers, instance)
                   for workers, warehouse in warehouses.items()}
    # the server is gone: workers re-parsing the archives must not need it
    reparsed = Warehouse(path=str(tmp_path / "warehouse_reparsed.duckdb"))
    assert _window_run(reparsed, marketplace, 2, instance, refetch=False).success
    assert all(result.success for result in results.values())
    logged = {workers: [e.user_message for e in instance.all_logs(result.run_id) if "worker processes" in e.user_message]
              for workers, result in results.items()}
    assert logged == {1: [], 2: ["4 partitions in 2 worker processes"]}
    expected = {ad.listing_id for day in (DAY, DAY - dt.timedelta(days=1)) for source in ("avito", "moteur")
                for ad in market.listings(source, day)}
    with duckdb.connect(warehouses[2].path, read_only=True) as con:
        loaded = {r[0] for r in con.execute("select listing_id from raw.listings").fetchall()}
        partitions = con.execute("select count(*) from raw.scrape_reports").fetchone()[0]
    assert loaded == expected and partitions == 4
    hashes = {name: warehouse_hashes(tmp_path / f"warehouse_{name}.duckdb", ("raw.listings",))
              for name in (1, 2, "reparsed")}
    assert hashes[1] == hashes[2] == hashes["reparsed"]
