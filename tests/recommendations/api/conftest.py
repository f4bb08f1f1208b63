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


@pytest.fixture
def no_diversity(settings):
    """Lists in plain score order (the diversity re-ranking is tested with serving)."""
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "DIVERSITY": 0.0}


@pytest.fixture
def served_lists(catalogue, alice, bob, staff, no_diversity):
    """An active version with precomputed lists: alice gets products 1-6, bob 7-12;
    similar-to-product-1 is 2, 3, 4; other shoppers' views make 9-12 trending."""
    from django.utils import timezone

    from recommendations.models import (
        Interaction,
        ModelVersion,
        RelatedProducts,
        UserRecommendations,
    )

    version = ModelVersion.objects.create(
        algorithm="cooccurrence", status=ModelVersion.Status.ACTIVE, activated=timezone.now()
    )
    for user, products in ((alice, catalogue[:6]), (bob, catalogue[6:])):
        UserRecommendations.objects.create(
            version=version,
            user=user,
            product_ids=[p.pk for p in products],
            scores=[1.0 - i / 10 for i in range(len(products))],
            reasons=[f"Because you viewed {products[0].name}"] * len(products),
        )
    RelatedProducts.objects.create(
        version=version,
        product=catalogue[0],
        kind="similar",
        product_ids=[p.pk for p in catalogue[1:4]],
        scores=[0.9, 0.8, 0.7],
    )
    now = timezone.now()
    for n, product in enumerate(catalogue[8:]):
        for i in range(n + 1):
            Interaction.objects.create(
                product=product, kind="view", anonymous_id=f"crowd{i}", created=now
            )
    return version
