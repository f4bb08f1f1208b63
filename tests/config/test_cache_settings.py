"""CACHES from a cache URL, the once-a-minute outage log lines, and the system check
that warns when throttles and serving caches would live in each process's memory."""

from __future__ import annotations

import logging

from django.core import checks

from config import caches
from config.caches import OncePerInterval, caches_from_url
from recommendations.api.throttling import check_shared_throttle_cache, throttle_cache_alias

REDIS = "django_redis.cache.RedisCache"
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


def test_redis_gets_a_degrading_default_and_a_raising_throttle_alias():
    got = caches_from_url("redis://cache.internal:6379/1")
    assert set(got) == {"default", "throttle"}
    for alias, ignores in (("default", True), ("throttle", False)):
        assert got[alias]["BACKEND"] == REDIS
        assert got[alias]["LOCATION"] == "redis://cache.internal:6379/1"  # one server, one pool
        assert got[alias]["OPTIONS"] == {
            "SOCKET_CONNECT_TIMEOUT": 0.1,
            "SOCKET_TIMEOUT": 0.2,
            "IGNORE_EXCEPTIONS": ignores,
        }


def test_url_options_override_the_timeouts():
    got = caches_from_url("redis://cache.internal:6379/1?socket_timeout=0.5")
    assert got["default"]["OPTIONS"]["SOCKET_TIMEOUT"] == 0.5
    assert got["throttle"]["OPTIONS"]["SOCKET_TIMEOUT"] == 0.5


def test_local_memory_has_only_the_default_alias(settings):
    settings.CACHES = caches_from_url("locmemcache://")
    assert settings.CACHES == {"default": {"BACKEND": LOCMEM, "LOCATION": ""}}
    assert throttle_cache_alias() == "default"


def _record(msg: str = "cache down (%s)") -> logging.LogRecord:
    return logging.LogRecord("x", logging.WARNING, __file__, 1, msg, ("boom",), None)


def test_once_per_interval_holds_back_repeats_and_counts_them(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(caches.time, "monotonic", lambda: now[0])
    once = OncePerInterval(seconds=60)
    assert once.filter(_record())
    assert not any(once.filter(_record()) for _ in range(5))
    assert once.filter(_record("another message"))  # counted apart
    now[0] += 61
    record = _record()
    assert once.filter(record)
    assert record.getMessage() == "cache down (boom) [5 more since the last such line]"


def test_debug_off_with_local_memory_warns(settings):
    settings.DEBUG = False
    settings.CACHES = caches_from_url("locmemcache://")
    [warning] = check_shared_throttle_cache()
    assert warning.level == checks.WARNING and warning.id == "recommendations.W001"
    assert "count per worker" in warning.msg and "CACHE_URL" in warning.hint
    ids = [m.id for m in checks.run_checks(tags=[checks.Tags.caches])]
    assert "recommendations.W001" in ids  # registered when the app loads


def test_a_shared_cache_or_debug_on_is_quiet(settings):
    settings.DEBUG = False
    settings.CACHES = caches_from_url("redis://cache.internal:6379/1")
    assert check_shared_throttle_cache() == []
    settings.DEBUG = True
    settings.CACHES = caches_from_url("locmemcache://")
    assert check_shared_throttle_cache() == []
