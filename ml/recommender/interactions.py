"""Synthetic but believable user behaviour on the listings: personas, sessions and a view → favourite → contact funnel.

Each user has hidden preferences (a budget, two or three favourite brands, a fuel, a gearbox, a home
region and a taste for newer or older cars). Sessions happen on days of the data and only touch listings
that were active that day. Within a session the user searches (a favourite brand, or up to the budget,
or everything), scrolls past a random slice of the results and views the ones that suit them best, with
noise and a bias towards popular listings; some views become
favourites and some favourites become contacts. The hidden preferences are returned too, so tests can
check that recommendations recover them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

EVENTS = ("view", "favourite", "contact")


@dataclass(frozen=True)
class InteractionConfig:
    """The generator's knobs; the defaults give a few dozen events per user."""

    users: int = 2000
    seed: int = 7
    sessions_per_user: float = 3.0
    browse_pool: int = 250  # listings a user scrolls past in one session
    views_per_session: float = 5.0
    favourite_rate: float = 0.18  # of views, for a well-matching listing
    contact_rate: float = 0.35  # of favourites
    brand_search_rate: float = 0.5  # sessions that search one of the user's favourite brands
    budget_search_rate: float = 0.3  # sessions that search up to the user's budget
    popularity_bias: float = 0.4  # weight of an item's latent popularity in the utility
    noise: float = 0.6  # standard deviation of the utility noise


