"""One cart places at most one order, however often and however concurrently it is
submitted; a repeated submit lands on the existing order's confirmation."""

import threading

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from shop.models import Order
from tests.factories import ProductFactory
from tests.shop.test_checkout import DETAILS, fill_cart


def _checkout_form(client) -> dict:
    """The checkout form as a browser would submit it (details plus the cart token)."""
    response = client.get(reverse("shop:checkout"))
    return {**DETAILS, "cart_token": response.context["cart_token"]}


@pytest.mark.django_db
def test_double_submit_places_one_order_and_shows_it_again(client):
    product = ProductFactory(stock=5)
    fill_cart(client, (product, 2))
    form = _checkout_form(client)

    first = client.post(reverse("shop:checkout"), form)
    again = client.post(reverse("shop:checkout"), form)

    order = Order.objects.get()
    confirmation = reverse("shop:order_confirmation", args=[order.pk])
    assert first.status_code == again.status_code == 302
    assert first.url == again.url == confirmation
    assert client.get(confirmation).status_code == 200
    product.refresh_from_db()
    assert product.stock == 3


@pytest.mark.django_db
def test_a_new_cart_after_an_order_gets_a_new_token(client):
    product = ProductFactory(stock=5)
    fill_cart(client, (product, 1))
    client.post(reverse("shop:checkout"), _checkout_form(client))
    fill_cart(client, (product, 1))
    client.post(reverse("shop:checkout"), _checkout_form(client))
    assert Order.objects.count() == 2


@pytest.mark.django_db
def test_someone_elses_token_is_not_an_order_of_mine(client, product):
    owner = Client()
    fill_cart(owner, (product, 1))
    form = _checkout_form(owner)
    owner.post(reverse("shop:checkout"), form)
    response = client.post(reverse("shop:checkout"), form, follow=True)
    assert response.redirect_chain[-1][0] == reverse("shop:cart")  # an empty cart, no order
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_the_cart_token_exists_with_the_first_item(client, product):
    fill_cart(client, (product, 1))
    token = client.session.get("cart_token")
    assert token
    fill_cart(client, (product, 1))
    assert client.session["cart_token"] == token  # one token for the life of the cart


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("opened_checkout", [True, False], ids=["checkout-page", "no-page"])
def test_concurrent_checkout_from_one_session_places_one_order(opened_checkout):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks (set DATABASE_URL)")
    product = ProductFactory(stock=5)
    client = Client()
    fill_cart(client, (product, 2))
    # A script (or a stale tab) may post the form without ever opening the page.
    form = _checkout_form(client) if opened_checkout else dict(DETAILS)
    submits = 4
    barrier = threading.Barrier(submits)
    results: list = []

    def submit() -> None:
        browser = Client()
        browser.cookies = client.cookies  # the same session, as four tabs would share
        try:
            barrier.wait()
            results.append(browser.post(reverse("shop:checkout"), form))
        except Exception as exc:  # reported below, not lost in the thread
            results.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=submit) for _ in range(submits)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    order = Order.objects.get()
    confirmation = reverse("shop:order_confirmation", args=[order.pk])
    answers = [getattr(r, "url", r) for r in results]
    if opened_checkout:  # each submit names the cart's token: each finds the order
        assert answers == [confirmation] * submits
    else:
        # A submit whose session was read after the order emptied the cart has no
        # token to find the order by: it is sent to the (empty) cart, never a 2nd order.
        assert confirmation in answers
        assert set(answers) <= {confirmation, reverse("shop:cart")}
    product.refresh_from_db()
    assert product.stock == 3
    assert order.lines.get().quantity == 2
