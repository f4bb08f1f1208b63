"""Precompute what will be read: lists only for recently active shoppers and products
(RECS_PRECOMPUTE_ACTIVE_DAYS); everyone else is served live (issue #26)."""

from datetime import timedelta

import numpy as np
import pytest

from recommendations import serving
from recommendations.models import Interaction, ModelVersion, RelatedProducts, UserRecommendations
from recommendations.training import pipeline
from recommendations.training.dataset import KIND_CODES, build_dataset
from recommendations.training.precompute import active_columns, active_rows
from shop.models import Product
from tests.factories import ProductFactory, UserFactory
from tests.recommendations.training.pipeline_support import seed_log

DAY = 86400.0
VIEW = KIND_CODES["view"]


def _log():
    """Shopper "a" last seen 200 days before the newest event, "b" 10 days, "c" now."""
    return build_dataset(
        np.array(["a", "a", "b", "c"], dtype=object),
        np.array([1, 2, 2, 3]),
        np.full(4, VIEW),
        np.array([0.0, 100.0, 190 * DAY, 200 * DAY]),
        item_ids=np.array([1, 2, 3, 4]),
    )


def test_only_shoppers_active_within_the_window_are_planned():
    data = _log()
    assert data.user_keys[active_rows(data, 180)].tolist() == ["b", "c"]
    assert data.user_keys[active_rows(data, 365)].tolist() == ["a", "b", "c"]
    assert active_rows(data, 0).tolist() == [2]  # the newest event's shopper only


def test_products_with_recent_events_or_recently_created_are_planned():
    data = _log()
    # Item 1 was last seen 200 days ago; item 4 has no events at all.
    assert data.item_ids[active_columns(data, 180, np.array([], dtype=np.int64))].tolist() == [2, 3]
    assert data.item_ids[active_columns(data, 180, np.array([4]))].tolist() == [2, 3, 4]


@pytest.mark.django_db
def test_a_shopper_outside_the_window_gets_no_list_but_is_served(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PRECOMPUTE_ACTIVE_DAYS": 180}
    seeded = seed_log()
    old_product = ProductFactory(name="Long gone favourite")
    dormant = UserFactory(username="dormant")
    long_ago = seeded["start"] - timedelta(days=400)
    Product.objects.filter(pk=old_product.pk).update(created=long_ago)  # not new either
    for product in (old_product, seeded["groups"][0][0], seeded["groups"][0][1]):
        Interaction.objects.create(user=dormant, product=product, kind="view", created=long_ago)

    result = pipeline.run_pipeline(algorithms=["cooccurrence"])

    version = ModelVersion.objects.get(pk=result.winner.pk)
    assert version.status == ModelVersion.Status.ACTIVE
    lists = UserRecommendations.objects.filter(version=version)
    assert not lists.filter(user=dormant).exists()
    assert lists.filter(user=seeded["users"][0]).exists()
    related = RelatedProducts.objects.filter(version=version)
    assert not related.filter(product=old_product).exists()
    assert related.filter(product=seeded["groups"][0][0]).exists()
    served = serving.recommend(serving.Shopper(user_id=dormant.pk), "for-you", limit=5)
    assert len(served.items) == 5  # from the live path: recent items and trending
