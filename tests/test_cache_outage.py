"""A cache outage degrades pages and the API, never answers 500: a real redis-server is
started, killed (or frozen) mid-run and restarted. Events still reach the database,
the API throttle fails open with one warning, and a restarted Redis is used again."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recommendations.models import Interaction
from tests.recommendations.serving.serving_support import build_world

pytestmark = pytest.mark.django_db
THROTTLE_LOGGER = "recommendations.api.throttling"


@pytest.fixture
def world():
    return build_world()


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _get_all(client, api_user, api_anon, world) -> None:
    """Every page and endpoint of the serving path answers 200."""
    product = world.kitchen[0]
    for url in ("/", product.get_absolute_url(), "/cart/"):
        assert client.get(url).status_code == 200, url
    for api in (api_user, api_anon):
        for url in (
            "/api/recommendations/",
            "/api/trending/",
            "/api/products/",
            f"/api/products/{product.pk}/",
            f"/api/products/{product.pk}/related/",
        ):
            assert api.get(url).status_code == 200, url


def _post_events(api_user, world, tag: str) -> None:
    events = [
        {"product": p.pk, "kind": "view", "client_event_id": f"{tag}-{i}"}
        for i, p in enumerate(world.garden[:2])
    ]
    response = api_user.post("/api/events/", events, format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"accepted": 2, "duplicates": 0}


def test_a_killed_redis_degrades_pages_and_api_and_recovers(client, redis_cache, world, caplog):
    api_user, api_anon = _token_client(world.user), APIClient()
    client.force_login(world.user)
    _get_all(client, api_user, api_anon, world)
    assert redis_cache.keys() > 0  # the pages did use Redis

    redis_cache.kill()
    before = Interaction.objects.count()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            _get_all(client, api_user, api_anon, world)
        _post_events(api_user, world, "outage")
    assert Interaction.objects.filter(client_event_id__startswith="outage").count() == 2
    assert Interaction.objects.count() > before + 2  # and the product pages' views
    fail_open = [r for r in caplog.records if r.name == THROTTLE_LOGGER]
    assert len(fail_open) == 1, fail_open  # once per interval, not once per request
    assert fail_open[0].levelno == logging.WARNING and "failing open" in fail_open[0].message
    ignored = [r for r in caplog.records if r.name == "django_redis.cache"]
    assert len(ignored) <= 1  # django-redis's own line, also once per interval

    redis_cache.start()  # same port: the pooled connections reconnect
    _get_all(client, api_user, api_anon, world)
    _post_events(api_user, world, "after")
    assert redis_cache.keys() > 0
    # The throttle counts in Redis again.
    redis_cache.client().flushdb()
    from django.conf import settings

    settings.API_THROTTLE_RATES = {"anon": "2/min", "user": "10000/min"}
    codes = [api_anon.get("/api/trending/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_a_frozen_redis_costs_a_bounded_time_per_page(client, redis_cache, world):
    """A hung server (SIGSTOP) answers nothing: the socket timeouts bound the wait."""
    api_anon = APIClient()
    _get_all(client, _token_client(world.user), api_anon, world)
    redis_cache.process.send_signal(signal.SIGSTOP)
    # Should the timeouts be missing, the server wakes up after 10 s and the time fails.
    waker = threading.Timer(10, os.kill, (redis_cache.process.pid, signal.SIGCONT))
    waker.start()
    try:
        for url, get in (("/", client.get), ("/api/trending/", api_anon.get)):
            started = time.perf_counter()
            assert get(url).status_code == 200
            assert time.perf_counter() - started < 3.0, url
    finally:
        waker.cancel()
        redis_cache.process.send_signal(signal.SIGCONT)
