"""Site adapters for avito.ma and moteur.ma: fetch, archive (WARC), parse and merge into listing rows."""

from autolist_assets.sources.archive import PageArchive, read_archive
from autolist_assets.sources.fetch import BrowserFetcher, Fetcher, HttpFetcher, Response
from autolist_assets.sources.schema import ROW_FIELDS
from autolist_assets.sources.scrape import LIST_PATHS, SOURCES, ScrapeResult, reparse_archive, scrape_partition

__all__ = [
    "LIST_PATHS", "ROW_FIELDS", "SOURCES", "BrowserFetcher", "Fetcher", "HttpFetcher", "PageArchive", "Response",
    "ScrapeResult", "read_archive", "reparse_archive", "scrape_partition",
]
