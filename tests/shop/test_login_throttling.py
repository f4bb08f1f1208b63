"""Login throttling (django-axes) on the shop's and the admin's login pages, and a
sign-up that does not tell whether an email address has an account."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


@pytest.fixture
def limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    return 3


@pytest.mark.parametrize("page", ["shop:login", "admin:login"])
def test_wrong_passwords_then_the_right_one_is_refused_with_a_message(client, limit, page):
    user = UserFactory(is_staff=True)
    url = reverse(page)
    for _ in range(limit):
        client.post(url, {"username": user.username, "password": "wrong"})
    response = client.post(url, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429
    html = response.content.decode()
    assert "Too many login attempts" in html and "try again in 15 minutes" in html
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_from_another_ip_too(client, limit):
    user = UserFactory()
    for _ in range(limit):
        client.post(reverse("shop:login"), {"username": user.username, "password": "x"})
    other = Client(REMOTE_ADDR="203.0.113.9")
    response = other.post(reverse("shop:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429


def test_lockout_is_per_ip_for_other_usernames_too(client, limit):
    for n in range(limit):
        client.post(reverse("shop:login"), {"username": f"guess{n}", "password": "x"})
    user = UserFactory()
    response = client.post(reverse("shop:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 429


def test_fewer_failures_than_the_limit_still_log_in(client, limit):
    user = UserFactory()
    for _ in range(limit - 1):
        client.post(reverse("shop:login"), {"username": user.username, "password": "x"})
    response = client.post(reverse("shop:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)


def test_test_client_login_without_a_request_still_works(client):
    user = UserFactory()
    assert client.login(username=user.username, password=PASSWORD)


def _signup(client: Client, username: str, email: str):
    data = {
        "username": username,
        "email": email,
        "password1": "a-long-Pass-phrase-9",
        "password2": "a-long-Pass-phrase-9",
    }
    return client.post(reverse("shop:signup"), data, follow=True)


def test_signup_with_a_registered_email_looks_like_any_other():
    UserFactory(username="first", email="taken@example.com")
    new = _signup(Client(), "newbie", "fresh@example.com")
    taken = _signup(Client(), "oldie", "taken@example.com")
    assert new.redirect_chain == taken.redirect_chain == [(reverse("shop:home"), 302)]
    assert new.status_code == taken.status_code == 200
    messages = [[str(m) for m in r.context["messages"]] for r in (new, taken)]
    assert messages == [
        ["Welcome, newbie! Your account is ready."],
        ["Welcome, oldie! Your account is ready."],
    ]
    assert new.context["user"].is_authenticated and taken.context["user"].is_authenticated
    assert "already" not in taken.content.decode()
    assert get_user_model().objects.filter(email="taken@example.com").count() == 2
