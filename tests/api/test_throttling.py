"""Throttles: rates from settings, anonymous per address and signed-in per user, 429."""

import pytest

pytestmark = pytest.mark.django_db


def test_anonymous_clients_get_429_beyond_their_rate(settings, anon, catalogue):
    settings.API_THROTTLE_RATES = {"anon": "3/min", "user": "100/min"}
    codes = [anon.get("/api/products/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = anon.get("/api/trending/")
    assert response.status_code == 429
    assert "detail" in response.json() and int(response["Retry-After"]) > 0


def test_each_signed_in_client_has_its_own_budget(settings, as_alice, as_bob, catalogue):
    settings.API_THROTTLE_RATES = {"anon": "1/min", "user": "2/min"}
    assert [as_alice.get("/api/products/").status_code for _ in range(3)] == [200, 200, 429]
    assert as_bob.get("/api/products/").status_code == 200  # bob is counted apart


def test_no_rate_means_no_limit(settings, anon, catalogue):
    settings.API_THROTTLE_RATES = {"anon": None, "user": None}
    assert {anon.get("/api/products/").status_code for _ in range(30)} == {200}
