"""The site's URLs plus views that fail, for tests/test_error_responses.py."""

from django.db import OperationalError
from django.urls import path
from rest_framework.views import APIView

from config.urls import handler500
from config.urls import urlpatterns as site_patterns

__all__ = ["handler500", "urlpatterns"]


def fail(request):
    raise ValueError("a bug")


def locked(request):
    raise OperationalError("database is locked")


class Fail(APIView):
    def get(self, request):
        raise ValueError("a bug")


class Locked(APIView):
    def post(self, request):
        raise OperationalError("database is locked")


urlpatterns = [
    path("api/fail/", Fail.as_view()),
    path("api/locked/", Locked.as_view()),
    path("api/plain-fail/", fail),
    path("fail/", fail),
    path("locked/", locked),
    *site_patterns,
]
