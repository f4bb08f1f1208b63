"""Floors for bench/api_bench.py: what the same gunicorn answers when the work is nothing.

- ``GET /floor/bare``: a constant body from a plain WSGI callable (no Django): the
  floor of gunicorn, wrk and the loopback on this machine;
- ``GET /floor/django/``: a constant body from a plain Django view behind the project's
  middleware: the floor of Django itself here;
- ``GET /floor/constant/``: a constant body from a DRF view behind the project's whole
  stack (every middleware, the API's token authentication, permission and throttles):
  the fixed cost every authenticated API request pays before its own work;
- anything else: the project's own application (``config.wsgi``).

Served by a gunicorn of its own with the same settings as the measured one, so the
measured server runs ``config.wsgi`` unchanged.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402  (settings chosen first)

_django = get_wsgi_application()  # sets Django up: the imports below need the apps

from django.conf import settings  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import include, path  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

BODY = b'{"ok":true}'


class Constant(APIView):
    """The API's authentication, permission and throttles, then a constant answer."""

    def get(self, request):  # noqa: D102
        return Response({"ok": True})


def plain(request):
    """A constant answer from a plain Django view (the project's middleware only)."""
    return HttpResponse(BODY, content_type="application/json")


urlpatterns = [
    path("floor/django/", plain),
    path("floor/constant/", Constant.as_view()),
    path("", include("config.urls")),
]
settings.ROOT_URLCONF = __name__  # read per request: the handler resolves with this module


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/floor/bare":
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
        )
        return [BODY]
    return _django(environ, start_response)
