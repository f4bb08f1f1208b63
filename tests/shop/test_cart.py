"""The session cart: add, update, remove, and bad input that must change nothing."""

import pytest
from django.test import Client
from django.urls import reverse

from shop.cart import Cart
from tests.factories import ProductFactory
from tests.shop.conftest import cart_of, messages_of

pytestmark = pytest.mark.django_db


def add(client, product, quantity, follow=True, **extra):
    """POST to cart_add."""
    data = {"quantity": quantity, **extra}
    return client.post(reverse("shop:cart_add", args=[product.pk]), data, follow=follow)


def test_add_to_cart_then_cart_page_shows_line_and_total(client, product):
    response = add(client, product, 2)
    assert response.redirect_chain[-1][0] == reverse("shop:cart")
    assert cart_of(client) == {str(product.pk): 2}
    assert "Added 2 × “Blue Enamel Mug”" in messages_of(response)[0]
    html = response.content.decode()
    assert "Blue Enamel Mug" in html
    assert "£17.00" in html
    assert response.context["cart_count"] == 2


def test_adding_again_accumulates(client, product):
    add(client, product, 1)
    add(client, product, 3)
    assert cart_of(client) == {str(product.pk): 4}


def test_update_quantity(client, product):
    add(client, product, 1)
    response = client.post(
        reverse("shop:cart_update", args=[product.pk]), {"quantity": 4}, follow=True
    )
    assert cart_of(client) == {str(product.pk): 4}
    assert "Updated" in messages_of(response)[0]


def test_remove(client, product):
    other = ProductFactory()
    add(client, product, 1)
    add(client, other, 1)
    response = client.post(reverse("shop:cart_remove", args=[product.pk]), follow=True)
    assert cart_of(client) == {str(other.pk): 1}
    assert "Removed" in messages_of(response)[0]
    response = client.post(reverse("shop:cart_remove", args=[product.pk]), follow=True)
    assert "was not in your cart" in messages_of(response)[0]
    assert cart_of(client) == {str(other.pk): 1}


def test_empty_cart_page(client):
    response = client.get(reverse("shop:cart"))
    assert response.status_code == 200
    assert "Your cart is empty" in response.content.decode()


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("0", "at least 1"),
        ("-3", "at least 1"),
        ("abc", "whole number"),
        ("2.5", "whole number"),
        ("", "enter a quantity"),
        ("6", "only 5"),
        ("100000", "at most 999"),
    ],
)
def test_add_bad_quantity_changes_nothing(client, product, quantity, message):
    add(client, product, 1)
    before = cart_of(client)
    response = add(client, product, quantity)
    assert response.redirect_chain[-1][0] == product.get_absolute_url()
    assert message in " ".join(messages_of(response)).lower()
    assert cart_of(client) == before


def test_add_above_stock_counts_what_is_already_in_the_cart(client, product):
    add(client, product, 4)
    response = add(client, product, 2)
    text = " ".join(messages_of(response))
    assert "only 5" in text and "already have 4" in text
    assert cart_of(client) == {str(product.pk): 4}


@pytest.mark.parametrize(
    ("fields", "message"),
    [({"stock": 0}, "out of stock"), ({"active": False}, "no longer available")],
)
def test_add_unavailable_product_is_refused(client, product, fields, message):
    for name, value in fields.items():
        setattr(product, name, value)
    product.save()
    response = add(client, product, 1)
    assert message in " ".join(messages_of(response))
    assert cart_of(client) == {}


def test_add_unknown_product_is_404(client):
    response = client.post(reverse("shop:cart_add", args=[999999]), {"quantity": 1})
    assert response.status_code == 404
    assert cart_of(client) == {}


@pytest.mark.parametrize(
    ("quantity", "message"),
    [("0", "at least 1"), ("-1", "at least 1"), ("x", "whole number"), ("6", "only 5")],
)
def test_update_bad_quantity_changes_nothing(client, product, quantity, message):
    add(client, product, 2)
    response = client.post(
        reverse("shop:cart_update", args=[product.pk]), {"quantity": quantity}, follow=True
    )
    assert message in " ".join(messages_of(response)).lower()
    assert cart_of(client) == {str(product.pk): 2}


def test_update_product_not_in_cart_changes_nothing(client, product):
    other = ProductFactory()
    add(client, product, 1)
    response = client.post(
        reverse("shop:cart_update", args=[other.pk]), {"quantity": 1}, follow=True
    )
    assert "not in your cart" in " ".join(messages_of(response))
    assert cart_of(client) == {str(product.pk): 1}


def test_cart_flags_lines_whose_stock_dropped(client, product):
    add(client, product, 4)
    product.stock = 2
    product.save()
    response = client.get(reverse("shop:cart"))
    html = response.content.decode()
    assert "Only 2 left in stock." in html
    assert "Please fix the highlighted items" in html


def test_deleted_products_leave_the_cart_quietly(client, product):
    gone = ProductFactory()
    add(client, product, 1)
    add(client, gone, 1)
    gone.delete()
    response = client.get(reverse("shop:cart"))
    assert response.status_code == 200
    assert [line.product for line in response.context["lines"]] == [product]


def test_tampered_session_cart_is_ignored(client, product):
    session = client.session
    session["cart"] = {"abc": 1, str(product.pk): "many", "999": -2, "12": 3}
    session.save()
    response = client.get(reverse("shop:cart"))
    assert response.status_code == 200
    assert response.context["lines"] == []


@pytest.mark.parametrize("name", ["cart_add", "cart_update", "cart_remove"])
def test_cart_posts_need_a_csrf_token(product, name):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse(f"shop:{name}", args=[product.pk]), {"quantity": 1})
    assert response.status_code == 403
    assert "cart" not in client.session


def test_cart_endpoints_refuse_get(client, product):
    assert client.get(reverse("shop:cart_add", args=[product.pk])).status_code == 405


def test_cart_class_unit(product, rf):
    from django.contrib.sessions.backends.db import SessionStore

    cart = Cart(SessionStore())
    cart.add(product, 2)
    cart.add(product, 1)
    assert len(cart) == 3 and product in cart
    assert Cart.total(cart.lines()) == product.price * 3
    cart.set(product, 1)
    assert cart.items() == {product.pk: 1}
    cart.remove(product)
    assert not cart
