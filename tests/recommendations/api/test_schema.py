"""The OpenAPI schema, the docs page, and schemathesis fuzzing the API with its own
schema: no 5xx, and every answer conforms to what the schema says."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.recommendations.api.conftest import token_client

pytestmark = pytest.mark.django_db

ENDPOINTS = {
    ("/api/recommendations/", "get"),
    ("/api/users/{id}/recommendations/", "get"),
    ("/api/trending/", "get"),
    ("/api/products/", "get"),
    ("/api/products/{id}/", "get"),
    ("/api/products/{id}/related/", "get"),
    ("/api/events/", "post"),
    ("/api/me/history/", "delete"),
    ("/api/pages/home/", "get"),
    ("/api/pages/cart/", "get"),
    ("/api/pages/products/{id}/", "get"),
}


@pytest.fixture
def openapi(anon) -> dict:
    response = anon.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_lists_every_endpoint_with_its_errors(openapi):
    operations = {(path, method) for path, ops in openapi["paths"].items() for method in ops}
    assert operations == ENDPOINTS
    for path, method in ENDPOINTS:
        responses = openapi["paths"][path][method]["responses"]
        assert {"401", "429"} <= set(responses), (path, method)
        if method == "get" and "{id}" not in path and path != "/api/products/":
            assert "400" in responses, path
    assert {"400", "403", "413", "415"} <= set(
        openapi["paths"]["/api/events/"]["post"]["responses"]
    )
    related = openapi["paths"]["/api/products/{id}/related/"]["get"]
    kind = next(p for p in related["parameters"] if p["name"] == "kind")
    assert set(kind["schema"]["enum"]) == {"similar", "bought_together", "also_viewed"}
    assert set(openapi["components"]["securitySchemes"]) == {"tokenAuth", "cookieAuth"}


def test_docs_are_served_from_our_static_files_without_inline_code(anon):
    page = anon.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page
    assert "<style" not in page and "<script>" not in page  # CSP: no inline code
    script = anon.get("/api/docs/", {"script": ""})
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


def _load_schema() -> schemathesis.BaseSchema:
    """The schema the API serves, generated in-process (no request, no database)."""
    from drf_spectacular.generators import SchemaGenerator

    loaded = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(public=True))
    loaded.app = get_wsgi_application()  # calls go straight to Django's WSGI handler
    return loaded


schema = _load_schema()


@pytest.fixture
def _fuzz_data(served_lists, settings):
    """Data to hit, no throttling, and the test's database connection kept open.

    Calls go through the real WSGI handler, whose request_started/finished signals
    close the connection (and with it the test's transaction on PostgreSQL); Django's
    test client disconnects the same receiver for the same reason.
    """
    settings.API_THROTTLE_RATES = {"anon": None, "user": None}
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_fuzz_the_api_with_its_own_schema(case, staff, _fuzz_data):
    """Staff token: every operation is reachable (users' lists, events for others)."""
    key = token_client(staff)._credentials["HTTP_AUTHORIZATION"]
    response = case.call(headers={"Authorization": key})
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
