"""`listing_table` builds a column with Arrow alone when its values need no fitting; the result must be the fitted one."""

import datetime as dt

import pyarrow as pa
from demo_truth import TODAY

from autolist_assets.raw_tables import _ROW_FITTERS, _UNCOMMITTED_SCHEMA, listing_table
from autolist_assets.sources import HttpFetcher, PageArchive, scrape_partition
from demo_market import DemoMarketServer, Market, MarketConfig

UTC = dt.timezone.utc


def _fitted(rows: list[dict], day: dt.date) -> pa.Table:
    """Every value through its column's fitter, as the table was built before the plain-column path."""
    columns = {"scrape_date": pa.array([day] * len(rows), pa.date32())}
    for name, fit in _ROW_FITTERS:
        columns[name] = pa.array([None if (v := row.get(name)) is None else fit(v) for row in rows],
                                 _UNCOMMITTED_SCHEMA.field(name).type)
    return pa.Table.from_pydict(columns, schema=_UNCOMMITTED_SCHEMA)


def test_scraped_rows_give_the_fitted_table(tmp_path):
    market = Market(MarketConfig(seed=11, today=TODAY, history_days=6))
    day = TODAY - dt.timedelta(days=1)
    with DemoMarketServer(market) as server, HttpFetcher() as fetcher:
        rows = []
        for source, url in (("avito", server.avito_url), ("moteur", server.moteur_url)):
            with PageArchive(tmp_path / f"{source}.warc.gz") as archive:
                rows += scrape_partition(source, day, url, fetcher, archive, "salt").rows
    assert len(rows) > 100
    table = listing_table(rows, day)
    assert table.equals(_fitted(rows, day))
    assert table.column("equipment").null_count < len(rows) and table.column("posted_at").null_count < len(rows)


def test_values_of_the_wrong_type_or_size_become_what_the_fitters_make_of_them():
    plain = {"listing_id": "1", "year": 2019, "price_dh": 90_000, "title": "Clio", "first_owner": True,
             "equipment": ["ABS"], "posted_at": dt.datetime(2026, 5, 1, 12, tzinfo=UTC)}
    odd = [
        {"year": True, "price_dh": 1.0, "title": b"bytes", "first_owner": 1, "equipment": "ABS",
         "posted_at": dt.datetime(2026, 5, 1, 12)},
        {"year": 2**31, "price_dh": -(2**63), "title": 5, "equipment": ("a", "b")},
        {"year": 2.5, "price_dh": 2**63, "title": "caf\udce9", "equipment": ["a", 1]},
        {"year": "2019", "price_dh": "90000", "title": None, "equipment": ["a", b"x"]},
    ]
    for row in odd:
        rows = [plain, row, plain]
        table = listing_table(rows, TODAY)
        assert table.equals(_fitted(rows, TODAY)), row
        assert table.slice(0, 1).to_pylist()[0]["year"] == 2019  # the plain row is kept as it is
    got = [listing_table([plain, row], TODAY).to_pylist()[1] for row in odd]
    assert [r["year"] for r in got] == [None, None, None, None]
    assert [r["price_dh"] for r in got] == [None, None, None, None]
    assert [r["title"] for r in got] == [None, "5", "caf?", None]
    assert [r["equipment"] for r in got] == [None, ["a", "b"], ["a", "1"], ["a"]]
    assert got[0]["first_owner"] is None and got[0]["posted_at"] is None
