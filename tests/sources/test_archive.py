"""WARC archives round-trip responses and replace a partition's file only when a run completes."""

import datetime as dt
import gzip
import re
import uuid

import pytest

from autolist_assets.sources.archive import partial_path
from autolist_assets.sources import PageArchive, Response, read_archive


def _response(n: int, status: int = 200, fetcher: str = "http") -> Response:
    return Response(
        url=f"http://127.0.0.1:8765/fr/casablanca/voitures_d_occasion/Ad_{n}.htm", status=status,
        headers={"content-type": "text/html; charset=utf-8", "content-encoding": "gzip", "x-served-by": "demo"},
        body=f"<html><body>annonce {n} – 173\u202f000 DH</body></html>".encode(),
        fetched_at=dt.datetime(2026, 5, 20, 10, 30, n, 123456, tzinfo=dt.timezone.utc), fetcher=fetcher,
    )


def test_responses_round_trip_with_status_headers_time_and_fetcher(tmp_path):
    path = tmp_path / "avito" / "2026-05-19.warc.gz"
    written = [_response(1), _response(2, status=404), _response(3, fetcher="browser")]
    with PageArchive(path) as archive:
        for response in written:
            archive.write(response)
    read = list(read_archive(path))
    assert [(r.url, r.status, r.body, r.fetched_at, r.fetcher) for r in read] == \
        [(r.url, r.status, r.body, r.fetched_at, r.fetcher) for r in written]
    # bodies are stored decoded, so the wire encoding header must not survive
    assert read[0].headers == {"content-type": "text/html; charset=utf-8", "x-served-by": "demo"}
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as raw:
        text = raw.read()
    assert text.count("WARC-Type: response") == 3 and "WARC-Type: warcinfo" in text
    assert "WARC-Fetcher: browser" in text


def test_record_ids_are_distinct_version_4_uuids_and_dates_are_utc_to_the_microsecond(tmp_path):
    path = tmp_path / "a.warc.gz"
    paris = dt.timezone(dt.timedelta(hours=1))
    shifted = _response(4)
    shifted.fetched_at = dt.datetime(2026, 5, 20, 11, 30, 4, 0, tzinfo=paris)  # 10:30:04 UTC, no microseconds
    with PageArchive(path) as archive:
        for response in [_response(n % 60) for n in range(200)] + [shifted]:
            archive.write(response)
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as raw:
        text = raw.read()
    ids = re.findall(r"WARC-Record-ID: <urn:uuid:([^>]+)>", text)[1:]  # the first is warcinfo's, from warcio
    assert len(ids) == 201 == len(set(ids))
    assert all(str(uuid.UUID(i)) == i and uuid.UUID(i).version == 4 and uuid.UUID(i).variant == uuid.RFC_4122
               for i in ids)
    dates = re.findall(r"WARC-Date: (\S+)", text)[1:]
    assert dates[:2] == ["2026-05-20T10:30:00.123456Z", "2026-05-20T10:30:01.123456Z"]
    assert dates[-1] == "2026-05-20T10:30:04.000000Z"
    assert [r.fetched_at for r in read_archive(path)][-1] == shifted.fetched_at


def test_a_rerun_replaces_the_archive_and_a_failed_run_keeps_the_old_one(tmp_path):
    path = tmp_path / "moteur-2026-05-19.warc.gz"
    with PageArchive(path) as archive:
        for n in range(3):
            archive.write(_response(n))
    with PageArchive(path) as archive:
        archive.write(_response(7))
        assert len(list(read_archive(path))) == 3  # the old file stays readable while the new one is written
    assert [r.url.rsplit("_", 1)[1] for r in read_archive(path)] == ["7.htm"]
    with pytest.raises(RuntimeError):
        with PageArchive(path) as archive:
            archive.write(_response(8))
            raise RuntimeError("scrape failed")
    assert [r.url.rsplit("_", 1)[1] for r in read_archive(path)] == ["7.htm"]
    # what the failed run fetched stays aside for the next run to resume from
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moteur-2026-05-19.warc.gz",
                                                          "moteur-2026-05-19.warc.gz.partial"]
    assert [r.url.rsplit("_", 1)[1] for r in read_archive(partial_path(path))] == ["8.htm"]
    with PageArchive(path) as archive:
        archive.write(_response(9))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["moteur-2026-05-19.warc.gz"]
