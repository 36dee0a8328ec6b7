"""Deterministic simulation of the used-car ads posted each day on avito.ma and moteur.ma."""

from __future__ import annotations

import bisect
import functools
import hashlib
import dataclasses
import datetime as dt
import math
import random
import threading
from dataclasses import dataclass
from urllib.parse import quote

import pandas as pd

from demo_market import catalog

SOURCES = ("avito", "moteur")
UTC = dt.timezone.utc


@dataclass(frozen=True)
class Faults:
    """Every way the real sites are messy, each switchable; rates are shares of ads or of requests."""

    # --- content (shares of ads; drawn from a separate random stream, so the cars stay the same)
    hidden_price: float = 0.0  # "Demander le prix" / "Prix non spécifié" / "Appeler pour le prix"
    moteur_hidden_price: float | None = None  # moteur's own share (None = hidden_price)
    placeholder_price: float = 0.0  # "1 DH" on avito, "9 Dhs" on moteur
    financing: float = 0.0  # avito shops showing a monthly instalment next to the price
    non_cars: float = 0.0  # avito: rentals and motorbikes mixed into the car category
    mileage_buckets: float = 0.0  # avito: older cars show "100 000 - 109 999" instead of the exact value
    deleted: float = 0.0  # still listed, but the ad page answers 404 or 410
    cross_posts: float = 0.0  # moteur ads that are the same car as an avito dealer ad
    reposts: float = 0.0  # ads that repost a car of the last week under a new id
    price_drops: float = 0.0  # ads whose price drops a few days after posting (avito shows oldPrice)
    dom_only: float = 0.0  # avito pages served without `__NEXT_DATA__` (rendered markup only)
    # --- transport (shares of requests, robots.txt excepted)
    # above this many requests per second a site answers 429 (realistic: a sequential scraper stays under it,
    # a parallel one hammering the site does not)
    rate_limit_per_s: float | None = None
    too_many_requests: float = 0.0  # 429 at random, whatever the request rate
    retry_after_s: int = 1
    cloudflare: float = 0.0  # "Just a moment..." challenge page (HTTP 403)
    server_errors: float = 0.0  # 500/502/503
    slow: float = 0.0  # answer after `slow_s` seconds
    slow_s: float = 2.0
    resets: float = 0.0  # connection closed without an answer
    truncated: float = 0.0  # body cut short of its Content-Length

    @classmethod
    def off(cls) -> "Faults":
        """Clean sites: the scrape must recover the ground truth exactly."""
        return cls()

    @classmethod
    def realistic(cls) -> "Faults":
        """Shares seen on the real sites (sites.md and the real datasets), transport faults kept rare."""
        return cls(
            # moteur: 53 % of March 2024 cards said "Appeler pour le prix" (sites.md 2.4)
            hidden_price=0.12, moteur_hidden_price=0.53, placeholder_price=0.02, financing=0.15, non_cars=0.06, mileage_buckets=0.3,
            deleted=0.02, cross_posts=0.15, reposts=0.05, price_drops=0.08, dom_only=0.02,
            rate_limit_per_s=150.0, cloudflare=0.003, server_errors=0.005, slow=0.003, slow_s=1.5, resets=0.002,
            truncated=0.002,
        )

    @property
    def transport(self) -> bool:
        """True when any request-level fault can happen."""
        return bool(self.rate_limit_per_s or self.too_many_requests or self.cloudflare or self.server_errors
                    or self.slow or self.resets or self.truncated)


@dataclass(frozen=True)
class MarketConfig:
    """Knobs of the simulated market; faults are off unless asked (`python -m demo_market` asks for the realistic mess)."""

    seed: int = 42
    today: dt.date | None = None  # None = today's UTC date
    history_days: int = 60
    avito_per_day: int = 120
    moteur_per_day: int = 40
    avito_page_size: int = 35
    moteur_page_size: int = 15
    # off by default so code that needs exact truth (tests of every team) keeps it; `make demo` passes realistic()
    faults: Faults = dataclasses.field(default_factory=Faults.off)


