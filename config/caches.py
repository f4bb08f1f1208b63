"""CACHES for a cache URL, and log lines that an outage cannot turn into a flood.

The cache only speeds things up: a page or an API call never depends on it. So a Redis
cache (django-redis) ignores its errors, which then read as misses (the caller reads
the database, or shows no widget), and gets short socket timeouts: a stopped server
refuses at once and a hung or unreachable one costs at most these fractions of a
second per call, instead of blocking the worker. The API throttle reads the same
server through its own alias that does raise, so it can fail open and say so (see
recommendations/api/throttling.py), rather than silently count nothing.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref

import environ

REDIS_BACKEND = "django_redis.cache.RedisCache"
THROTTLE_ALIAS = "throttle"
# Seconds. A cache round trip on a local network takes well under a millisecond; a URL
# may set others, e.g. redis://host:6379/1?socket_timeout=0.5.
REDIS_TIMEOUTS = {"SOCKET_CONNECT_TIMEOUT": 0.1, "SOCKET_TIMEOUT": 0.2}
PER_PROCESS_BACKENDS = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


def caches_from_url(url: str) -> dict[str, dict]:
    """CACHES for ``url``; for Redis, a default alias that degrades and a throttle alias."""
    default = environ.Env.cache_url_config(url)
    if default["BACKEND"] != REDIS_BACKEND:
        return {"default": default}
    options = {**REDIS_TIMEOUTS, **default.get("OPTIONS", {})}
    # One connection pool serves both: django-redis keys its pools by URL.
    return {
        "default": {**default, "OPTIONS": {**options, "IGNORE_EXCEPTIONS": True}},
        THROTTLE_ALIAS: {**default, "OPTIONS": {**options, "IGNORE_EXCEPTIONS": False}},
    }


_FILTERS: weakref.WeakSet[OncePerInterval] = weakref.WeakSet()


class OncePerInterval(logging.Filter):
    """Let a message through once per ``seconds`` per logger; the next one that passes
    says how many were held back (an outage fails every request, one line says so)."""

    def __init__(self, seconds: float = 60.0) -> None:
        super().__init__()
        self.seconds = seconds
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], tuple[float, int]] = {}
        _FILTERS.add(self)

    def filter(self, record: logging.LogRecord) -> bool:
        """True for the first record of its kind in the interval."""
        key, now = (record.name, str(record.msg)), time.monotonic()
        with self._lock:
            last, held = self._last.get(key, (-math.inf, 0))
            if now - last < self.seconds:
                self._last[key] = (last, held + 1)
                return False
            self._last[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} [{held} more since the last such line]"
        return True

    def reset(self) -> None:
        """Forget what was logged (tests)."""
        with self._lock:
            self._last.clear()


def reset_log_intervals() -> None:
    """Let every OncePerInterval filter pass its next record (tests)."""
    for log_filter in list(_FILTERS):
        log_filter.reset()
