"""GET /api/products/ and /api/products/{id}/: filters, search, ordering, pagination."""

import pytest

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    return [p["name"] for p in response.json()["results"]]


def test_list_is_paginated_active_products_by_name(anon, catalogue):
    response = anon.get("/api/products/", {"page_size": 5})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 12  # the inactive product is not listed
    assert names(response) == ["Kettle 01", "Kettle 03", "Kettle 05", "Kettle 07", "Kettle 09"]
    assert body["next"].endswith("page=2&page_size=5")
    assert len(anon.get("/api/products/", {"page": 3, "page_size": 5}).json()["results"]) == 2


def test_item_shape(anon, catalogue):
    item = anon.get("/api/products/", {"page_size": 1}).json()["results"][0]
    product = catalogue[0]
    assert item == {
        "id": product.pk,
        "sku": "P-01",
        "name": "Kettle 01",
        "slug": product.slug,
        "brand": product.brand,
        "price": "1.00",
        "category": "kitchen",
        "url": f"http://testserver/products/{product.slug}/",
        "image_url": item["image_url"],
        "in_stock": True,
    }
    assert item["image_url"].startswith(f"http://testserver/products/{product.slug}/image.svg?v=")


def test_page_size_is_capped_at_100(anon, catalogue):
    assert len(anon.get("/api/products/", {"page_size": 10_000}).json()["results"]) == 12


def test_category_filter_and_price_ordering(anon, catalogue):
    response = anon.get("/api/products/", {"category": "garden", "ordering": "-price"})
    assert names(response) == [f"Spade {i:02d}" for i in (12, 10, 8, 6, 4, 2)]


def test_search_uses_the_shops_search(anon, catalogue):
    response = anon.get("/api/products/", {"q": "spade"})
    assert response.status_code == 200
    assert sorted(names(response)) == [f"Spade {i:02d}" for i in (2, 4, 6, 8, 10, 12)]
    assert anon.get("/api/products/", {"q": "spade", "category": "kitchen"}).json()["count"] == 0


def test_detail_has_description_and_inactive_is_404(anon, catalogue):
    product = catalogue[3]
    body = anon.get(f"/api/products/{product.pk}/").json()
    assert body["id"] == product.pk and body["description"] == product.description
    retired = type(product).objects.get(sku="P-OLD")
    assert anon.get(f"/api/products/{retired.pk}/").status_code == 404
    assert anon.get("/api/products/999999/").status_code == 404


@pytest.mark.parametrize(
    "query, field",
    [
        ({"category": "no-such"}, "category"),
        ({"category": "bad slug!"}, "category"),
        ({"ordering": "stock"}, "ordering"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_query_is_400_with_the_field(anon, catalogue, query, field):
    response = anon.get("/api/products/", query)
    assert response.status_code == 400
    assert field in response.json()


def test_page_out_of_range_is_404(anon, catalogue):
    assert anon.get("/api/products/", {"page": 99}).status_code == 404