@dataclass(frozen=True)
class Listing:
    """The truth about one ad, which the scrapers must recover from the pages."""

    source: str
    listing_id: str
    url_path: str
    title: str
    brand: str
    model: str
    year: int
    mileage_km: int
    fuel: str
    gearbox: str
    fiscal_power: int
    doors: int
    origin: str
    condition: str
    first_owner: bool
    city: str
    sector: str | None
    seller_type: str
    seller_name: str
    seller_phone: str
    price_dh: int
    posted_at: dt.datetime
    image_count: int
    equipment: tuple[str, ...]
    # ground truth for dedup and cleaning, and the faults this ad shows
    vehicle_id: str = ""  # shared by cross-posts and reposts of the same car
    category: str = "Voitures d'occasion"
    is_car: bool = True  # False for rentals and motorbikes
    price_shown: str | None = None  # placeholder text printed instead of the price
    price_history: tuple[tuple[dt.datetime, int], ...] = ()  # later asking prices, with when they applied
    monthly_payment_dh: int | None = None
    mileage_bucket: str | None = None  # the bucket printed instead of the exact mileage
    gone_status: int | None = None  # 404/410 when the ad page is gone while the card is still listed
    dom_only: bool = False  # avito ad page rendered without `__NEXT_DATA__`


LISTING_COLUMNS = tuple(field.name for field in dataclasses.fields(Listing))
TRUTH_COLUMNS = LISTING_COLUMNS + ("price_now_dh", "old_price_now_dh", "price_displayed_dh", "expired_now")
EXPIRY_DAYS = 30
_CATEGORY_SLUGS = {"Voitures de location": "voitures_de_location", "Motos": "motos"}


def _vehicle_id(seed: int, key: str) -> str:
    """Stable id of one physical car, shared by every ad that sells it."""
    return "veh-" + hashlib.sha1(f"{seed}:{key}".encode()).hexdigest()[:12]


def mileage_bucket(km: int) -> str:
    """Avito's bucket label: 5k wide below 100k, 10k wide to 200k, 50k wide above ('100 000 - 109 999')."""
    width = 5_000 if km < 100_000 else 10_000 if km < 200_000 else 50_000
    low = km // width * width
    return f"{low:,} - {low + width - 1:,}".replace(",", " ")


@dataclass(frozen=True)
class Dealer:
    """A professional seller who posts many ads from one city."""

    name: str
    phone: str
    city: str
    weight: float


@dataclass(frozen=True)
class _SourceProfile:
    """How one site differs: id range, seller mix, how young and premium its stock is."""

    anchor_day: dt.date
    anchor_id: int
    id_stride: int  # ids the whole site burns per day (all categories), so ids look real
    shop_share: float
    youth_bias: float  # >0 skews model years younger
    minute_precision: bool  # moteur shows no seconds
    price_factor: float  # dealer-heavy sites ask more for the same car


_PROFILES = {
    # avito ids: ~57.35M on 2026-01-09, ~6k new ads a day across all categories
    "avito": _SourceProfile(dt.date(2026, 1, 9), 57_350_000, 6_000, 0.33, 0.0, False, 1.0),
    # moteur ids: ~470k in April 2025, ~70 a day
    "moteur": _SourceProfile(dt.date(2025, 4, 15), 470_000, 70, 0.82, 0.06, True, 1.04),
}

# Share of listings by model age (years before the posting year), from the 2026 avito sample.
_AGE_WEIGHTS = (
    0.035, 0.049, 0.073, 0.100, 0.114, 0.079, 0.078, 0.067, 0.056, 0.054, 0.037, 0.033, 0.028, 0.029, 0.022,
    0.019, 0.017, 0.018, 0.014, 0.011, 0.008, 0.006, 0.005, 0.006, 0.005, 0.004, 0.004, 0.003, 0.003, 0.002,
    0.002, 0.002, 0.002, 0.002, 0.0015, 0.0015, 0.0015, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001,
)
# Posting activity by UTC hour (Morocco is UTC+1): quiet nights, busy working hours.
_HOUR_WEIGHTS = (
    0.30, 0.20, 0.15, 0.10, 0.12, 0.25, 0.55, 1.00, 1.45, 1.70, 1.80, 1.75,
    1.55, 1.50, 1.65, 1.75, 1.75, 1.60, 1.45, 1.40, 1.35, 1.10, 0.85, 0.55,
)
_WEEKDAY_FACTORS = (1.06, 1.04, 1.0, 1.0, 0.94, 1.02, 0.94)
_OLDER_SEGMENTS = {"luxury": 0.07, "premium_suv": 0.03, "premium": 0.03}
_CONDITION_VALUE = {
    "Neuf": 1.04, "Excellent": 1.0, "Très bon": 0.96, "Bon": 0.9, "Correct": 0.8, "Endommagé": 0.55,
    "Pour Pièces": 0.3,
}
_ORIGIN_VALUE = {"WW au Maroc": 1.0, "Dédouanée": 0.97, "Importée neuve": 1.03, "Pas encore dédouanée": 0.82}