def _active_spans(listings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """First and last day (as day numbers) each listing was online."""
    first = pd.to_datetime(listings["posted_date"]).to_numpy("datetime64[D]").astype("int64")
    last = np.full(len(listings), first.max())
    if "last_seen_at" in listings:
        seen = pd.to_datetime(listings["last_seen_at"], utc=True).dt.tz_localize(None)
        last = np.where(seen.notna(), seen.to_numpy("datetime64[D]").astype("int64"), last)
    return first, np.maximum(first, last)


def generate_personas(listings: pd.DataFrame, config: InteractionConfig) -> pd.DataFrame:
    """One row per user with the hidden preferences the behaviour is drawn from."""
    rng = np.random.default_rng(config.seed)
    brand_share = listings["brand"].value_counts(normalize=True)
    regions = listings["region"].dropna().value_counts(normalize=True)
    fuels = listings["fuel"].dropna().value_counts(normalize=True)
    log_prices = np.log(listings["price_dh"].dropna().astype(float))
    # Budgets follow the market's own price spread, a little below its centre.
    budget_centre, budget_spread = log_prices.mean() + 0.1, log_prices.std()
    users = []
    for user in range(config.users):
        n_brands = rng.integers(2, 4)
        brands = rng.choice(brand_share.index, size=n_brands, replace=False, p=brand_share.to_numpy())
        users.append(
            {
                "user_id": f"u{user:06d}",
                "budget_dh": float(np.exp(rng.normal(budget_centre, budget_spread))),
                "preferred_brands": list(brands),
                "preferred_fuel": rng.choice(fuels.index, p=fuels.to_numpy()),
                "preferred_gearbox": rng.choice(["Manuelle", "Automatique"]),
                "home_region": rng.choice(regions.index, p=regions.to_numpy()) if len(regions) else None,
                "preferred_max_age": int(rng.choice([3, 6, 10, 20], p=[0.25, 0.35, 0.3, 0.1])),
            }
        )
    return pd.DataFrame(users)


@dataclass(frozen=True)
class ItemArrays:
    """The listing columns behaviour depends on, as arrays, so a session scores only the listings it sees."""

    brand: np.ndarray
    fuel: np.ndarray
    gearbox: np.ndarray
    region: np.ndarray
    price: np.ndarray
    age: np.ndarray

    @classmethod
    def of(cls, listings: pd.DataFrame, reference_year: int) -> "ItemArrays":
        return cls(
            brand=listings["brand"].to_numpy(object),
            fuel=listings["fuel"].to_numpy(object),
            gearbox=listings["gearbox"].to_numpy(object),
            region=listings["region"].to_numpy(object),
            price=listings["price_dh"].fillna(listings["price_dh"].median()).to_numpy(float),
            age=reference_year - listings["model_year"].fillna(reference_year - 8).to_numpy(float),
        )


def persona_affinity(items: ItemArrays, persona, subset: np.ndarray) -> np.ndarray:
    """How well the listings in `subset` suit a persona, before noise and popularity (higher is better)."""
    price = items.price[subset]
    over_budget = np.clip(np.log(price / persona.budget_dh), 0, None)
    under_budget = np.clip(np.log(persona.budget_dh / price), 0, None)
    return (
        2.0 * np.isin(items.brand[subset], persona.preferred_brands)
        + 0.8 * (items.fuel[subset] == persona.preferred_fuel)
        + 0.5 * (items.gearbox[subset] == persona.preferred_gearbox)
        + 0.7 * (items.region[subset] == persona.home_region)
        - 3.0 * over_budget
        - 0.8 * under_budget
        - 0.15 * np.clip(items.age[subset] - persona.preferred_max_age, 0, None)
    )


def generate_interactions(listings: pd.DataFrame, config: InteractionConfig = InteractionConfig()) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Personas and their events (user_id, listing_key, event, ts), seeded and reproducible."""
    listings = listings.reset_index(drop=True)
    rng = np.random.default_rng(config.seed + 1)
    personas = generate_personas(listings, config)
    first, last = _active_spans(listings)
    days = np.arange(first.min(), last.max() + 1)
    reference_year = int(pd.to_datetime(listings["posted_date"]).dt.year.max())
    # Some listings draw more attention than their features explain (photos, placement).
    popularity = rng.gumbel(0.0, 1.0, size=len(listings))
    keys = listings["listing_key"].to_numpy()
    items = ItemArrays.of(listings, reference_year)
    online_by_day = {int(day): (first <= day) & (last >= day) for day in days}
    online_items_by_day: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # positions and prices, as days are drawn
    items_by_brand = {brand: np.flatnonzero(items.brand == brand) for brand in pd.unique(items.brand)}

    events: list[tuple] = []
    for persona in personas.itertuples(index=False):
        for day in rng.choice(days, size=max(1, rng.poisson(config.sessions_per_user)), replace=True):
            online = online_by_day[int(day)]
            if int(day) not in online_items_by_day:
                online_items = np.flatnonzero(online)
                # a day's prices gathered once, not once per budget search (2 ms each at a million listings)
                online_items_by_day[int(day)] = online_items, items.price[online_items]
            online_items, online_prices = online_items_by_day[int(day)]
            # Buyers search before they browse: most sessions filter on a favourite brand or the budget.
            mode = rng.random()
            if mode < config.brand_search_rate:
                brand_items = items_by_brand.get(rng.choice(persona.preferred_brands), np.array([], dtype=int))
                results = brand_items[online[brand_items]]
            elif mode < config.brand_search_rate + config.budget_search_rate:
                results = online_items[online_prices <= persona.budget_dh * 1.1]
            else:
                results = online_items
            if results.size == 0:
                results = online_items
                if results.size == 0:
                    continue
            # Sampling with replacement and dropping repeats is O(pool), not O(results), on big markets.
            pool = np.unique(results[rng.integers(0, results.size, size=min(config.browse_pool, results.size))])
            affinity = persona_affinity(items, persona, pool)
            utility = affinity + config.popularity_bias * popularity[pool] + rng.normal(0, config.noise, pool.size)
            n_views = min(pool.size, max(1, rng.poisson(config.views_per_session)))
            order = np.argsort(-utility)[:n_views]
            viewed = pool[order]
            match = 1.0 / (1.0 + np.exp(-affinity[order]))  # well-matching cars are saved more often
            saved = viewed[rng.random(viewed.size) < config.favourite_rate * 2 * match]
            contacted = saved[rng.random(saved.size) < config.contact_rate]
            base = np.datetime64(int(day), "D").astype("datetime64[s]") + rng.integers(8 * 3600, 23 * 3600)
            for offset, (event, chosen) in enumerate((("view", viewed), ("favourite", saved), ("contact", contacted))):
                for rank, item in enumerate(chosen):
                    events.append((persona.user_id, keys[item], event, base + offset * 600 + rank * 30))
    interactions = pd.DataFrame(events, columns=["user_id", "listing_key", "event", "ts"])
    interactions["ts"] = pd.to_datetime(interactions["ts"], utc=True)
    return personas, interactions.sort_values(["ts", "user_id"]).reset_index(drop=True)
