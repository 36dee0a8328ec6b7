"""WARC archive of every fetched page, one gzipped file per partition, replaced atomically on re-runs."""

from __future__ import annotations

import datetime as dt
import io
import os
from pathlib import Path
from typing import Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import iso_date_to_datetime
from warcio.warcwriter import WARCWriter

from autolist_assets.sources.fetch import Response

FETCHER_HEADER = "WARC-Fetcher"  # non-standard: which fetcher (http, browser) produced the record
FETCHED_AT_HEADER = "WARC-Date"
# The body is stored decoded, so headers describing the wire encoding would lie.
_WIRE_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}
_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 403: "Forbidden", 404: "Not Found", 410: "Gone",
            429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


class PageArchive:
    """Writes responses to `path` (a .warc.gz); the file appears only when the archive closes cleanly."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp_path = self.path.with_name(self.path.name + ".tmp")
        self._file = open(self._tmp_path, "wb")
        self._writer = WARCWriter(self._file, gzip=True, warc_version="1.1")
        self.records_written = 0
        self._writer.write_record(self._writer.create_warcinfo_record(
            self.path.name, {"software": "autolist-sources/0.1", "format": "WARC File Format 1.1"},
        ))

    def write(self, response: Response) -> None:
        """Append one response record (URL, status, headers, body, fetch time, fetcher)."""
        headers = [(name, value) for name, value in response.headers.items() if name.lower() not in _WIRE_HEADERS]
        headers.append(("Content-Length", str(len(response.body))))
        status_line = f"{response.status} {_REASONS.get(response.status, 'Unknown')}"
        http_headers = StatusAndHeaders(status_line, headers, protocol="HTTP/1.1")
        record = self._writer.create_warc_record(
            response.url, "response", payload=io.BytesIO(response.body), length=len(response.body),
            http_headers=http_headers,
            warc_headers_dict={
                FETCHED_AT_HEADER: response.fetched_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                FETCHER_HEADER: response.fetcher,
            },
        )
        self._writer.write_record(record)
        self.records_written += 1

    def close(self) -> None:
        """Finish the file and move it into place, replacing any previous archive of the partition."""
        if self._file.closed:
            return
        self._file.close()
        os.replace(self._tmp_path, self.path)

    def discard(self) -> None:
        """Drop the partial file and keep the previous archive (used when the scrape fails)."""
        if not self._file.closed:
            self._file.close()
        self._tmp_path.unlink(missing_ok=True)

    def __enter__(self) -> "PageArchive":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()


def read_archive(path: Path | str) -> Iterator[Response]:
    """Yield every response record of a WARC file, in the order it was written."""
    with open(path, "rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response":
                continue
            http = record.http_headers
            yield Response(
                url=record.rec_headers.get_header("WARC-Target-URI"),
                status=int(http.get_statuscode()),
                headers={name: value for name, value in http.headers if name.lower() != "content-length"},
                body=record.content_stream().read(),
                fetched_at=iso_date_to_datetime(record.rec_headers.get_header(FETCHED_AT_HEADER), tz_aware=True),
                fetcher=record.rec_headers.get_header(FETCHER_HEADER) or "unknown",
            )