def _replace(ad: Listing, **changes) -> Listing:
    """dataclasses.replace without re-running __init__ (a frozen dataclass sets each field through object.__setattr__),
    which costs most of a listing's generation; the result is equal field for field."""
    new = object.__new__(Listing)
    new.__dict__.update(ad.__dict__)
    new.__dict__.update(changes)
    return new


@functools.lru_cache(maxsize=None)
def _equipment_shares(equipment_level: float, year: int) -> tuple[tuple[str, float], ...]:
    """Each equipment item with the chance a car of this level and year carries it."""
    recency = min(1.15, max(0.3, 1 - 0.04 * (2020 - year)))
    out = []
    for label in catalog.EQUIPMENT_LABELS:
        low, high = catalog.EQUIPMENT_RATES[label]
        out.append((label, min(0.99, (low + (high - low) * equipment_level) * recency)))
    return tuple(out)


def _cumulative(weights) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _pick(rng: random.Random, items, cum_weights):
    """Weighted choice with precomputed cumulative weights (random.choices is slower per call)."""
    return items[bisect.bisect_right(cum_weights, rng.random() * cum_weights[-1])]


@functools.lru_cache(maxsize=1 << 16)
def slug_avito(text: str) -> str:
    """Avito URL slug: every non-alphanumeric char becomes '_', accents are percent-encoded."""
    return quote("".join(ch if ch.isalnum() else "_" for ch in text), safe="_")


@functools.lru_cache(maxsize=1 << 12)
def slug_moteur(text: str) -> str:
    """Moteur URL slug: ASCII lower-case words joined by '-'."""
    ascii_text = catalog.strip_accents(text).lower()
    return "-".join("".join(ch if ch.isalnum() else " " for ch in ascii_text).split())


