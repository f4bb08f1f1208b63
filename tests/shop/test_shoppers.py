"""Guest ids: kept only for clients that keep cookies, and bound to the browser that
minted them (shop/shoppers.py)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from shop import signals
from shop.shoppers import SHOPPER_ID_KEY, browser_cookie_name
from tests.shop.browsers import returning

pytestmark = pytest.mark.django_db


def test_a_cookieless_visit_writes_no_session_and_sets_no_session_cookie(product, signal_calls):
    crawler = Client()
    with signal_calls(signals.product_viewed) as calls:
        for url in ("/", product.get_absolute_url(), reverse("shop:cart")):
            response = crawler.get(url)
            assert response.status_code == 200
            # The CSRF cookie of the page's forms is the only one: no session, no binding.
            assert set(response.cookies) <= {settings.CSRF_COOKIE_NAME}
            crawler.cookies.clear()  # a crawler sends nothing back
    assert not Session.objects.exists()
    assert calls[0]["anonymous_id"]  # listeners still see one guest per visit


def test_a_browser_keeps_its_guest_id_from_the_second_page(product):
    browser = Client()
    browser.get("/")  # the first page sets the CSRF cookie, which comes back from now on
    browser.get(product.get_absolute_url())
    guest = browser.session[SHOPPER_ID_KEY]
    browser.get(product.get_absolute_url())
    assert browser.session[SHOPPER_ID_KEY] == guest
    assert Session.objects.count() == 1


def test_a_post_keeps_a_guest_id_even_from_a_first_visit(product):
    browser = Client()
    browser.post(reverse("shop:cart_add", args=[product.pk]), {"quantity": 1})
    assert browser.session[SHOPPER_ID_KEY]


def test_minting_a_guest_id_sets_a_signed_httponly_binding_cookie(client, product):
    response = returning(client).get(product.get_absolute_url())
    cookie = response.cookies[browser_cookie_name()]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    guest = client.session[SHOPPER_ID_KEY]
    assert guest in cookie.value and cookie.value != guest  # signed
    again = client.get(product.get_absolute_url())
    assert browser_cookie_name() not in again.cookies  # set once, when minted


def test_over_https_the_binding_cookie_is_host_only(settings):
    settings.SESSION_COOKIE_SECURE = True
    assert browser_cookie_name() == "__Host-shopper"  # no subdomain can set it
