"""/healthz: JSON report, 200 when every part answers, 503 when one does not."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.db import connections
from django.db.utils import load_backend
from django.utils import timezone

from config import health
from recommendations.models import ModelVersion

pytestmark = pytest.mark.django_db

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture(autouse=True)
def _fresh_broker_results():
    health._broker_results.clear()
    yield
    health._broker_results.clear()


@pytest.fixture
def unreachable_database():
    """Replace this thread's default connection by one to a database that is not there."""
    original = connections["default"]
    bad = dict(original.settings_dict)
    if original.vendor == "sqlite":
        bad["NAME"] = "/nonexistent-dir/healthz/db.sqlite3"
    else:
        bad.update(HOST="127.0.0.1", PORT="1")
    wrapper = load_backend(bad["ENGINE"]).DatabaseWrapper(bad, "default")
    connections["default"] = wrapper
    try:
        yield
    finally:
        wrapper.close()
        connections["default"] = original


def test_healthy_stack_is_200_with_every_part(client):
    ModelVersion.objects.create(
        algorithm="ease",
        status=ModelVersion.Status.ACTIVE,
        activated=timezone.now() - timedelta(hours=2),
    )
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True}
    assert body["cache"] == {"ok": True}
    assert body["broker"] == {"ok": True, "mode": "in-process"}
    assert body["model"]["algorithm"] == "ease"
    assert 7190 <= body["model"]["age_seconds"] <= 7300


def test_no_active_model_is_reported_but_not_unhealthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["model"] == {"active": None}


def test_a_plain_http_probe_by_ip_is_answered(client, settings):
    """Load balancers probe over HTTP with their own Host header: no redirect, no 400."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["shop.example.com"]
    response = client.get("/healthz", HTTP_HOST="10.0.0.7:8000")
    assert response.status_code == 200
    assert client.get("/", HTTP_HOST="10.0.0.7:8000").status_code == 400  # others still checked


@pytest.mark.django_db(transaction=True)
def test_unreachable_database_is_503(client, unreachable_database):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert body["database"] == {"ok": False, "error": "OperationalError"}
    assert "model" not in body
    assert body["cache"]["ok"] and body["broker"]["ok"]


def test_unreachable_broker_is_degraded_not_down(client, settings):
    """Pages still serve without the broker: the node stays in the load balancer."""
    settings.CELERY_BROKER_URL = UNREACHABLE_BROKER
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["broker"] == {"ok": False, "error": "OperationalError"}
    assert response.json()["database"] == {"ok": True}


def test_unreachable_cache_is_degraded_not_down(client, settings):
    """A shared cache outage must not take every web node out of rotation."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",  # what CACHE_URL=redis://... selects
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["cache"]["ok"] is False


@pytest.mark.skipif(not os.environ.get("CELERY_BROKER_URL"), reason="no real broker configured")
def test_real_broker_is_healthy(client, settings):
    settings.CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert client.get("/healthz").json()["broker"] == {"ok": True}


def test_broker_result_is_reused_within_the_interval(client, settings, monkeypatch):
    """A probe every second must not open a broker connection every second."""
    calls = []
    real = health._connect_broker
    monkeypatch.setattr(health, "_connect_broker", lambda url: calls.append(url) or real(url))
    settings.CELERY_BROKER_URL = UNREACHABLE_BROKER
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.HEALTHZ_BROKER_CACHE_SECONDS = 3600
    assert [client.get("/healthz").json()["status"] for _ in range(3)] == ["degraded"] * 3
    assert calls == [UNREACHABLE_BROKER]
    settings.HEALTHZ_BROKER_CACHE_SECONDS = 0
    client.get("/healthz")
    assert len(calls) == 2
