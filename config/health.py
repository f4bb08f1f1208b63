"""GET /healthz: is this process able to serve? JSON for a load balancer, 503 when not.

Only the database decides: without it no page can be served. A cache or broker outage
answers 200 with status "degraded" (pages still render: widgets read the database and
events are still written), so a load balancer does not take every web node out of
rotation because of a shared Redis or broker.

Checks the database (``SELECT 1`` on the pooled connection), the cache (a set and a
get), the Celery broker (a connection with a short timeout; the outcome is kept for
HEALTHZ_BROKER_CACHE_SECONDS in this process, so a probe every second opens at most
one broker connection per interval) and reports the age of the active model. No
active model is not unhealthy: serving then falls back to popularity.

It is a middleware placed first, not a view: a probe is answered before host
validation (load balancers probe by IP address), the HTTPS redirect, sessions, CSRF
and the access log (one line a second per probe would drown the real ones).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

PATH = "/healthz"
BROKER_TIMEOUT_SECONDS = 1.0

# broker URL -> (monotonic time checked, result)
_broker_results: dict[str, tuple[float, dict[str, Any]]] = {}


def check_database() -> dict[str, Any]:
    """``SELECT 1`` on the default database."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def check_cache() -> dict[str, Any]:
    """Write a value to the default cache and read it back."""
    key, token = "healthz:probe", uuid.uuid4().hex
    try:
        cache.set(key, token, timeout=30)
        ok = cache.get(key) == token
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": ok} if ok else {"ok": False, "error": "value not read back"}


def _connect_broker(url: str) -> dict[str, Any]:
    from kombu import Connection

    try:
        with Connection(
            url,
            connect_timeout=BROKER_TIMEOUT_SECONDS,
            transport_options={"socket_connect_timeout": BROKER_TIMEOUT_SECONDS},
        ) as conn:
            conn.ensure_connection(max_retries=0)
            conn.default_channel  # noqa: B018  (redis connects lazily: open a channel)
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def check_broker() -> dict[str, Any]:
    """Reachability of CELERY_BROKER_URL ("in-process" when tasks run eagerly)."""
    url = settings.CELERY_BROKER_URL
    if not url or settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "in-process"}
    now = time.monotonic()
    hit = _broker_results.get(url)
    if hit is not None and now - hit[0] < settings.HEALTHZ_BROKER_CACHE_SECONDS:
        return hit[1]
    result = _connect_broker(url)
    _broker_results[url] = (now, result)
    return result


def model_age() -> dict[str, Any]:
    """The active version and seconds since it was activated (informational)."""
    from recommendations.models import ModelVersion  # an app model; apps are ready here

    row = (
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE)
        .values("pk", "algorithm", "activated")
        .first()
    )
    if row is None:
        return {"active": None}
    age = (timezone.now() - row["activated"]).total_seconds() if row["activated"] else None
    return {
        "active": row["pk"],
        "algorithm": row["algorithm"],
        "age_seconds": None if age is None else round(age),
    }


def health() -> tuple[bool, dict[str, Any]]:
    """(healthy, report) of every part."""
    report: dict[str, Any] = {
        "database": check_database(),
        "cache": check_cache(),
        "broker": check_broker(),
    }
    if report["database"]["ok"]:
        try:
            report["model"] = model_age()
        except Exception as exc:  # e.g. migrations not applied yet
            report["model"] = {"active": None, "error": type(exc).__name__}
    healthy = report["database"]["ok"]
    complete = healthy and report["cache"]["ok"] and report["broker"]["ok"]
    report["status"] = "ok" if complete else "degraded" if healthy else "unhealthy"
    return healthy, report


class HealthCheckMiddleware:
    """Answers GET/HEAD /healthz before any other middleware runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.rstrip("/") != PATH or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        healthy, report = health()
        response = JsonResponse(report, status=200 if healthy else 503)
        response["Cache-Control"] = "no-store"
        return response
