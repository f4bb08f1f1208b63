"""Locally drawn product pictures."""

from xml.etree import ElementTree

import pytest
from django.urls import reverse

from shop.images import image_version, initials, product_svg
from shop.templatetags.shop_tags import money, product_image_url
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_svg_is_deterministic_and_coloured_by_category():
    kitchen = CategoryFactory(slug="kitchen")
    a = ProductFactory(name="Blue Mug", category=kitchen)
    b = ProductFactory(name="Blue Mug", category=kitchen)
    c = ProductFactory(name="Blue Mug", category=CategoryFactory(slug="garden"))
    assert product_svg(a) == product_svg(b)
    assert product_svg(a) != product_svg(c)
    assert ">BM<" in product_svg(a)


def test_svg_escapes_names():
    item = ProductFactory(name='<script>alert("x")</script> & Co')
    svg = product_svg(item)
    root = ElementTree.fromstring(svg)  # well-formed XML, quotes in attributes included
    assert root.get("aria-label") == item.name
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("blue mug", "BM"),
        ("Lamp", "L"),
        ("10 Colour Pen", "10C"),
        ("***", "?"),
        ("élan vital", "ÉV"),
    ],
)
def test_initials(name, expected):
    assert initials(name) == expected


def test_image_view_has_long_cache_headers(client):
    item = ProductFactory()
    response = client.get(reverse("shop:product_image", args=[item.slug]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert "max-age=31536000" in response["Cache-Control"]
    assert response.content.decode().startswith("<svg")


def test_image_url_is_versioned_and_changes_with_the_name():
    item = ProductFactory(name="Old Name")
    before = product_image_url(item)
    item.name = "New Name"
    assert product_image_url(item) != before
    assert before.endswith(
        f"?v={image_version(ProductFactory.build(name='Old Name', category=item.category))}"
    )


def test_static_image_is_used_when_set(client):
    item = ProductFactory(image="shop/favicon.svg")
    assert product_image_url(item) == "/static/shop/favicon.svg"
    response = client.get(reverse("shop:product_image", args=[item.slug]))
    assert response.status_code == 302 and response.url == "/static/shop/favicon.svg"


def test_money_filter():
    assert money(1234.5) == "£1,234.50"
    assert money(None) == ""


def test_inactive_products_picture_is_a_404_and_not_linked(client):
    item = ProductFactory(name="Secret Prototype", active=False)
    response = client.get(reverse("shop:product_image", args=[item.slug]))
    assert response.status_code == 404
    assert "Secret Prototype" not in response.content.decode()
    assert product_image_url(item) == "/static/shop/unavailable.svg"
