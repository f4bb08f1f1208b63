"""Fixtures for the storefront tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.dispatch import Signal

from tests.factories import CategoryFactory, ProductFactory


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """The home page caches best-seller ids; start every test from a clean cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def category(db):
    """A category with a description."""
    return CategoryFactory(name="Kitchen", slug="kitchen", description="Things for cooking.")


@pytest.fixture
def product(category):
    """An in-stock product with 5 units."""
    return ProductFactory(
        name="Blue Enamel Mug",
        slug="blue-enamel-mug",
        category=category,
        brand="Hearth",
        price=Decimal("8.50"),
        stock=5,
        description="A sturdy mug for tea.",
    )


@pytest.fixture
def signal_calls() -> Callable:
    """``with signal_calls(sig) as calls:`` records the kwargs of every send."""

    @contextmanager
    def record(signal: Signal) -> Iterator[list[dict]]:
        calls: list[dict] = []

        def receiver(sender, **kwargs):
            calls.append({"sender": sender, **kwargs})

        signal.connect(receiver, weak=False, dispatch_uid=f"test-{id(calls)}")
        try:
            yield calls
        finally:
            signal.disconnect(dispatch_uid=f"test-{id(calls)}")

    return record


def cart_of(client) -> dict:
    """The raw cart stored in the test client's session."""
    return dict(client.session.get("cart", {}))


def messages_of(response) -> list[str]:
    """Flash messages rendered on a (followed) response."""
    return [str(m) for m in response.context["messages"]] if response.context else []
