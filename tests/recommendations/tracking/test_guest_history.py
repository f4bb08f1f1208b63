"""Whose history a guest session carries: crawlers leave none (no session, no
impressions), and at login only a guest id this browser minted joins the account."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from recommendations.models import Impression, Interaction
from shop.shoppers import SHOPPER_ID_KEY, browser_cookie_name
from tests.factories import ProductFactory, UserFactory
from tests.recommendations.serving.serving_support import build_world
from tests.shop.browsers import returning

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"  # UserFactory's


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def impressions() -> int:
    return Impression.objects.count()


def test_a_cookieless_home_page_writes_no_session_and_no_impressions():
    build_world()
    response = Client().get("/")
    assert 'data-widget="trending"' in response.content.decode()  # widgets were shown
    assert not Session.objects.exists()
    assert impressions() == 0
    assert set(response.cookies) <= {settings.CSRF_COOKIE_NAME}


def test_a_browser_records_impressions_from_its_second_page():
    build_world()
    browser = Client()
    browser.get("/")  # sets the CSRF cookie; nothing recorded yet
    assert impressions() == 0
    browser.get("/")
    guest = browser.session[SHOPPER_ID_KEY]
    assert impressions() > 0
    assert set(Impression.objects.values_list("anonymous_id", flat=True)) == {guest}


def log_in(browser: Client, user) -> None:
    response = browser.post(
        reverse("shop:login"), {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302


def browse_as_guest(browser: Client, n: int = 2) -> str:
    """View ``n`` products as a guest; returns the guest id."""
    for product in ProductFactory.create_batch(n):
        browser.get(product.get_absolute_url())
    return browser.session[SHOPPER_ID_KEY]


def test_logging_in_takes_this_browsers_guest_history():
    browser = returning(Client())
    browse_as_guest(browser)
    user = UserFactory()
    log_in(browser, user)
    assert Interaction.objects.filter(user=user, kind="view").count() == 2
    assert not Interaction.objects.filter(user__isnull=True).exists()


@pytest.mark.parametrize("victims_cookie", ["none", "own", "unsigned"])
def test_a_planted_guest_session_does_not_merge_into_the_account(victims_cookie):
    attacker = returning(Client())
    planted = browse_as_guest(attacker)
    victim = returning(Client())
    if victims_cookie == "own":  # the victim's browser minted a guest id of its own before
        browse_as_guest(victim, n=1)
        victim.cookies.pop(settings.SESSION_COOKIE_NAME)
    elif victims_cookie == "unsigned":  # the guest id copied into a cookie without the key
        victim.cookies[browser_cookie_name()] = planted
    victim.cookies[settings.SESSION_COOKIE_NAME] = attacker.cookies[
        settings.SESSION_COOKIE_NAME
    ].value  # session fixation: the attacker's session cookie on the victim's browser
    user = UserFactory()
    log_in(victim, user)
    assert not Interaction.objects.filter(user=user).exists()
    views = Interaction.objects.filter(kind="view", anonymous_id=planted, user__isnull=True)
    assert views.count() == 2
    assert SHOPPER_ID_KEY not in victim.session  # nor is it used after login
