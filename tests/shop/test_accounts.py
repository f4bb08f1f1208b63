"""Sign up, log in, log out, and a shopper's own orders."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.factories import OrderFactory, OrderLineFactory, UserFactory
from tests.shop.conftest import cart_of

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


def test_signup_page(client):
    response = client.get(reverse("shop:signup"))
    assert response.status_code == 200
    assert 'name="email"' in response.content.decode()


def test_signup_creates_account_logs_in_and_keeps_cart(client, product):
    client.post(reverse("shop:cart_add", args=[product.pk]), {"quantity": 1})
    response = client.post(
        reverse("shop:signup"),
        {
            "username": "newbie",
            "email": "newbie@example.com",
            "password1": "a-long-Pass-phrase-9",
            "password2": "a-long-Pass-phrase-9",
        },
        follow=True,
    )
    user = get_user_model().objects.get(username="newbie")
    assert user.email == "newbie@example.com"
    assert response.context["user"] == user
    assert cart_of(client) == {str(product.pk): 1}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": ""}, "email"),
        ({"password2": "different-Pass-9"}, "password2"),
        ({"username": "taken"}, "username"),
    ],
)
def test_signup_errors_create_nothing(client, data, field):
    UserFactory(username="taken", email="taken@example.com")
    base = {
        "username": "newbie",
        "email": "newbie@example.com",
        "password1": "a-long-Pass-phrase-9",
        "password2": "a-long-Pass-phrase-9",
    }
    response = client.post(reverse("shop:signup"), {**base, **data})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert get_user_model().objects.count() == 1


def test_login_and_logout(client):
    user = UserFactory()
    assert client.get(reverse("shop:login")).status_code == 200
    response = client.post(
        reverse("shop:login"), {"username": user.username, "password": PASSWORD}, follow=True
    )
    assert response.context["user"] == user
    assert "Log out" in response.content.decode()
    assert client.get(reverse("shop:logout")).status_code == 405  # log out is POST only
    response = client.post(reverse("shop:logout"), follow=True)
    assert not response.context["user"].is_authenticated


def test_wrong_password_stays_logged_out(client):
    user = UserFactory()
    response = client.post(reverse("shop:login"), {"username": user.username, "password": "x"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "_auth_user_id" not in client.session


def test_login_needs_csrf():
    user = UserFactory()
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("shop:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 403


def test_order_history_and_detail_show_own_orders_only(client):
    user = UserFactory()
    mine = OrderLineFactory(order=OrderFactory(user=user), product__name="My Lamp").order
    theirs = OrderLineFactory(product__name="Their Rug").order
    client.force_login(user)
    response = client.get(reverse("shop:order_history"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"#{mine.pk}" in html and "My Lamp" in html
    assert "Their Rug" not in html
    detail = client.get(reverse("shop:order_detail", args=[mine.pk]))
    assert detail.status_code == 200 and "My Lamp" in detail.content.decode()
    assert client.get(reverse("shop:order_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("shop:order_confirmation", args=[theirs.pk])).status_code == 404


def test_order_history_empty(client):
    client.force_login(UserFactory())
    response = client.get(reverse("shop:order_history"))
    assert response.status_code == 200
    assert "No orders yet" in response.content.decode()


def test_order_pages_need_login(client):
    order = OrderFactory()
    for url in (reverse("shop:order_history"), reverse("shop:order_detail", args=[order.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("shop:login"))
