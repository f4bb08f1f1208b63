"""Retiring a version deletes its lists in bounded statements, never one huge DELETE."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommendations import registry
from recommendations.models import ModelVersion, RelatedProducts, UserRecommendations
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def _lists(version, first, n):
    UserRecommendations.objects.bulk_create(
        UserRecommendations(version=version, anonymous_id=f"guest{i}")
        for i in range(first, first + n)
    )


def test_rows_are_deleted_in_batches_of_bounded_id_ranges():
    old = ModelVersion.objects.create(algorithm="popularity")
    kept = ModelVersion.objects.create(algorithm="popularity")
    _lists(old, 0, 12)
    _lists(kept, 0, 5)  # interleaved ids of another version must survive
    _lists(old, 12, 13)
    product = ProductFactory()
    RelatedProducts.objects.create(version=old, product=product, kind="similar")

    with CaptureQueriesContext(connection) as queries:
        deleted = registry.delete_rows(old.pk, batch=10)

    assert deleted == 26
    assert not UserRecommendations.objects.filter(version=old).exists()
    assert not RelatedProducts.objects.filter(version=old).exists()
    assert UserRecommendations.objects.filter(version=kept).count() == 5
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) >= 4  # 25 user rows over 30 ids: at least 3 ranges, plus related
    assert all('"id" >=' in sql and '"id" <' in sql for sql in deletes)


def test_a_version_without_rows_issues_no_delete():
    version = ModelVersion.objects.create(algorithm="popularity")
    with CaptureQueriesContext(connection) as queries:
        assert registry.delete_rows(version.pk) == 0
    assert not [q for q in queries.captured_queries if q["sql"].startswith("DELETE")]
