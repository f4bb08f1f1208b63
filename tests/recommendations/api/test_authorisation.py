"""Who may call what: anonymous, shopper A, shopper B and staff against every endpoint,
and A never sees or touches B's list or history."""

import pytest
from rest_framework.test import APIClient

from recommendations.models import Interaction
from tests.recommendations.api.conftest import token_client

pytestmark = pytest.mark.django_db

ANON, ALICE, BOB, STAFF = "anonymous", "alice", "bob", "staff"

# (method, path template, body) -> expected status per caller. Anonymous writes carry no
# CSRF token (a foreign site's request), so they are refused.
MATRIX = [
    (("get", "/api/recommendations/", None), {ANON: 200, ALICE: 200, BOB: 200, STAFF: 200}),
    (
        ("get", "/api/users/{alice}/recommendations/", None),
        {ANON: 401, ALICE: 403, BOB: 403, STAFF: 200},
    ),
    (
        ("get", "/api/users/{bob}/recommendations/", None),
        {ANON: 401, ALICE: 403, BOB: 403, STAFF: 200},
    ),
    (("get", "/api/trending/", None), {ANON: 200, ALICE: 200, BOB: 200, STAFF: 200}),
    (("get", "/api/products/", None), {ANON: 200, ALICE: 200, BOB: 200, STAFF: 200}),
    (("get", "/api/products/{p1}/", None), {ANON: 200, ALICE: 200, BOB: 200, STAFF: 200}),
    (
        ("get", "/api/products/{p1}/related/", None),
        {ANON: 200, ALICE: 200, BOB: 200, STAFF: 200},
    ),
    (
        ("post", "/api/events/", {"sku": "P-01", "kind": "view"}),
        {ANON: 403, ALICE: 201, BOB: 201, STAFF: 201},
    ),
    (
        ("post", "/api/events/", {"sku": "P-01", "kind": "view", "user": "alice"}),
        {ANON: 403, ALICE: 403, BOB: 403, STAFF: 201},
    ),
    (("delete", "/api/me/history/", None), {ANON: 403, ALICE: 200, BOB: 200, STAFF: 200}),
    (("get", "/api/schema/", None), {ANON: 200, ALICE: 200, BOB: 200, STAFF: 200}),
    (("get", "/api/docs/", None), {ANON: 200, ALICE: 200, BOB: 200, STAFF: 200}),
]
CASES = [
    pytest.param(call, caller, status, id=f"{call[0]} {call[1]} as {caller}")
    for call, expected in MATRIX
    for caller, status in expected.items()
]


@pytest.fixture
def clients(alice, bob, staff):
    return {
        ANON: APIClient(enforce_csrf_checks=True),
        ALICE: token_client(alice),
        BOB: token_client(bob),
        STAFF: token_client(staff),
    }


@pytest.mark.parametrize("call, caller, status", CASES)
def test_matrix(clients, served_lists, catalogue, alice, bob, call, caller, status):
    method, template, body = call
    path = template.format(alice=alice.pk, bob=bob.pk, p1=catalogue[0].pk)
    before = Interaction.objects.count()
    response = getattr(clients[caller], method)(path, body, format="json" if body else None)
    assert response.status_code == status
    if status >= 400:  # a refused write writes nothing
        assert Interaction.objects.count() == before


def test_a_shopper_never_gets_another_shoppers_list(clients, served_lists, catalogue):
    alices, bobs = {p.pk for p in catalogue[:6]}, {p.pk for p in catalogue[6:]}
    for caller, own, other in ((ALICE, alices, bobs), (BOB, bobs, alices)):
        body = clients[caller].get("/api/recommendations/", {"limit": 6}).json()
        got = {item["product"]["id"] for item in body["results"]}
        assert got == own and not got & other


def test_a_shopper_clears_only_their_own_history(clients, served_lists, alice, bob):
    for caller in (ALICE, BOB):
        clients[caller].post("/api/events/", {"sku": "P-02", "kind": "cart"}, format="json")
    clients[ALICE].delete("/api/me/history/")
    assert not Interaction.objects.filter(user=alice).exists()
    assert Interaction.objects.filter(user=bob, kind="cart").count() == 1
    # and the staff view of bob's list still answers his list
    body = clients[STAFF].get(f"/api/users/{bob.pk}/recommendations/", {"limit": 3}).json()
    assert len(body["results"]) == 3


def test_unauthenticated_answers_name_the_token_scheme(clients, served_lists, alice):
    response = clients[ANON].get(f"/api/users/{alice.pk}/recommendations/")
    assert response["WWW-Authenticate"] == "Token"
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-real-key")
    assert bad.get("/api/products/").status_code == 401
