"""Pure generation of a whole demo shop (no database): same seed, same shop."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .behaviour import Events, Orders, simulate
from .catalogue import DAY, Catalogue, build_catalogue
from .shoppers import Shoppers, build_shoppers
from .vocab import CATEGORIES


@dataclass(frozen=True)
class DemoOptions:
    """Sizes of a demo shop; defaults are what `make demo` builds."""

    seed: int = 42
    products: int = 600
    categories: int = 12
    users: int = 250
    interactions: int = 25_000
    days: int = 90

    def validate(self) -> None:
        """Raise ValueError naming the first option that cannot work."""
        if not 1 <= self.categories <= len(CATEGORIES):
            raise ValueError(f"--categories must be between 1 and {len(CATEGORIES)}")
        if self.products < self.categories:
            raise ValueError("--products must be at least --categories")
        if self.products > 999_999 * self.categories:
            raise ValueError("--products is too large for six-digit SKUs")
        if self.users < 1:
            raise ValueError("--users must be at least 1")
        if self.interactions < 0:
            raise ValueError("--interactions must not be negative")
        if not 1 <= self.days <= 3650:
            raise ValueError("--days must be between 1 and 3650")
        if not 0 <= self.seed < 2**63:
            raise ValueError("--seed must be a non-negative integer")


@dataclass
class DemoShop:
    """Everything to write, with times in seconds relative to the window start."""

    options: DemoOptions
    catalogue: Catalogue
    shoppers: Shoppers
    events: Events
    orders: Orders
    session_keys: np.ndarray  # 32-hex-digit key per session index
    joined: np.ndarray  # shopper sign-up time
    last_login: np.ndarray  # NaN if the shopper never came back
    order_status: np.ndarray  # "placed" / "shipped" / "cancelled"


def generate(options: DemoOptions, taken_usernames: set[str] = frozenset()) -> DemoShop:
    """Build a demo shop in memory. Independent random streams per part, so changing the
    number of interactions leaves the products and shoppers unchanged."""
    options.validate()
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(options.seed).spawn(4)]
    cat_rng, shop_rng, event_rng, misc_rng = streams
    catalogue = build_catalogue(cat_rng, options.products, options.categories, options.days)
    shoppers = build_shoppers(shop_rng, options.users, catalogue, taken_usernames)
    events, orders = simulate(event_rng, catalogue, shoppers, options.interactions, options.days)

    n_sessions = int(events.session.max()) + 1 if len(events) else 0
    raw = misc_rng.bytes(16 * n_sessions).hex()
    session_keys = np.array([raw[i * 32 : (i + 1) * 32] for i in range(n_sessions)], dtype="U32")

    window = options.days * DAY
    first = np.full(len(shoppers), np.inf)
    last = np.full(len(shoppers), -np.inf)
    np.minimum.at(first, events.user, events.time)
    np.maximum.at(last, events.user, events.time)
    never = ~np.isfinite(first)
    joined = np.where(
        never,
        misc_rng.uniform(-120 * DAY, window, len(shoppers)),
        first - misc_rng.uniform(1 * DAY, 120 * DAY, len(shoppers)),
    )
    last_login = np.where(never, np.nan, last)

    age = window - orders.time
    status = np.where(age < 3 * DAY, "placed", "shipped").astype("U9")
    status[misc_rng.random(len(orders)) < 0.02] = "cancelled"
    return DemoShop(
        options=options,
        catalogue=catalogue,
        shoppers=shoppers,
        events=events,
        orders=orders,
        session_keys=session_keys,
        joined=joined,
        last_login=last_login,
        order_status=status,
    )
