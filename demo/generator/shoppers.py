"""Shoppers: names and accounts plus the latent tastes their behaviour follows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalogue import Catalogue
from .vocab import FIRST_NAMES, LAST_NAMES, STREETS, TOWNS

DEMO_EMAIL_DOMAIN = "demo.example.com"  # marks demo shoppers, so --reset finds them


@dataclass
class Shoppers:
    """Shoppers as parallel arrays/lists (index = position)."""

    username: list[str]
    first_name: list[str]
    last_name: list[str]
    email: list[str]
    address: list[str]
    category_cum: np.ndarray  # (n, categories) cumulative session-category weights
    top_categories: np.ndarray  # (n, 3) preferred categories, strongest first
    brand_pref: np.ndarray  # (n, categories) preferred global brand id per category
    loyalty: np.ndarray  # how strongly the preferred brand pulls
    sensitivity: np.ndarray  # > 0 prefers cheaper products, < 0 pricier
    activity: np.ndarray  # relative number of sessions

    def __len__(self) -> int:
        return len(self.username)


def build_shoppers(
    rng: np.random.Generator, n_users: int, catalogue: Catalogue, taken: set[str] = frozenset()
) -> Shoppers:
    """Generate ``n_users`` shoppers with 2-3 favourite categories each."""
    usernames, firsts, lasts, emails, addresses = _identities(rng, n_users, taken)
    n_cat = len(catalogue.specs)
    weights, top = _category_tastes(rng, n_users, n_cat)
    brands_per_cat = np.bincount(catalogue.brand_category, minlength=n_cat)
    brand_base = np.concatenate(([0], np.cumsum(brands_per_cat)[:-1]))
    brand_pref = brand_base[None, :] + (
        rng.random((n_users, n_cat)) * brands_per_cat[None, :]
    ).astype(np.int64)

    return Shoppers(
        username=usernames,
        first_name=firsts,
        last_name=lasts,
        email=emails,
        address=addresses,
        category_cum=np.cumsum(weights, axis=1),
        top_categories=top,
        brand_pref=brand_pref,
        loyalty=rng.beta(2.0, 3.0, n_users) * 2.5,
        sensitivity=rng.normal(0.3, 0.8, n_users),
        activity=rng.lognormal(0.0, 1.0, n_users),
    )


def _identities(
    rng: np.random.Generator, n_users: int, taken: set[str]
) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    """(usernames, first names, last names, emails, postal addresses); usernames are
    unique and avoid ``taken``."""
    first_idx = rng.integers(0, len(FIRST_NAMES), n_users).tolist()
    last_idx = rng.integers(0, len(LAST_NAMES), n_users).tolist()
    street_idx = rng.integers(0, len(STREETS), n_users).tolist()
    town_idx = rng.integers(0, len(TOWNS), n_users).tolist()
    house = rng.integers(1, 180, n_users).tolist()
    postcode = rng.integers(0, 26 * 26 * 100, n_users).tolist()
    usernames, firsts, lasts, emails, addresses = [], [], [], [], []
    used = set(taken)
    suffix: dict[str, int] = {}
    for i in range(n_users):
        first, last = FIRST_NAMES[first_idx[i]], LAST_NAMES[last_idx[i]]
        base = f"{first}.{last}".lower().replace("'", "")
        username = base
        while username in used:
            suffix[base] = suffix.get(base, 1) + 1
            username = f"{base}{suffix[base]}"
        used.add(username)
        usernames.append(username)
        firsts.append(first)
        lasts.append(last)
        emails.append(f"{username}@{DEMO_EMAIL_DOMAIN}")
        p = postcode[i]
        addresses.append(
            f"{house[i]} {STREETS[street_idx[i]]}\n{TOWNS[town_idx[i]]} "
            f"{chr(65 + p // 2600)}{chr(65 + p // 100 % 26)}{p % 100} {p % 9 + 1}"
            f"{chr(65 + p % 23)}{chr(65 + p % 19)}"
        )
    return usernames, firsts, lasts, emails, addresses


def _category_tastes(
    rng: np.random.Generator, n_users: int, n_cat: int
) -> tuple[np.ndarray, np.ndarray]:
    """(session-category weights, top 3 favourite categories) per shopper: 2 or 3
    favourites take 88% of sessions; popular categories are favoured more often."""
    cat_pop = rng.dirichlet(np.full(n_cat, 3.0))
    keys = np.log(cat_pop)[None, :] + rng.gumbel(size=(n_users, n_cat))
    top = np.argsort(-keys, axis=1)[:, : min(3, n_cat)]
    n_fav = np.where(rng.random(n_users) < 0.5, 2, 3)
    n_fav = np.minimum(n_fav, top.shape[1])
    weights = np.full((n_users, n_cat), 0.12 / n_cat)
    fav_share = rng.dirichlet([4.0, 2.5, 1.5], n_users)[:, : top.shape[1]]
    fav_share[np.arange(top.shape[1])[None, :] >= n_fav[:, None]] = 0.0
    fav_share = 0.88 * fav_share / fav_share.sum(axis=1, keepdims=True)
    np.add.at(weights, (np.arange(n_users)[:, None], top), fav_share)
    top = np.pad(top, ((0, 0), (0, 3 - top.shape[1])), mode="edge")
    return weights, top