class Market:
    """Deterministic market: ads of (seed, source, day) never depend on `today` or on other days."""

    def __init__(self, config: MarketConfig | None = None):
        self.config = config or MarketConfig()
        self._day_cache: dict[tuple[str, dt.date], tuple[Listing, ...]] = {}
        # per source: (the today it was built for, ads newest first, negated posting timestamps)
        self._feed_cache: dict[str, tuple[dt.date, list[Listing], list[float]]] = {}
        self._lock = threading.Lock()
        self._brand_cum = {
            source: _cumulative(getattr(b, f"{source}_weight") for b in catalog.BRANDS) for source in SOURCES
        }
        self._model_cum = {b: _cumulative(m.weight for m in ms) for b, ms in catalog.MODELS_BY_BRAND.items()}
        self._city_cum = {
            source: _cumulative(getattr(c, f"{source}_weight") for c in catalog.CITIES) for source in SOURCES
        }
        self._hour_cum = _cumulative(_HOUR_WEIGHTS)
        self._dealers_by_city = self._make_dealers()
        self._year_cum: dict[tuple, tuple] = {}
        self._id_index: dict[tuple[str, dt.date], dict[str, Listing]] = {}  # (source, brand, model, year) -> the age draw's table

    # ------------------------------------------------------------------ clock and calendar

    @property
    def today(self) -> dt.date:
        """The simulated current day (UTC)."""
        return self.config.today or dt.datetime.now(UTC).date()

    @property
    def first_day(self) -> dt.date:
        """Oldest day that still has ads online."""
        return self.today - dt.timedelta(days=self.config.history_days)

    def days(self) -> list[dt.date]:
        """Every day with ads online, oldest first."""
        return [self.first_day + dt.timedelta(days=i) for i in range(self.config.history_days + 1)]

    def now(self) -> dt.datetime:
        """Server clock: wall time on the real today, else the end of the simulated day (all its ads online)."""
        wall = dt.datetime.now(UTC)
        if self.today == wall.date():
            return wall
        return dt.datetime.combine(self.today, dt.time(23, 59, 59), tzinfo=UTC)

    # ------------------------------------------------------------------ public queries

    def listings(self, source: str, day: dt.date) -> list[Listing]:
        """Ads posted at `source` on `day` (UTC), oldest first; empty outside the online window."""
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
        if not self.first_day <= day <= self.today:
            return []
        key = (source, day)
        cached = self._day_cache.get(key)
        if cached is None:
            cached = self._generate_day(source, day)
            self._day_cache[key] = cached
        return list(cached)

    def ground_truth(self, source: str, start: dt.date, end: dt.date, as_shown: bool = False) -> pd.DataFrame:
        """All ads posted from `start` to `end` inclusive, one row per ad, columns = Listing fields.

        `as_shown` adds what the pages say now: `price_now_dh`, `old_price_now_dh`, `price_displayed_dh` (None
        when a placeholder hides the price) and `expired_now` (kept apart: they restate the price)."""
        now = self.now()
        rows = []
        day = start
        while day <= end:
            for ad in self.listings(source, day):
                row = [getattr(ad, column) for column in LISTING_COLUMNS]
                if as_shown:
                    price, old = self.asking_price(ad, now)
                    row += [price, old, None if ad.price_shown is not None else price, self.is_expired(ad, now)]
                rows.append(row)
            day += dt.timedelta(days=1)
        return pd.DataFrame.from_records(rows, columns=list(TRUTH_COLUMNS if as_shown else LISTING_COLUMNS))

    def feed(self, source: str, now: dt.datetime | None = None) -> list[Listing]:
        """Ads online at `now`, newest first, as the site's list pages show them."""
        now = now or self.now()
        ordered, negated_times = self._full_feed(source)
        # negated times ascend, so the ads posted after `now` (not yet online) form a prefix
        not_yet_posted = bisect.bisect_left(negated_times, -now.timestamp())
        return ordered[not_yet_posted:]

    def feed_window(self, source: str, start: int, size: int, now: dt.datetime | None = None) -> tuple[list[Listing], int]:
        """(feed(source, now)[start:start + size], len(feed(source, now))) without copying the whole feed: one list
        page of a million-ad market costs its own ads, not the market's."""
        now = now or self.now()
        ordered, negated_times = self._full_feed(source)
        not_yet_posted = bisect.bisect_left(negated_times, -now.timestamp())
        first = not_yet_posted + max(0, start)
        return ordered[first:first + max(0, size)], len(ordered) - not_yet_posted

    def find(self, source: str, listing_id: str) -> Listing | None:
        """The ad with this id if it is online now, found through the day its id encodes."""
        try:
            numeric_id = int(listing_id)
        except ValueError:
            return None
        profile = _PROFILES[source]
        stride = self._stride(source)
        day = profile.anchor_day + dt.timedelta(days=(numeric_id - profile.anchor_id) // stride)
        if not self.first_day <= day <= self.today:
            return None
        by_id = self._id_index.get((source, day))
        if by_id is None:
            # an ad page is served once per ad and scrape: a scan of the day per request grows with the market
            by_id = {listing.listing_id: listing for listing in self.listings(source, day)}
            self._id_index[(source, day)] = by_id
        listing = by_id.get(str(numeric_id))
        return listing if listing is not None and listing.posted_at <= self.now() else None

    # ------------------------------------------------------------------ generation

    def _full_feed(self, source: str) -> tuple[list[Listing], list[float]]:
        today = self.today
        cached = self._feed_cache.get(source)
        if cached is None or cached[0] != today:
            with self._lock:
                cached = self._feed_cache.get(source)
                if cached is None or cached[0] != today:
                    # a long-running server moves to a new day: forget the days that went offline
                    self._day_cache = {key: ads for key, ads in self._day_cache.items() if key[1] >= self.first_day}
                    self._id_index = {key: ads for key, ads in self._id_index.items() if key[1] >= self.first_day}
                    ordered = [ad for day in reversed(self.days()) for ad in reversed(self.listings(source, day))]
                    cached = (today, ordered, [-ad.posted_at.timestamp() for ad in ordered])
                    self._feed_cache[source] = cached
        return cached[1], cached[2]

    def _per_day(self, source: str) -> int:
        return self.config.avito_per_day if source == "avito" else self.config.moteur_per_day

    def _stride(self, source: str) -> int:
        # a day's ids must fit inside its stride even on the busiest day
        faults = self.config.faults
        extra = 1 + faults.non_cars + faults.reposts + faults.cross_posts
        return max(_PROFILES[source].id_stride, math.ceil(self._per_day(source) * 1.2 * extra) + 4)

    def _make_dealers(self) -> dict[str, tuple[list[Dealer], list[float]]]:
        """Dealer pool per city, fixed by the seed alone so the same shops post day after day on both sites."""
        rng = random.Random(f"{self.config.seed}:dealers")
        used: set[str] = set()
        pool: dict[str, tuple[list[Dealer], list[float]]] = {}
        for city in catalog.CITIES:
            size = max(2, round(2 + (city.avito_weight + city.moteur_weight) * 0.8))
            dealers = []
            for rank in range(size):
                name = ""
                while not name or name in used:
                    word = rng.choice(catalog.DEALER_WORDS)
                    name = rng.choice(catalog.DEALER_PATTERNS).format(w=word)
                    if rng.random() < 0.3:
                        name = f"{name} {catalog.strip_accents(city.name)}"
                used.add(name)
                phone = "05" + "".join(rng.choice("0123456789") for _ in range(8)) if rng.random() < 0.4 \
                    else rng.choice(("06", "07")) + "".join(rng.choice("0123456789") for _ in range(8))
                # a few big dealers post most shop ads (Zipf-like)
                dealers.append(Dealer(name, phone, city.name, 1.0 / (rank + 1) ** 0.9))
            pool[city.name] = (dealers, _cumulative(d.weight for d in dealers))
        return pool

    def _generate_day(self, source: str, day: dt.date) -> tuple[Listing, ...]:
        """The day's cars (v1 draws, untouched by faults), plus rentals, reposts and cross-posts, ids by time."""
        base = self._base_day(source, day)
        faults = self.config.faults
        frng = random.Random(f"{self.config.seed}:{source}:{day.isoformat()}:faults")
        day_start = dt.datetime.combine(day, dt.time(0), tzinfo=UTC)
        extras: list[Listing] = []
        if source == "avito" and faults.non_cars:
            for _ in range(self._binomial(frng, len(base), faults.non_cars)):
                extras.append(self._non_car(frng, day, day_start + dt.timedelta(seconds=frng.randrange(86_400))))
        if faults.reposts:
            for _ in range(self._binomial(frng, len(base), faults.reposts)):
                earlier = self._base_day(source, day - dt.timedelta(days=frng.randint(1, 7)))
                original = frng.choice(earlier)
                price = int(round(original.price_dh * frng.choice((1.0, 1.0, 0.98, 0.95)) / 1000) * 1000)
                extras.append(_replace(
                    original, posted_at=day_start + dt.timedelta(seconds=frng.randrange(86_400)), price_dh=price))
        if source == "moteur" and faults.cross_posts:
            shops = [ad for ad in self._base_day("avito", day) if ad.seller_type == "shop"]
            for _ in range(min(len(shops), self._binomial(frng, len(base), faults.cross_posts))):
                twin = shops.pop(frng.randrange(len(shops)))
                posted = min(twin.posted_at + dt.timedelta(seconds=frng.randrange(6 * 3600)),
                             day_start + dt.timedelta(seconds=86_399))
                extras.append(_replace(
                    twin, source="moteur", title=f"{catalog.moteur_brand_display(twin.brand)} {twin.model}",
                    sector=None, posted_at=posted, image_count=frng.randint(4, 15),
                    price_dh=int(round(twin.price_dh * _PROFILES["moteur"].price_factor / 1000) * 1000)))
        if _PROFILES[source].minute_precision:
            extras = [_replace(ad, posted_at=ad.posted_at.replace(second=0)) for ad in extras]
        ads = sorted(base + tuple(extras), key=lambda ad: ad.posted_at)
        count = len(ads)
        stride = self._stride(source)
        first_id = _PROFILES[source].anchor_id + (day - _PROFILES[source].anchor_day).days * stride
        listings = []
        for rank, ad in enumerate(ads):
            second = int((ad.posted_at - day_start).total_seconds())
            # monotone in posting time and unique: floor part never decreases, rank strictly increases
            listing_id = str(first_id + (second * (stride - count)) // 86_400 + rank)
            listings.append(self._apply_faults(frng, _replace(
                ad, listing_id=listing_id, url_path=self._url_path(ad, listing_id))))
        return tuple(listings)

    def _base_day(self, source: str, day: dt.date) -> tuple[Listing, ...]:
        """The cars posted on `day`, whatever the online window (reposts and cross-posts copy them)."""
        key = (f"base:{source}", day)
        cached = self._day_cache.get(key)
        if cached is not None:
            return cached
        rng = random.Random(f"{self.config.seed}:{source}:{day.isoformat()}")
        profile = _PROFILES[source]
        count = max(1, round(self._per_day(source) * _WEEKDAY_FACTORS[day.weekday()] * rng.uniform(0.9, 1.1)))
        day_start = dt.datetime.combine(day, dt.time(0), tzinfo=UTC)
        seconds = []
        for _ in range(count):
            hour = _pick(rng, range(24), self._hour_cum)
            second = hour * 3600 + rng.randrange(3600)
            if profile.minute_precision:
                second -= second % 60
            seconds.append(second)
        seconds.sort()
        listings = []
        for rank, second in enumerate(seconds):
            posted_at = day_start + dt.timedelta(seconds=second)
            ad = self._generate_listing(rng, source, day, "", posted_at)
            vehicle = f"{source}:{day.isoformat()}:{rank}"
            listings.append(_replace(ad, vehicle_id=_vehicle_id(self.config.seed, vehicle)))
        cached = tuple(listings)
        self._day_cache[key] = cached
        return cached

    @staticmethod
    def _binomial(rng: random.Random, trials: int, share: float) -> int:
        return sum(rng.random() < share for _ in range(trials))

    @staticmethod
    def _url_path(ad: Listing, listing_id: str) -> str:
        if ad.source == "avito":
            slug = ad.city if ad.sector in (None, "Toute la ville") else ad.sector
            kind = "voitures_d_occasion" if ad.is_car else _CATEGORY_SLUGS[ad.category]
            return f"/fr/{slug_avito(slug.lower())}/{kind}/{slug_avito(ad.title)}_{listing_id}.htm"
        return (f"/fr/voiture/achat-voiture-occasion/detail-annonce/{listing_id}/"
                f"{slug_moteur(ad.brand + ' ' + ad.model)}.html")

    def _non_car(self, frng: random.Random, day: dt.date, posted_at: dt.datetime) -> Listing:
        """A rental or a motorbike that the site files under the car search anyway."""
        car = self._generate_listing(frng, "avito", day, "", posted_at)
        vehicle = _vehicle_id(self.config.seed, f"avito:{posted_at.isoformat()}:other")
        if frng.random() < 0.6:
            return _replace(
                car, category="Voitures de location", is_car=False, vehicle_id=vehicle,
                title=f"Location {car.brand} {car.model} {car.year}", price_dh=frng.randrange(200, 900, 50))
        brand, models = frng.choice(catalog.MOTORBIKES)
        model = frng.choice(models)
        year = frng.randint(day.year - 12, day.year)
        return _replace(
            car, category="Motos", is_car=False, vehicle_id=vehicle, brand=brand, model=model, year=year,
            title=f"{brand} {model} {year}", mileage_km=frng.randrange(0, 60_000, 500), fuel="Essence",
            gearbox=None, fiscal_power=None, doors=None, equipment=(),
            price_dh=frng.randrange(6_000, 90_000, 500))

    def _apply_faults(self, frng: random.Random, ad: Listing) -> Listing:
        """Decorate one ad with the faults it shows; every draw happens whatever the shares, so ads stay aligned."""
        faults = self.config.faults
        draws = [frng.random() for _ in range(9)]
        changes: dict = {}
        hidden = faults.moteur_hidden_price if ad.source == "moteur" and faults.moteur_hidden_price is not None \
            else faults.hidden_price
        if draws[0] < hidden:
            changes["price_shown"] = "Appeler pour le prix" if ad.source == "moteur" else \
                ("Demander le prix" if draws[8] < 0.5 else "Prix non spécifié")
        elif draws[1] < faults.placeholder_price:
            changes["price_shown"] = "9 Dhs" if ad.source == "moteur" else "1 DH"
        if ad.source == "avito" and ad.seller_type == "shop" and ad.is_car and draws[2] < faults.financing:
            changes["monthly_payment_dh"] = int(round(ad.price_dh / 60 / 10) * 10)
        if ad.source == "avito" and ad.is_car and ad.year <= ad.posted_at.year - 6 and draws[3] < faults.mileage_buckets:
            changes["mileage_bucket"] = mileage_bucket(ad.mileage_km)
        if draws[4] < faults.deleted:
            changes["gone_status"] = 410 if draws[8] < 0.4 else 404
        if draws[5] < faults.price_drops and ad.price_dh >= 20_000:
            drop_at = ad.posted_at + dt.timedelta(hours=12 + draws[8] * 72)
            changes["price_history"] = ((drop_at, int(round(ad.price_dh * (0.9 + 0.07 * draws[6]) / 1000) * 1000)),)
        if ad.source == "avito" and draws[7] < faults.dom_only:
            changes["dom_only"] = True
        return _replace(ad, **changes) if changes else ad

    # ------------------------------------------------------------------ prices and status as of a moment

    @staticmethod
    def is_expired(ad: Listing, moment: dt.datetime) -> bool:
        """Moteur flags ads not renewed within EXPIRY_DAYS (they stay online with a warning)."""
        return ad.source == "moteur" and moment - ad.posted_at > dt.timedelta(days=EXPIRY_DAYS)

    @staticmethod
    def asking_price(ad: Listing, moment: dt.datetime) -> tuple[int, int | None]:
        """(current asking price, the one before it if it dropped) at `moment`."""
        price, old = ad.price_dh, None
        for changed_at, new_price in ad.price_history:
            if changed_at <= moment:
                price, old = new_price, price
        return price, old

    def _draw_year(self, rng: random.Random, source: str, model: catalog.CarModel, day: dt.date) -> int:
        # big premium cars reach the used market older (imported second-hand), small cars younger
        key = (source, model.brand, model.name, day.year)
        cached = self._year_cum.get(key)
        if cached is None:
            bias = _PROFILES[source].youth_bias - _OLDER_SEGMENTS.get(model.segment, 0.0)
            last = min(model.last_year or day.year, day.year)
            ages = [age for age in range(len(_AGE_WEIGHTS)) if model.first_year <= day.year - age <= last]
            cached = (last, ages, _cumulative(_AGE_WEIGHTS[age] * math.exp(-bias * age) for age in ages))
            self._year_cum[key] = cached
        last, ages, cum = cached
        if not ages:
            return last
        return day.year - _pick(rng, ages, cum)

    def _generate_listing(
        self, rng: random.Random, source: str, day: dt.date, listing_id: str, posted_at: dt.datetime
    ) -> Listing:
        brand = _pick(rng, catalog.BRANDS, self._brand_cum[source])
        model = _pick(rng, catalog.MODELS_BY_BRAND[brand.name], self._model_cum[brand.name])
        segment = catalog.SEGMENTS[model.segment]
        year = self._draw_year(rng, source, model, day)
        age = max(0.0, day.year - year + (day.timetuple().tm_yday / 365.0) - 0.5)

        if model.electric_only:
            fuel = "Electrique"
        elif year >= 2018 and rng.random() < model.hybrid_share:
            fuel = "Hybride"
        elif rng.random() < segment.diesel_share:
            fuel = "Diesel"
        elif source == "avito" and year < 2012 and rng.random() < 0.01:
            fuel = "LPG"
        else:
            fuel = "Essence"

        auto_probability = min(0.99, max(0.02, segment.auto_share + 0.04 + 0.025 * (year - 2020)))
        gearbox = "Automatique" if fuel in ("Hybride", "Electrique") or rng.random() < auto_probability \
            else "Manuelle"

        if age < 1.6 and rng.random() < 0.8:
            # nearly new cars: dealer stock and resales after a few weeks
            mileage = rng.choice((0, 0, 0, 5, 10, 50, 100, 500)) if rng.random() < 0.65 \
                else rng.randrange(1_000, 20_000)
        else:
            yearly_km = 17_000 * math.exp(rng.gauss(0, 0.4))
            mileage = int(max(age, 0.3) * yearly_km)
            rounding = rng.random()
            if rounding < 0.7:
                mileage = round(mileage, -3)
            elif rounding < 0.9:
                mileage = round(mileage / 500) * 500
        mileage = max(0, min(mileage, 600_000))

        if mileage < 1_000:
            condition = "Neuf"
        else:
            # sellers describe generously: two ads in three say Excellent, older and worn cars less often
            wear = rng.gauss(0, 1) + 0.05 * (age - 7) + (mileage - 110_000) / 700_000
            condition = (
                "Excellent" if wear < 0.41 else
                "Très bon" if wear < 1.40 else
                "Bon" if wear < 2.17 else
                "Correct" if wear < 2.6 else
                "Endommagé" if wear < 3.1 else
                "Pour Pièces"
            )

        first_owner = rng.random() < min(0.95, max(0.2, 0.88 - 0.03 * age))
        imported_share = 0.12 + (0.15 if model.segment in ("premium", "premium_suv", "luxury") else 0.0)
        draw = rng.random()
        if draw < 0.006:
            origin = "Pas encore dédouanée"
        elif draw < 0.006 + imported_share * (1.0 if age > 3 else 0.4):
            origin = "Dédouanée"
        elif draw < 0.006 + imported_share * 1.0 + (0.18 if age < 4 else 0.05):
            origin = "Importée neuve"
        else:
            origin = "WW au Maroc"

        fiscal_power = rng.choice(segment.fiscal_powers)
        if fuel == "Essence":
            fiscal_power += 1
        elif fuel == "Electrique":
            fiscal_power = 5
        doors = 3 if rng.random() < segment.three_door_share * (1.5 if year < 2012 else 0.6) else 5

        city = _pick(rng, catalog.CITIES, self._city_cum[source])
        sector = self._draw_sector(rng, source, city)

        premium = model.segment in ("premium", "premium_suv", "luxury")
        shop_share = _PROFILES[source].shop_share + (0.12 if premium else 0.0) + (0.08 if age < 3 else 0.0)
        if rng.random() < min(0.95, shop_share):
            dealers, cum = self._dealers_by_city[city.name]
            dealer = _pick(rng, dealers, cum)
            seller_type, seller_name, seller_phone = "shop", dealer.name, dealer.phone
        else:
            seller_type = "private"
            first = rng.choice(catalog.PRIVATE_FIRST_NAMES)
            seller_name = first if rng.random() < 0.6 else f"{first} {rng.choice(catalog.PRIVATE_LAST_INITIALS)}."
            seller_phone = rng.choice(("06", "07")) + "".join(rng.choice("0123456789") for _ in range(8))

        price = self._draw_price(
            rng, brand, model, age, mileage, condition, origin, seller_type, _PROFILES[source].price_factor
        )
        equipment = self._draw_equipment(rng, segment, year)
        if source == "avito":
            image_count = rng.randint(4, 12) if seller_type == "shop" else rng.randint(1, 8)
        else:
            image_count = rng.randint(4, 15)

        title = self._draw_title(rng, source, brand.name, model.name, year, fuel, gearbox, city.name)
        # the ad's URL needs its final id: _generate_day sets it (see _url_path)
        url_path = ""

        return Listing(
            source=source, listing_id=listing_id, url_path=url_path, title=title, brand=brand.name,
            model=model.name, year=year, mileage_km=mileage, fuel=fuel, gearbox=gearbox,
            fiscal_power=fiscal_power, doors=doors, origin=origin, condition=condition, first_owner=first_owner,
            city=city.name, sector=sector, seller_type=seller_type, seller_name=seller_name,
            seller_phone=seller_phone, price_dh=price, posted_at=posted_at, image_count=image_count,
            equipment=equipment,
        )

    @staticmethod
    def _draw_sector(rng: random.Random, source: str, city: catalog.City) -> str | None:
        if source != "avito":
            return None  # moteur has no sector field
        draw = rng.random()
        if draw < 0.10:
            return "Autre secteur"
        if draw < 0.14:
            return "Toute la ville"
        if city.sectors and draw < 0.92:
            return rng.choice(city.sectors)
        if draw < 0.2 or not city.sectors and draw < 0.5:
            return "Centre ville"
        return None if not city.sectors else rng.choice(city.sectors)

    @staticmethod
    def _draw_price(
        rng: random.Random, brand: catalog.Brand, model: catalog.CarModel, age: float, mileage: int,
        condition: str, origin: str, seller_type: str, price_factor: float,
    ) -> int:
        segment = catalog.SEGMENTS[model.segment]
        rate = max(0.02, segment.depreciation - brand.value_retention)
        value = model.new_price_dh * 0.88 * math.exp(-rate * age)
        expected_km = max(age, 0.5) * 17_000
        value *= math.exp(-(mileage - expected_km) / 400_000)
        value *= _CONDITION_VALUE[condition] * _ORIGIN_VALUE[origin]
        value *= price_factor * (1.04 if seller_type == "shop" else 1.0)
        value *= math.exp(rng.gauss(0, 0.12))
        value = max(value, 0.06 * model.new_price_dh, 12_000)
        step = 5_000 if value > 300_000 and rng.random() < 0.5 else 1_000 if value > 40_000 else 500
        return int(round(value / step) * step)

    @staticmethod
    def _draw_equipment(rng: random.Random, segment: catalog.Segment, year: int) -> tuple[str, ...]:
        if rng.random() < 0.12:
            return ()  # the seller ticked nothing
        draw = rng.random
        return tuple(label for label, share in _equipment_shares(segment.equipment_level, year) if draw() < share)

    @staticmethod
    def _draw_title(
        rng: random.Random, source: str, brand: str, model: str, year: int, fuel: str, gearbox: str, city: str
    ) -> str:
        if source == "moteur":
            return f"{catalog.moteur_brand_display(brand)} {model}"
        draw = rng.random()
        if draw < 0.35:
            return f"{brand} {model} {fuel} {gearbox} {year} à {city}"
        if draw < 0.55:
            return f"{brand} {model} {year}"
        if draw < 0.70:
            return f"{brand} {model}"
        if draw < 0.80:
            return f"{brand} {model} {fuel.lower()} {year}"
        if draw < 0.88:
            return f"{brand.upper()} {model.upper()} {year}"
        if draw < 0.95:
            return f"{model} {year} {rng.choice(catalog.TITLE_EXTRAS)}"
        return f"{brand} {model} {year} {rng.choice(catalog.TITLE_EXTRAS)}"
