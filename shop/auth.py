"""The one authentication backend: Django's ModelBackend behind django-axes' lockout."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


class ThrottledModelBackend(AxesStandaloneBackend, ModelBackend):
    """Refuses locked-out IPs and usernames (django-axes), then authenticates as usual.

    One backend rather than axes' usual pair, so ``login(request, user)`` needs no
    ``backend=`` argument. Every web login (the shop's and the admin's forms) passes the
    request and is throttled; calls without one (scripts, the test client's ``login()``)
    have no client IP to throttle, where axes alone would raise instead.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if request is not None:
            # Raises AxesBackendPermissionDenied when locked out; None otherwise.
            super().authenticate(request, username, password, **kwargs)
        return ModelBackend.authenticate(self, request, username, password, **kwargs)
