"""API tokens: the issue_api_token command and the admin."""

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from tests.recommendations.api.conftest import token_client

pytestmark = pytest.mark.django_db


def issue(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("issue_api_token", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_command_prints_the_same_key_until_reset(alice):
    key = issue("alice")
    assert key == Token.objects.get(user=alice).key and len(key) == 40
    assert issue("alice") == key
    new = issue("alice", "--reset")
    assert new != key and Token.objects.get(user=alice).key == new


def test_command_rejects_unknown_users(db):
    with pytest.raises(CommandError, match="No user 'ghost'"):
        issue("ghost")


def test_a_rotated_token_stops_working(alice):
    client = token_client(alice)
    assert client.get("/api/products/").status_code == 200
    issue("alice", "--reset")
    response = client.get("/api/products/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_tokens_are_listed_and_issued_in_the_admin(admin_client, alice):
    assert admin_client.get("/admin/authtoken/tokenproxy/").status_code == 200
    response = admin_client.post("/admin/authtoken/tokenproxy/add/", {"user": alice.pk})
    assert response.status_code == 302
    assert Token.objects.filter(user=alice).exists()
