"""A small served world without training: an active version, related lists by hand,
one shopper's precomputed list. Kitchen products are each other's neighbours, and so
are garden products; nothing links the two."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from recommendations.models import Interaction, ModelVersion, RelatedProducts, UserRecommendations
from shop.models import Product
from tests.factories import CategoryFactory, ProductFactory, UserFactory


@dataclass
class World:
    version: ModelVersion
    kitchen: list[Product]
    garden: list[Product]
    user: object
    personal: list[Product]  # the user's precomputed list (garden first)


def build_world(n: int = 8) -> World:
    """Two categories of ``n`` products, related lists of one version, one user's list."""
    kitchen_cat = CategoryFactory(name="Kitchen", slug="kitchen")
    garden_cat = CategoryFactory(name="Garden", slug="garden")
    kitchen = [
        ProductFactory(
            name=f"Kettle {i}", category=kitchen_cat, brand="Hearth", price=Decimal(10 + i)
        )
        for i in range(n)
    ]
    garden = [
        ProductFactory(
            name=f"Trowel {i}", category=garden_cat, brand="Verde", price=Decimal(20 + i)
        )
        for i in range(n)
    ]
    version = ModelVersion.objects.create(
        algorithm="cooccurrence", status=ModelVersion.Status.ACTIVE, activated=timezone.now()
    )
    rows = []
    for group in (kitchen, garden):
        for p in group:
            others = [q for q in group if q.pk != p.pk]
            for kind in ("similar", "also_viewed", "bought_together"):
                ordered = others if kind != "bought_together" else others[::-1]
                rows.append(
                    RelatedProducts(
                        version=version,
                        product=p,
                        kind=kind,
                        product_ids=[q.pk for q in ordered],
                        scores=[round(1.0 - i / 10, 3) for i in range(len(ordered))],
                    )
                )
    RelatedProducts.objects.bulk_create(rows)
    user = UserFactory(username="listed")
    personal = garden[:6] + kitchen[:2]
    UserRecommendations.objects.create(
        version=version,
        user=user,
        product_ids=[p.pk for p in personal],
        scores=[1.0 - i / 10 for i in range(len(personal))],
        reasons=["Popular in Garden"] * 6 + ["Trending now"] * 2,
    )
    # Recent popularity: garden products are trending, the first ones most.
    t = timezone.now() - timedelta(days=1)
    events = [
        Interaction(anonymous_id=f"crowd{j}", product=p, kind="view", created=t)
        for i, p in enumerate(garden + kitchen)
        for j in range(2 * n - i)
    ]
    Interaction.objects.bulk_create(events)
    return World(version=version, kitchen=kitchen, garden=garden, user=user, personal=personal)
