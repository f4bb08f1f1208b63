"""The shop's domain signals are sent with the documented kwargs."""

import pytest
from django.urls import reverse

from shop import signals
from shop.models import Order
from shop.shoppers import SHOPPER_ID_KEY
from tests.factories import UserFactory
from tests.shop.browsers import returning

pytestmark = pytest.mark.django_db

DETAILS = {"full_name": "Ada Lovelace", "email": "ada@example.com", "address": "1 Road"}


def test_product_viewed_for_anonymous_visitor_with_source(client, product, signal_calls):
    returning(client)  # a browser that keeps cookies: its guest id is kept in the session
    with signal_calls(signals.product_viewed) as calls:
        client.get(product.get_absolute_url(), {"src": "rec:home:v3"})
    assert len(calls) == 1
    call = calls[0]
    assert call["product"] == product
    assert call["user"] is None
    assert call["source"] == "rec:home:v3"
    assert call["anonymous_id"] and call["anonymous_id"] == client.session[SHOPPER_ID_KEY]
    assert call["request"].path == product.get_absolute_url()


def test_product_viewed_for_logged_in_user_without_source(client, product, signal_calls):
    user = UserFactory()
    client.force_login(user)
    with signal_calls(signals.product_viewed) as calls:
        client.get(product.get_absolute_url())
    assert calls[0]["user"] == user
    assert calls[0]["source"] == ""


def test_product_viewed_not_sent_for_404(client, signal_calls):
    with signal_calls(signals.product_viewed) as calls:
        client.get("/products/nothing-here/")
    assert calls == []


def test_product_added_to_cart(client, product, signal_calls):
    with signal_calls(signals.product_added_to_cart) as calls:
        client.post(
            reverse("shop:cart_add", args=[product.pk]), {"quantity": 3, "source": "rec:pdp:v1"}
        )
    assert len(calls) == 1
    call = calls[0]
    assert (call["product"], call["quantity"], call["source"]) == (product, 3, "rec:pdp:v1")
    assert call["user"] is None
    assert call["anonymous_id"] == client.session[SHOPPER_ID_KEY]
    assert call["request"] is not None


def test_source_from_product_link_reaches_the_add_form(client, product):
    html = client.get(product.get_absolute_url(), {"src": "rec:home:v3"}).content.decode()
    assert 'name="source" value="rec:home:v3"' in html


def test_refused_add_sends_nothing(client, product, signal_calls):
    with signal_calls(signals.product_added_to_cart) as calls:
        client.post(reverse("shop:cart_add", args=[product.pk]), {"quantity": 99})
    assert calls == []


def test_order_placed_on_commit(client, product, signal_calls, django_capture_on_commit_callbacks):
    user = UserFactory()
    client.force_login(user)
    client.post(reverse("shop:cart_add", args=[product.pk]), {"quantity": 2})
    with signal_calls(signals.order_placed) as calls:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            client.post(reverse("shop:checkout"), DETAILS)
        assert calls == []  # not before the transaction commits
        for callback in callbacks:
            callback()
    assert len(calls) == 1
    call = calls[0]
    order = Order.objects.get()
    assert call["order"] == order
    assert call["user"] == user
    assert call["anonymous_id"] == ""  # signed in: identified by user only
    assert call["request"] is not None
    assert [(line.product, line.quantity) for line in call["order"].lines.all()] == [(product, 2)]


def test_failed_checkout_sends_no_order_placed(
    client, product, signal_calls, django_capture_on_commit_callbacks
):
    client.post(reverse("shop:cart_add", args=[product.pk]), {"quantity": 2})
    product.stock = 1
    product.save()
    with (
        signal_calls(signals.order_placed) as calls,
        django_capture_on_commit_callbacks(execute=True),
    ):
        client.post(reverse("shop:checkout"), DETAILS)
    assert calls == []
