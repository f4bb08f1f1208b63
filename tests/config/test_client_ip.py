"""The client address behind reverse proxies (TRUSTED_PROXY_COUNT): one rule for login
lockouts and the API's anonymous throttle, never an address the client chose."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from config.client_ip import client_ip
from tests.factories import ProductFactory, UserFactory

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
PROXY = "10.0.0.2"  # what REMOTE_ADDR is behind a proxy: the proxy, for every client


def request(forwarded: str | None = None, remote: str = PROXY):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request("198.51.100.7")) == PROXY


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # a forged entry on the left
        (2, "6.6.6.6, 198.51.100.7, 10.0.0.9", "198.51.100.7"),
        (2, "198.51.100.7", "198.51.100.7"),  # fewer hops than proxies: the leftmost
        (1, " 2001:db8::1 ", "2001:db8::1"),
        (1, "", PROXY),  # no header: the proxy itself called
        (1, "not-an-address", PROXY),  # never a value the lockout table cannot store
    ],
)
def test_behind_proxies_the_client_is_the_entry_the_outermost_proxy_added(
    settings, count, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(request(forwarded)) == expected


def behind_proxy(client_class, address: str):
    return client_class(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=address)


@pytest.mark.django_db
def test_anonymous_api_clients_behind_a_proxy_have_their_own_budgets(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.API_THROTTLE_RATES = {"anon": "2/min", "user": "100/min"}
    ProductFactory()
    first = behind_proxy(APIClient, "198.51.100.7")
    second = behind_proxy(APIClient, "198.51.100.8")
    assert [first.get("/api/products/").status_code for _ in range(3)] == [200, 200, 429]
    assert second.get("/api/products/").status_code == 200
    # a forged left entry does not buy a new budget
    forged = behind_proxy(APIClient, "6.6.6.6, 198.51.100.7")
    assert forged.get("/api/products/").status_code == 429


@pytest.mark.django_db
def test_without_trusted_proxies_clients_cannot_pick_their_address(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.API_THROTTLE_RATES = {"anon": "2/min", "user": "100/min"}
    ProductFactory()
    codes = [
        behind_proxy(APIClient, f"198.51.100.{n}").get("/api/products/").status_code
        for n in range(3)
    ]
    assert codes == [200, 200, 429]  # one address (REMOTE_ADDR) whatever the header says


@pytest.mark.django_db
def test_a_login_lockout_behind_a_proxy_locks_out_that_client_only(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 3
    attacker = behind_proxy(Client, "198.51.100.66")
    for n in range(3):
        attacker.post(reverse("shop:login"), {"username": f"guess{n}", "password": "x"})
    user = UserFactory()
    login = {"username": user.username, "password": PASSWORD}
    assert attacker.post(reverse("shop:login"), login).status_code == 429
    shopper = behind_proxy(Client, "198.51.100.8")
    response = shopper.post(reverse("shop:login"), login)
    assert response.status_code == 302 and shopper.session["_auth_user_id"] == str(user.pk)
