"""Control characters in search, inactive products' pictures, expired sessions."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from shop.search import normalise_query
from shop.tasks import clear_expired_sessions
from shop.templatetags.shop_tags import product_image_url
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("q", ["mug\x00", "\x00", "mu\x07g", "\x1b[31mmug", "mug\u200b\x7f"])
def test_control_characters_in_search_give_a_normal_page(client, q):
    ProductFactory(name="Blue Mug")
    response = client.get(reverse("shop:search"), {"q": q})
    assert response.status_code == 200
    assert "\x00" not in response.content.decode()


def test_normalise_query_drops_control_characters():
    assert normalise_query("blue\x00mug\t\x1f  cup\u200b") == "blue mug cup"


def test_inactive_products_picture_is_a_404_and_not_linked(client):
    item = ProductFactory(name="Secret Prototype", active=False)
    response = client.get(reverse("shop:product_image", args=[item.slug]))
    assert response.status_code == 404
    assert "Secret Prototype" not in response.content.decode()
    assert product_image_url(item) == "/static/shop/unavailable.svg"


def test_expired_sessions_are_cleared_by_a_scheduled_task():
    now = timezone.now()
    Session.objects.create(session_key="old" * 4, session_data="", expire_date=now - timedelta(1))
    Session.objects.create(session_key="new" * 4, session_data="", expire_date=now + timedelta(1))
    clear_expired_sessions.delay()
    assert list(Session.objects.values_list("session_key", flat=True)) == ["new" * 4]
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "shop.tasks.clear_expired_sessions" in tasks
