"""The hand-written representations answer exactly what DRF's field machinery did, and
the list endpoints stay within a fixed number of queries."""

import pytest
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from recommendations.api.serializers import (
    PageSerializer,
    ProductDetailSerializer,
    ProductSerializer,
    RecommendationListSerializer,
)
from recommendations.serving.types import Served, ServedItem
from shop.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def generic(serializer_class, instance, context):
    """What the declared fields give through DRF's own Serializer.to_representation."""
    return serializers.Serializer.to_representation(serializer_class(context=context), instance)


@pytest.fixture
def odd_products(catalogue, kitchen):
    """An inactive product, one with a static image, one with an unusual slug."""
    return [
        Product.objects.get(sku="P-OLD"),
        ProductFactory(name="Photo Kettle", sku="P-IMG", category=kitchen, image="shop/x.svg"),
        ProductFactory(name="Odd", sku="P-ODD", category=kitchen, slug="odd-1_x", price=0),
    ]


@pytest.mark.parametrize("serializer_class", [ProductSerializer, ProductDetailSerializer])
@pytest.mark.parametrize("with_request", [True, False])
def test_products_as_drf_wrote_them(catalogue, odd_products, serializer_class, with_request):
    request = APIRequestFactory().get("/api/products/") if with_request else None
    context = {"request": request}
    for product in Product.objects.select_related("category"):
        lean = serializer_class(product, context=context).data
        assert lean == generic(serializer_class, product, context)
        assert list(lean) == list(generic(serializer_class, product, context))  # key order


def test_a_served_list_as_drf_wrote_it(catalogue, odd_products):
    request = APIRequestFactory().get("/api/recommendations/", HTTP_HOST="localhost:8000")
    products = list(Product.objects.select_related("category").order_by("pk"))
    served = Served(
        widget="for-you",
        version_id=7,
        items=[ServedItem(p, 1.0 / (n + 1), f"Because {n}") for n, p in enumerate(products)],
    )
    body = RecommendationListSerializer(served, context={"request": request}).data
    context = {"request": request}
    assert body == {
        "version": 7,
        "widget": "for-you",
        "src": "rec:for-you:v7",
        "results": [
            {
                "product": generic(ProductSerializer, item.product, context),
                "score": item.score,
                "reason": item.reason,
                "src": "rec:for-you:v7",
            }
            for item in served.items
        ],
        "slot": None,
    }
    assert body["results"][0]["product"]["url"].startswith("http://localhost:8000/products/")
    on_home = RecommendationListSerializer(served, context={**context, "page": "home"}).data
    assert on_home == {**body, "slot": {"page": "home", "widget": "for-you"}}
    page = PageSerializer(("home", {"for-you": served}), context=context).data
    assert page == {
        "page": "home",
        "version": 7,
        "widgets": [{"widget": "for-you", "src": body["src"], "results": body["results"]}],
    }


def test_recommendations_take_a_fixed_number_of_queries(
    as_alice, served_lists, django_assert_max_num_queries
):
    as_alice.get("/api/recommendations/", {"limit": 10})  # warm the caches
    # token, fresh product facts, the chosen rows, and the impressions' one insert (its
    # savepoint and release here, inside the test's transaction, and on PostgreSQL the
    # SET LOCAL synchronous_commit); the rest is cached
    with django_assert_max_num_queries(7):
        response = as_alice.get("/api/recommendations/", {"limit": 10})
    assert len(response.json()["results"]) == 10


def test_a_page_takes_a_fixed_number_of_queries(
    as_alice, served_lists, django_assert_max_num_queries
):
    as_alice.get("/api/pages/home/")  # warm the caches
    # as a list: token, the page's one facts query, the chosen rows, the impressions'
    # insert (with its savepoint, release and SET LOCAL); the rest is cached
    with django_assert_max_num_queries(7):
        response = as_alice.get("/api/pages/home/")
    for_you, trending = response.json()["widgets"]
    assert len(for_you["results"]) == 8 and trending["results"]


def test_product_detail_takes_two_queries(as_alice, catalogue, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):  # token, product with its category
        assert as_alice.get(f"/api/products/{catalogue[0].pk}/").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "",
        "limit=1",
        "limit=10",
        "limit=100",
        "limit=101",
        "limit=0",
        "limit=05",
        "limit=-3",
        "limit= 7",
        "limit=",
        "limit=1e1",
        "limit=%EF%BC%91",  # a full-width digit one
        "limit=3&limit=4",
        "limit=5&category=kitchen",
        "exclude=1",
        "other=1",
    ],
)
def test_the_plain_limit_path_validates_as_the_serializer(catalogue, query):
    from django.http import QueryDict

    from recommendations.api.serializers import ListRulesQuery
    from recommendations.api.views import plain_list_query

    params = QueryDict(query)
    serializer = ListRulesQuery(data=params)
    valid = serializer.is_valid()
    plain = plain_list_query(params)
    if plain is not None:  # taken only for what the serializer accepts, with its values
        assert valid and plain == dict(serializer.validated_data)
    assert plain is not None or query not in ("", "limit=1", "limit=10", "limit=100")


def test_product_urls_follow_the_script_prefix(catalogue):
    """The reversed patterns are kept per script prefix: a server mounted under a path
    (SCRIPT_NAME) answers URLs under it, as get_absolute_url does."""
    from django.urls import get_script_prefix, set_script_prefix

    product = Product.objects.select_related("category").first()
    before = get_script_prefix()
    try:
        for prefix in ("/", "/store/", "/"):
            set_script_prefix(prefix)
            data = ProductSerializer(product, context={"request": None}).data
            assert data["url"] == product.get_absolute_url()
            assert data["url"].startswith(f"{prefix}")
            assert data["image_url"].startswith(prefix)
    finally:
        set_script_prefix(before)
