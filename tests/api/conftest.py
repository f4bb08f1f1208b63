"""Fixtures for the API tests: shoppers A and B, staff, their token clients, products."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.factories import CategoryFactory, ProductFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_throttles(settings):
    """Throttle counters live in the cache: start every test from zero, at generous rates."""
    settings.API_THROTTLE_RATES = {"anon": "10000/min", "user": "10000/min"}
    cache.clear()
    yield
    cache.clear()


def token_client(user) -> APIClient:
    """A client that sends ``user``'s API token."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob")


@pytest.fixture
def staff(db):
    return UserFactory(username="operator", is_staff=True)


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def as_alice(alice) -> APIClient:
    return token_client(alice)


@pytest.fixture
def as_bob(bob) -> APIClient:
    return token_client(bob)


@pytest.fixture
def as_staff(staff) -> APIClient:
    return token_client(staff)


@pytest.fixture
def kitchen(db):
    return CategoryFactory(name="Kitchen", slug="kitchen")


@pytest.fixture
def garden(db):
    return CategoryFactory(name="Garden", slug="garden")


@pytest.fixture
def catalogue(kitchen, garden):
    """Twelve in-stock products over two categories, prices 1..12, plus one inactive."""
    products = [
        ProductFactory(
            name=f"{'Kettle' if i % 2 else 'Spade'} {i:02d}",
            sku=f"P-{i:02d}",
            category=kitchen if i % 2 else garden,
            price=Decimal(i),
            stock=5,
        )
        for i in range(1, 13)
    ]
    ProductFactory(name="Retired Kettle", sku="P-OLD", category=kitchen, active=False)
    return products
