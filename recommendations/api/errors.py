"""The API's exception handler: every error under /api/ answers JSON."""

from __future__ import annotations

from typing import Any

from django.core.signals import got_request_exception
from django.utils.log import log_response
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from config.errors import busy_response, is_database_locked


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Any:
    """DRF's handler, plus: a locked SQLite database -> 503 with Retry-After, and any
    other unexpected exception -> 500 ``{"detail": "Server error."}`` (logged with its
    traceback), where DRF would let Django answer its HTML error page."""
    response = exception_handler(exc, context)
    if response is not None:
        return response
    set_rollback()
    request = context["request"]
    if is_database_locked(exc):
        return busy_response(request)
    # What Django does for an uncaught exception: tell error reporters (and the test
    # client), log it with the traceback.
    got_request_exception.send(sender=None, request=request._request)
    response = Response({"detail": "Server error."}, status=500)
    log_response(
        "Internal Server Error: %s",
        request.path,
        response=response,
        request=request._request,
        exception=exc,
    )
    return response
