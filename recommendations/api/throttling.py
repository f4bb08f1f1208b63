"""Throttles whose rates are read from ``settings.API_THROTTLE_RATES`` at request time.

DRF's own classes copy the rates when they are imported, so ``override_settings`` in
tests (or a changed environment) would not reach them. Anonymous clients are counted
per address as config/client_ip.py finds it, the same address login lockouts use.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

from config.client_ip import client_ip


class _RateFromSettings:
    scope: str

    def get_rate(self) -> str | None:
        """The scope's rate ("120/min"), or None for no limit."""
        return settings.API_THROTTLE_RATES.get(self.scope) or None

    def get_ident(self, request) -> str:
        """The client address, by the rule login lockouts use (TRUSTED_PROXY_COUNT)."""
        return client_ip(request) or ""


class AnonThrottle(_RateFromSettings, AnonRateThrottle):
    """Requests without a signed-in user, per client address."""


class UserThrottle(_RateFromSettings, UserRateThrottle):
    """Requests of a signed-in user or token, per user."""
