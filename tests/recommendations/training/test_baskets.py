"""Baskets inferred for purchases logged without an order key (item 4 of issue #14)."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from recommendations.models import Interaction, ModelVersion, RelatedProducts
from recommendations.training import pipeline
from recommendations.training.dataset import KIND_CODES, build_dataset, infer_baskets
from tests.factories import ProductFactory, UserFactory

VIEW, PURCHASE = KIND_CODES["view"], KIND_CODES["purchase"]


def test_purchases_close_in_time_form_one_basket_per_shopper():
    users = np.array([0, 0, 0, 0, 1, 1])
    kinds = np.array([PURCHASE, PURCHASE, VIEW, PURCHASE, PURCHASE, PURCHASE])
    times = np.array([0.0, 600.0, 700.0, 90_000.0, 0.0, 100.0])
    keys = infer_baskets(users, kinds, times, None, window_seconds=3600)
    assert keys[0] == keys[1] != keys[3]  # same shopper: 10 min apart vs a day later
    assert keys[2] == -1  # views have no basket
    assert keys[4] == keys[5] and keys[4] != keys[0]  # another shopper, another basket
    given = infer_baskets(users, kinds, times, np.array(["o1", "", "", "", "", ""]), 3600)
    assert given[0] == 0 and given[1] not in (-1, 0)  # "o1" is order 0; a new one


def test_dataset_without_basket_column_gets_basket_rows():
    data = build_dataset(
        np.array(["a", "a", "b", "b"], dtype=object),
        np.array([1, 2, 1, 3]),
        np.full(4, PURCHASE),
        np.array([0.0, 60.0, 0.0, 10_000.0]),
    )
    assert data.baskets.shape[0] == 3  # a: {1, 2}; b: {1}, {3} (hours apart)
    off = build_dataset(
        np.array(["a", "a"], dtype=object),
        np.array([1, 2]),
        np.full(2, PURCHASE),
        np.array([0.0, 60.0]),
        basket_window_seconds=0,
    )
    assert off.baskets.shape[0] == 0


@pytest.mark.django_db
def test_purchases_without_baskets_give_bought_together_lists():
    products = [ProductFactory(name=f"Item {i}") for i in range(6)]
    start = timezone.now() - timedelta(days=3)
    rows = []
    for u in range(12):
        user = UserFactory(username=f"buyer{u}")
        pair = products[:2] if u % 2 else products[2:4]
        t = start + timedelta(hours=3 * u)
        for step, product in enumerate([*pair, products[4 + u % 2]]):
            rows.append(
                Interaction(
                    user=user, product=product, kind="view", created=t + timedelta(minutes=step)
                )
            )
        for step, product in enumerate(pair):  # one order, logged without a basket key
            rows.append(
                Interaction(
                    user=user,
                    product=product,
                    kind="purchase",
                    created=t + timedelta(minutes=10 + step),
                )
            )
    Interaction.objects.bulk_create(rows)
    assert not Interaction.objects.exclude(basket="").exists()

    result = pipeline.run_pipeline(algorithms=["popularity"], sync=True, tune=False)
    version = ModelVersion.objects.get(pk=result.winner.pk)
    assert version.status == ModelVersion.Status.ACTIVE
    together = RelatedProducts.objects.get(
        version=version, product=products[0], kind=RelatedProducts.Kind.BOUGHT_TOGETHER
    )
    assert together.product_ids[0] == products[1].pk
    assert products[2].pk not in together.product_ids  # never in the same basket
