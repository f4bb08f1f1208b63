"""Product cards (shop/cards.py): one markup for catalogue grids and recommendation
widgets, every value escaped, the Add form posting with the page's CSRF token."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from shop.cards import product_cards
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _card_of(html: str, name: str) -> str:
    """The <article> card of the product called ``name`` in ``html``."""
    for card in re.findall(r'<article class="product-card">.*?</article>', html, re.S):
        if f'<h3 class="product-card-name">{name}</h3>' in card:
            return card
    raise AssertionError(f"no card for {name!r}")


def test_a_catalogue_card_links_pictures_prices_and_adds_to_the_cart(client):
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    mug = ProductFactory(
        name="Blue Mug", slug="blue-mug", brand="Hearth", price=Decimal("1234.5"), category=kitchen
    )
    html = client.get(reverse("shop:category", args=["kitchen"])).content.decode()
    card = _card_of(html, "Blue Mug")

    assert f'href="{reverse("shop:product", args=["blue-mug"])}"' in card
    assert f'src="{reverse("shop:product_image", args=["blue-mug"])}?v=' in card
    assert '<p class="product-card-category">Kitchen</p>' in card
    assert '<p class="product-card-brand">Hearth</p>' in card
    assert '<span class="price">£1,234.50</span>' in card
    assert f'action="{reverse("shop:cart_add", args=[mug.pk])}"' in card
    assert 'name="csrfmiddlewaretoken"' in card
    assert 'name="source"' not in card  # shown by the shop itself: no source to credit


def test_the_add_form_of_a_card_puts_the_product_in_the_cart(client):
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    ProductFactory(name="Blue Mug", category=kitchen, stock=5)
    client.get("/")  # the session and CSRF cookie a browser would have
    html = client.get(reverse("shop:category", args=["kitchen"])).content.decode()
    card = _card_of(html, "Blue Mug")
    action = re.search(r'<form action="([^"]+)"', card).group(1)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', card).group(1)
    client.handler.enforce_csrf_checks = True

    response = client.post(action, {"csrfmiddlewaretoken": token, "quantity": "1"})

    assert response.status_code == 302
    assert "Blue Mug" in client.get(reverse("shop:cart")).content.decode()


def test_a_sold_out_card_says_so_and_has_no_add_form(client):
    kitchen = CategoryFactory(name="Kitchen", slug="kitchen")
    ProductFactory(name="Empty Jar", category=kitchen, stock=0)
    card = _card_of(
        client.get(reverse("shop:category", args=["kitchen"])).content.decode(), "Empty Jar"
    )
    assert "Sold out" in card and "<form" not in card


def test_cards_escape_what_they_show():
    category = CategoryFactory(name="Pots & <Pans>")
    product = ProductFactory(name='<b>"Kettle"</b>', brand="<i>Co</i>", category=category)
    (card,) = product_cards([product], csrf="", src='rec:x"><script>')
    assert "<b>" not in card and "<i>" not in card and "<Pans>" not in card
    assert "<script>" not in card
    assert "&lt;b&gt;&quot;Kettle&quot;&lt;/b&gt;" in card and "Pots &amp; &lt;Pans&gt;" in card


def test_a_widget_card_carries_its_source_in_the_link_and_the_form():
    product = ProductFactory(slug="tea-pot", stock=3)
    (card,) = product_cards([product], csrf="", src="rec:similar:v7")
    assert 'href="/products/tea-pot/?src=rec%3Asimilar%3Av7"' in card
    assert '<input type="hidden" name="source" value="rec:similar:v7">' in card
