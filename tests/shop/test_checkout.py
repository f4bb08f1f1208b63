"""Checkout: the happy path, and every refusal leaving orders, stock and cart untouched."""

from decimal import Decimal

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse

from shop.cart import Cart
from shop.checkout import EmptyCartError, StockError, place_order
from shop.models import Order, OrderLine, Product
from shop.shoppers import SHOPPER_ID_KEY
from tests.factories import ProductFactory, UserFactory
from tests.shop.conftest import cart_of, messages_of

pytestmark = pytest.mark.django_db

DETAILS = {"full_name": "Ada Lovelace", "email": "ada@example.com", "address": "12 St James's Sq"}


def fill_cart(client, *items):
    """Put (product, quantity) pairs in the client's cart through the real endpoint."""
    for product, quantity in items:
        response = client.post(reverse("shop:cart_add", args=[product.pk]), {"quantity": quantity})
        assert response.status_code == 302


def test_checkout_page_shows_summary(client, product):
    fill_cart(client, (product, 2))
    response = client.get(reverse("shop:checkout"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "2 × Blue Enamel Mug" in html
    assert "£17.00" in html
    assert 'name="full_name"' in html and 'name="address"' in html


def test_checkout_prefills_logged_in_user(client, product):
    user = UserFactory(first_name="Grace", last_name="Hopper", email="grace@example.com")
    client.force_login(user)
    fill_cart(client, (product, 1))
    form = client.get(reverse("shop:checkout")).context["form"]
    assert form.initial == {"full_name": "Grace Hopper", "email": "grace@example.com"}


def test_guest_checkout_places_order(client, product, django_capture_on_commit_callbacks):
    other = ProductFactory(price=Decimal("3.00"), stock=1)
    fill_cart(client, (product, 2), (other, 1))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("shop:checkout"), DETAILS, follow=True)
    order = Order.objects.get()
    assert response.redirect_chain[-1][0] == reverse("shop:order_confirmation", args=[order.pk])
    assert order.user is None
    assert order.anonymous_id == client.session[SHOPPER_ID_KEY] != client.session.session_key
    assert (order.full_name, order.email, order.address) == tuple(DETAILS.values())
    assert order.total == Decimal("20.00")
    lines = {line.product_id: line for line in order.lines.all()}
    assert lines[product.pk].quantity == 2 and lines[product.pk].unit_price == Decimal("8.50")
    assert lines[other.pk].quantity == 1 and lines[other.pk].unit_price == Decimal("3.00")
    product.refresh_from_db()
    other.refresh_from_db()
    assert (product.stock, other.stock) == (3, 0)
    assert cart_of(client) == {}
    html = response.content.decode()
    assert f"#{order.pk}" in html and "Thank you, Ada Lovelace" in html


def test_logged_in_checkout_links_order_to_user(client, product):
    user = UserFactory()
    client.force_login(user)
    fill_cart(client, (product, 1))
    client.post(reverse("shop:checkout"), DETAILS)
    assert Order.objects.get().user == user


def test_empty_cart_checkout_redirects_with_message(client):
    for method in (client.get, client.post):
        response = method(reverse("shop:checkout"), follow=True)
        assert response.redirect_chain[-1][0] == reverse("shop:cart")
        assert "Your cart is empty" in " ".join(messages_of(response))
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**DETAILS, "email": "not-an-email"}, "email"),
        ({**DETAILS, "full_name": "   "}, "full_name"),
        ({**DETAILS, "address": ""}, "address"),
    ],
)
def test_invalid_details_show_errors_and_write_nothing(client, product, data, field):
    fill_cart(client, (product, 1))
    response = client.post(reverse("shop:checkout"), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Order.objects.exists()
    assert cart_of(client) == {str(product.pk): 1}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stock": 1}, "Only 1 of “Blue Enamel Mug” left in stock"),
        ({"stock": 0}, "“Blue Enamel Mug” is now out of stock"),
        ({"active": False}, "“Blue Enamel Mug” is no longer available"),
    ],
)
def test_stock_change_between_add_and_checkout_writes_nothing(client, product, change, message):
    fine = ProductFactory(stock=10)
    fill_cart(client, (fine, 1), (product, 3))
    Product.objects.filter(pk=product.pk).update(**change)
    response = client.post(reverse("shop:checkout"), DETAILS, follow=True)
    assert response.status_code == 200
    assert message in " ".join(messages_of(response))
    assert not Order.objects.exists() and not OrderLine.objects.exists()
    fine.refresh_from_db()
    assert fine.stock == 10
    assert cart_of(client) == {str(fine.pk): 1, str(product.pk): 3}
    # The form keeps what the shopper typed.
    assert response.context["form"].data["full_name"] == "Ada Lovelace"


def test_checkout_needs_a_csrf_token(product):
    client = Client(enforce_csrf_checks=True)
    session = client.session
    session["cart"] = {str(product.pk): 1}
    session.save()
    response = client.post(reverse("shop:checkout"), DETAILS)
    assert response.status_code == 403
    assert not Order.objects.exists()


def test_confirmation_is_private_to_the_session_or_owner(client, product):
    fill_cart(client, (product, 1))
    client.post(reverse("shop:checkout"), DETAILS)
    order = Order.objects.get()
    url = reverse("shop:order_confirmation", args=[order.pk])
    assert client.get(url).status_code == 200
    assert Client().get(url).status_code == 404


def test_place_order_service_directly(product):
    session = SessionStore()
    cart = Cart(session)
    cart.add(product, 5)
    order = place_order(cart, user=None, anonymous_id="abc", data=DETAILS)
    product.refresh_from_db()
    assert product.stock == 0
    assert order.lines.get().quantity == 5
    assert not cart and session["cart"] == {}
    with pytest.raises(EmptyCartError):
        place_order(cart, user=None, anonymous_id="abc", data=DETAILS)


def test_place_order_reports_every_problem_and_writes_nothing(product):
    other = ProductFactory(name="Tin Plate", stock=1)
    cart = Cart(SessionStore())
    cart.add(product, 6)
    cart.add(other, 2)
    with pytest.raises(StockError) as info:
        place_order(cart, user=None, anonymous_id="", data=DETAILS)
    assert len(info.value.problems) == 2
    assert "Tin Plate" in str(info.value)
    assert not Order.objects.exists()
    assert cart.items() == {product.pk: 6, other.pk: 2}
