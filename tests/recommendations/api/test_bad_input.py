"""Bad input answers 4xx, never a 500: deep JSON, out-of-range numbers in fields."""

from __future__ import annotations

import json

import pytest

from recommendations.api.parsers import MAX_DEPTH, deeper_than
from recommendations.models import Interaction, ModelVersion

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 100_000])
def test_deeply_nested_json_is_a_400(anon, depth):
    body = "[" * depth + "]" * depth
    response = anon.post("/api/events/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested deeper than 32" in response.json()["detail"]


def test_json_at_the_depth_limit_is_parsed(anon):
    body = json.dumps({"a": [[{"b": 1}]]})  # 4 levels, then the usual field errors
    response = anon.post("/api/events/", body, content_type="application/json")
    assert response.status_code == 400 and "errors" in response.json()


def test_deeper_than():
    nested: list = []
    for _ in range(5):
        nested = [nested, 1, {"x": "y"}]
    assert deeper_than(nested, 6) is False  # six lists, the innermost empty
    assert deeper_than(nested, 5) is True
    assert deeper_than({"a": {"b": {}}}, 3) is False
    assert deeper_than({"a": {"b": {}}}, 2) is True
    assert deeper_than("scalar", 0) is False


@pytest.mark.parametrize("digits", [19, 23, 80])
def test_a_version_number_too_large_for_the_database_credits_nothing(as_alice, catalogue, digits):
    source = "rec:for-you:v" + "9" * digits
    body = {"product": catalogue[0].pk, "kind": "click", "source": source}
    response = as_alice.post("/api/events/", body, format="json")
    assert response.status_code == 201
    assert Interaction.objects.get().model_version is None


def test_eighteen_digits_still_parse(as_alice, catalogue):
    version = ModelVersion.objects.create(algorithm="popularity")
    for source in (f"rec:for-you:v{version.pk:018d}", "rec:for-you:v" + "9" * 18):
        body = {"product": catalogue[0].pk, "kind": "view", "source": source}
        assert as_alice.post("/api/events/", body, format="json").status_code == 201


def test_a_product_link_with_a_huge_version_number_is_a_page(client, catalogue):
    response = client.get(catalogue[0].get_absolute_url(), {"src": "rec:x:v" + "9" * 23})
    assert response.status_code == 200
    assert Interaction.objects.get(kind="view").model_version is None
