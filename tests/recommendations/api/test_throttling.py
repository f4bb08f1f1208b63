"""Throttles: rates from settings, anonymous per address and signed-in per user, 429."""

import os
import subprocess
import sys
import time

import pytest

from tests.paths import ROOT

pytestmark = pytest.mark.django_db


def test_anonymous_clients_get_429_beyond_their_rate(settings, anon, catalogue):
    settings.API_THROTTLE_RATES = {"anon": "3/min", "user": "100/min"}
    codes = [anon.get("/api/products/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = anon.get("/api/trending/")
    assert response.status_code == 429
    assert "detail" in response.json() and int(response["Retry-After"]) > 0


def test_each_signed_in_client_has_its_own_budget(settings, as_alice, as_bob, catalogue):
    settings.API_THROTTLE_RATES = {"anon": "1/min", "user": "2/min"}
    assert [as_alice.get("/api/products/").status_code for _ in range(3)] == [200, 200, 429]
    assert as_bob.get("/api/products/").status_code == 200  # bob is counted apart


def test_no_rate_means_no_limit(settings, anon, catalogue):
    settings.API_THROTTLE_RATES = {"anon": None, "user": None}
    assert {anon.get("/api/products/").status_code for _ in range(30)} == {200}


SECOND_WORKER = """
import django
django.setup()
from rest_framework.test import APIRequestFactory
from recommendations.api.throttling import AnonThrottle
request = APIRequestFactory().get("/api/products/", REMOTE_ADDR="127.0.0.1")
request.user = None
print("allowed" if AnonThrottle().allow_request(request, None) else "throttled")
"""


def _second_worker(cache_url: str, rate: str = "2/min") -> str:
    """What another web process with this CACHE_URL and anonymous ``rate`` decides for
    the next anonymous call."""
    env = {k: v for k, v in os.environ.items() if k not in ("CACHE_URL", "REDIS_URL")}
    env |= {"DJANGO_SETTINGS_MODULE": "config.settings", "API_THROTTLE_ANON": rate}
    if cache_url:
        env["CACHE_URL"] = cache_url
    out = subprocess.run(
        [sys.executable, "-c", SECOND_WORKER], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_with_redis_every_worker_counts_the_same_anonymous_budget(settings, redis_cache, catalogue):
    from rest_framework.test import APIClient

    # Hourly windows, begun at least a minute before the hour ends: the second worker
    # (a new process, seconds to start) must count in the same window.
    settings.API_THROTTLE_RATES = {"anon": "2/hour", "user": "100/hour"}
    left = 3600 - time.time() % 3600
    if left < 60:
        time.sleep(left + 0.1)
    anon = APIClient()
    assert [anon.get("/api/products/").status_code for _ in range(2)] == [200, 200]
    # another process sees the count
    assert _second_worker(redis_cache.url, "2/hour") == "throttled"
    assert redis_cache.client().keys(":1:throttle_anon_127.0.0.1:*")  # this window's count


def test_with_local_memory_each_worker_counts_its_own(settings, anon, catalogue):
    settings.API_THROTTLE_RATES = {"anon": "2/min", "user": "100/min"}
    assert [anon.get("/api/products/").status_code for _ in range(2)] == [200, 200]
    assert _second_worker("") == "allowed"  # what README and check W001 warn about
