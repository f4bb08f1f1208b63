"""The reason texts shown under a recommended product, in one place.

Pure strings: precompute writes them into lists and serving makes them at render
time, so neither imports the other (this module imports nothing of theirs).
"""

from __future__ import annotations

TRENDING = "Trending now"


def names_recent_product(reason: str) -> bool:
    """Whether ``reason`` explains an item by a product the shopper viewed, carted or
    bought (what serving blends in from their recent products)."""
    return reason.startswith(_RECENT_PREFIXES)


def because_viewed(name: str) -> str:
    """The shopper viewed ``name`` and the item is among its strong neighbours."""
    return f"Because you viewed {name}"


def because_added(name: str) -> str:
    """The shopper just put ``name`` in the cart."""
    return f"Because you added {name} to your cart"


def because_bought(name: str) -> str:
    """The shopper bought ``name``."""
    return f"Because you bought {name}"


def popular_in(category: str) -> str:
    """A popular item of a category the shopper (or the page) has shown interest in."""
    return f"Popular in {category}"


def new_in(category: str) -> str:
    """A recent product of the category a request asked for (its filters left the list
    short of popular items)."""
    return f"New in {category}"


def similar_to(name: str) -> str:
    """A neighbour of the page's product ``name``."""
    return f"Similar to {name}"


def bought_with(name: str) -> str:
    """Often in the same order as ``name``."""
    return f"Bought together with {name}"


def viewed_with(name: str) -> str:
    """Often viewed in the same session as ``name``."""
    return f"Often viewed with {name}"


SHORT_NAME = 32  # characters a reason may spend on a product's name


def short_name(name: str, brand: str = "") -> str:
    """The name as a reason says it: without the leading brand and the ", pack size"
    or ", colour" tail, cut at a word (with "…") past SHORT_NAME characters."""
    short = name.split(", ", 1)[0].strip()
    if brand and short.startswith(f"{brand} ") and len(short) > len(brand) + 1:
        short = short[len(brand) + 1 :]
    if len(short) <= SHORT_NAME:
        return short
    cut = short[: SHORT_NAME + 1].rsplit(" ", 1)[0] if " " in short[:SHORT_NAME] else ""
    return (cut or short[:SHORT_NAME]).rstrip(" ,-") + "…"


# What the "because you …" reasons start with, before the product's name.
_RECENT_PREFIXES = tuple(
    text("\0").split("\0")[0] for text in (because_viewed, because_added, because_bought)
)
