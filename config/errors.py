"""Errors the whole site answers the same way: JSON under /api/, a page elsewhere.

A write that SQLite could not lock within its timeout (``OperationalError: database is
locked``) is a busy server, not a bug: it answers 503 with Retry-After, never a 500.
``DatabaseLockedMiddleware`` maps it for views (with DEBUG on too); ``server_error``,
the 500 handler, maps it wherever else it was raised, and answers JSON for API paths.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

API_PREFIX = "/api/"
RETRY_AFTER_SECONDS = 2


def is_database_locked(exc: BaseException | None) -> bool:
    """True for SQLite's "database is locked" (or "... table is locked") error."""
    return isinstance(exc, OperationalError) and "is locked" in str(exc)


def is_api(request: HttpRequest) -> bool:
    """True for requests under /api/, whose every answer is JSON."""
    return request.path.startswith(API_PREFIX)


def busy_response(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON ``{"detail"}`` under /api/, a short page elsewhere."""
    detail = "The database is busy with other writes; retry shortly."
    if is_api(request):
        response: HttpResponse = JsonResponse({"detail": detail}, status=503)
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseLockedMiddleware:
    """A view that raised "database is locked" answers ``busy_response``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """Django's hook for exceptions raised by views."""
        return busy_response(request) if is_database_locked(exception) else None


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 handler (DEBUG off): JSON under /api/, the site's page elsewhere; a
    locked database, raised outside a view (a middleware saving the session), 503."""
    if is_database_locked(sys.exc_info()[1]):
        return busy_response(request)
    if is_api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)
