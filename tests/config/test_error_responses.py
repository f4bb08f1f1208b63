"""Errors answer JSON under /api/ and the site's page elsewhere; a locked SQLite
database answers 503 with Retry-After, never a 500 (config/errors.py and the API's
exception handler)."""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError
from django.test import Client

from config.errors import is_database_locked, server_error

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.config.error_urls")]


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("path", ["/api/fail/", "/api/plain-fail/"])
def test_a_server_error_under_api_is_json(client, path, caplog):
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get(path)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Server error."}
    logged = [
        r for r in caplog.records if r.name == "django.request" and r.levelno == logging.ERROR
    ]
    assert logged and logged[0].exc_info and "a bug" in str(logged[0].exc_info[1])


def test_a_server_error_elsewhere_is_the_sites_page(client):
    response = client.get("/fail/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert b"Something went wrong" in response.content


@pytest.mark.parametrize("debug", [False, True])
def test_a_locked_database_answers_503_with_retry_after(client, settings, debug):
    settings.DEBUG = debug  # the embedded default runs with DEBUG on (make demo)
    api = client.post("/api/locked/", {}, content_type="application/json")
    assert (api.status_code, api["Retry-After"], api["Content-Type"]) == (
        503,
        "2",
        "application/json",
    )
    assert "busy" in api.json()["detail"]
    page = client.get("/locked/")
    assert (page.status_code, page["Retry-After"]) == (503, "2")
    assert page["Content-Type"].startswith("text/html") and b"busy" in page.content


def test_the_500_handler_maps_a_lock_raised_outside_a_view(rf):
    """E.g. the session middleware saving the session: Django calls handler500 while
    the exception is being handled."""
    try:
        raise OperationalError("database is locked")
    except OperationalError:
        api = server_error(rf.get("/api/events/"))
        page = server_error(rf.get("/cart/"))
    assert (api.status_code, api["Retry-After"], api["Content-Type"]) == (
        503,
        "2",
        "application/json",
    )
    assert (page.status_code, page["Retry-After"]) == (503, "2")


def test_only_lock_errors_count_as_locked():
    assert is_database_locked(OperationalError("database is locked"))
    assert is_database_locked(OperationalError("database table is locked"))
    assert not is_database_locked(OperationalError("no such table: shop_product"))
    assert not is_database_locked(ValueError("database is locked"))
    assert not is_database_locked(None)
