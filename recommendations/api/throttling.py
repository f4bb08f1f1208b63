"""Throttles whose rates are read from ``settings.API_THROTTLE_RATES`` at request time.

DRF's own classes copy the rates when they are imported, so ``override_settings`` in
tests (or a changed environment) would not reach them. Anonymous clients are counted
per address as config/client_ip.py finds it, the same address login lockouts use.

Each client's requests are counted in fixed windows of the rate's period (a counter
per window, ``cache.incr``): one cache round trip per request, where DRF's sliding
history reads and writes a list (two); none of its own for a token request counted with
its token lookup (one_round_trip.py). A client may so send up to twice its rate across a
window boundary.

Counts live in the cache's throttle alias when there is one (a Redis cache, shared by
every process; config/caches.py), else in the default cache. If that cache cannot be
reached the throttle fails open: the request goes through and a warning is logged (at
most once a minute, LOGGING), since refusing every client would turn a cache outage
into an API outage.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core import checks
from django.core.cache import BaseCache, caches
from redis.exceptions import RedisError
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from config.caches import PER_PROCESS_BACKENDS, THROTTLE_ALIAS
from config.client_ip import client_ip

logger = logging.getLogger(__name__)
# What a cache backend raises when its server is unreachable: redis-py's errors (which
# django-redis re-raises when it does not ignore them), socket errors (memcached).
CACHE_ERRORS = (RedisError, OSError)


def throttle_cache_alias() -> str:
    """The CACHES alias that counts requests."""
    return THROTTLE_ALIAS if THROTTLE_ALIAS in settings.CACHES else "default"


class _RateFromSettings:
    scope: str

    @property
    def cache(self) -> BaseCache:
        """The cache that counts requests (DRF reads ``self.cache``)."""
        return caches[throttle_cache_alias()]

    def get_rate(self) -> str | None:
        """The scope's rate ("120/min"), or None for no limit."""
        return settings.API_THROTTLE_RATES.get(self.scope) or None

    def get_ident(self, request) -> str:
        """The client address, by the rule login lockouts use (TRUSTED_PROXY_COUNT)."""
        return client_ip(request) or ""

    def allow_request(self, request, view) -> bool:
        """Count the request in its window; with the cache unreachable, let it through
        and say so."""
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        try:
            return self._count(request) <= self.num_requests
        except CACHE_ERRORS as exc:
            logger.warning(
                "API throttles failing open: their cache is unreachable (%s: %s)",
                type(exc).__name__,
                exc,
            )
            return True

    def _window_key(self) -> str:
        """The client's counter in the current window (and when that window ends)."""
        window = int(self.timer() // self.duration)
        self.window_ends = (window + 1) * self.duration
        return f"{self.key}:{window}"

    def _count(self, request) -> int:
        """This window's requests of the client so far, this one included."""
        key = self._window_key()
        # A token request may have been counted with its token lookup (one_round_trip.py).
        counted = getattr(getattr(request, "auth", None), "throttle_count", None)
        if counted is not None and counted[0] == key:
            return counted[1]
        try:
            return self.cache.incr(key)  # one round trip, but for a window's first request
        except ValueError:  # no count yet in this window
            if self.cache.add(key, 1, self.duration + 1):
                return 1
            return self.cache.incr(key)

    def wait(self) -> float:
        """Seconds until the client's window ends (Retry-After)."""
        return max(1.0, self.window_ends - self.timer())


class AnonThrottle(_RateFromSettings, AnonRateThrottle):
    """Requests without a signed-in user, per client address."""


class UserThrottle(_RateFromSettings, UserRateThrottle):
    """Requests of a signed-in user or token, per user."""

    @classmethod
    def window_for(cls, user_id: int) -> tuple[str, int] | None:
        """(the user's counter key in the current window, its seconds to live), or None
        without a rate."""
        throttle = cls()
        if throttle.rate is None:
            return None
        throttle.key = throttle.cache_format % {"scope": throttle.scope, "ident": user_id}
        return throttle._window_key(), throttle.duration + 1


@checks.register(checks.Tags.caches)
def check_shared_throttle_cache(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Warn when, with DEBUG off, throttles and serving caches live in one process."""
    alias = throttle_cache_alias()
    backend = settings.CACHES[alias]["BACKEND"]
    if settings.DEBUG or backend not in PER_PROCESS_BACKENDS:
        return []
    return [
        checks.Warning(
            f"CACHES[{alias!r}] is {backend.rsplit('.', 1)[-1]}, private to each process: "
            "with several web workers the API throttles count per worker (a client gets "
            "workers x API_THROTTLE_ANON), and serving's cached lists are invalidated only "
            "in the process that changed them.",
            hint="Set CACHE_URL to a Redis URL every web process shares (with a single "
            "web process this can be ignored).",
            id="recommendations.W001",
        )
    ]
