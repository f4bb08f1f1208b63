"""What an authenticated API request reads besides its own work: the token's user from
the cache (revoked at once), never the session, one throttle count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from recommendations.api.auth import token_cache_key
from tests.recommendations.api.conftest import token_client

pytestmark = pytest.mark.django_db


def _queries(client, path: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        status = client.get(path).status_code
    return status, [q["sql"] for q in captured.captured_queries]


def test_a_known_token_is_not_read_from_the_database_again(as_alice, catalogue):
    status, first = _queries(as_alice, "/api/trending/")
    assert status == 200 and any("authtoken_token" in sql for sql in first)
    status, again = _queries(as_alice, "/api/trending/")
    assert status == 200
    assert not any("authtoken_token" in sql or "auth_user" in sql for sql in again)


def test_a_deleted_token_is_refused_on_the_next_request(alice, catalogue):
    client = token_client(alice)
    assert client.get("/api/trending/").status_code == 200  # now cached
    Token.objects.filter(user=alice).delete()
    assert client.get("/api/trending/").status_code == 401


def test_a_deactivated_users_token_is_refused_on_the_next_request(alice, catalogue):
    client = token_client(alice)
    assert client.get("/api/trending/").status_code == 200
    alice.is_active = False
    alice.save()
    assert client.get("/api/trending/").status_code == 401


def test_a_demoted_user_is_read_again(staff, catalogue):
    from django.core.cache import cache

    client = token_client(staff)
    assert client.get("/api/trending/").status_code == 200
    key = token_cache_key(Token.objects.get(user=staff).key)
    assert cache.get(key)["is_staff"] is True
    staff.is_staff = False
    staff.save()
    assert cache.get(key) is None
    client.get("/api/trending/")
    assert cache.get(key)["is_staff"] is False


def test_the_cache_holds_no_token_key_and_no_password(alice, catalogue):
    from django.core.cache import cache

    client = token_client(alice)
    client.get("/api/trending/")
    key = Token.objects.get(user=alice).key
    held = cache.get(token_cache_key(key))
    assert key not in token_cache_key(key)
    assert held["username"] == "alice" and "password" not in held


def test_a_token_request_never_reads_the_session(alice, bob, catalogue, settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    client = token_client(alice)
    client.force_login(bob)  # the same client also carries a signed-in session cookie
    assert client.cookies.get(settings.SESSION_COOKIE_NAME)
    for path in ("/api/trending/", "/api/recommendations/?limit=4"):
        client.get(path)  # the token's user now cached
        status, sql = _queries(client, path)
        assert status == 200
        assert not [q for q in sql if "django_session" in q], path


def test_a_session_request_still_works(bob, catalogue):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_login(bob)
    response = client.get("/api/recommendations/?limit=4")
    assert response.status_code == 200


@pytest.fixture
def round_trips(monkeypatch):
    """Round trips to Redis: each send of one command or of a pipeline's commands."""
    import redis.connection

    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
    return sent


def test_with_redis_a_known_tokens_user_and_count_take_one_round_trip(
    alice, catalogue, redis_cache, round_trips
):
    client = token_client(alice)
    assert client.get("/api/trending/").status_code == 200  # reads the token, caches the user
    round_trips.clear()
    assert client.get("/api/trending/").status_code == 200
    sent = [_bytes(c) for c in round_trips]
    token_or_count = [c for c in sent if b"api:token:" in c or b"throttle_user" in c]
    assert len(token_or_count) == 1  # one pipeline: GET the user, INCR + EXPIRE the count
    assert all(part in token_or_count[0] for part in (b"GET", b"INCR", b"EXPIRE"))


def _bytes(command) -> bytes:
    return command if isinstance(command, bytes) else b"".join(bytes(p) for p in command)


@pytest.fixture
def one_window(monkeypatch):
    """Every request in one throttle window (a test crossing a minute would start anew)."""
    from recommendations.api.throttling import UserThrottle

    monkeypatch.setattr(UserThrottle, "timer", lambda self: 1_000_000_000.0)


def test_with_redis_the_users_budget_still_holds_and_is_shared(
    alice, catalogue, redis_cache, settings, one_window
):
    settings.API_THROTTLE_RATES = {"anon": "10000/min", "user": "3/min"}
    first, second = token_client(alice), APIClient()  # a session of the same user
    second.force_login(alice)
    codes = [first.get("/api/trending/").status_code for _ in range(2)]
    codes.append(second.get("/api/trending/").status_code)  # counted by user, not token
    codes.append(first.get("/api/trending/").status_code)
    assert codes == [200, 200, 200, 429]
    (counter,) = redis_cache.client().keys(f":1:throttle_user_{alice.pk}:*")
    assert int(redis_cache.client().get(counter)) == 4
    assert 0 < redis_cache.client().ttl(counter) <= 61


def test_with_redis_a_revoked_or_deactivated_token_is_refused_at_once(
    alice, bob, catalogue, redis_cache
):
    client = token_client(alice)
    for _ in range(2):  # the second request takes the one-round-trip path
        assert client.get("/api/trending/").status_code == 200
    Token.objects.filter(user=alice).delete()
    assert client.get("/api/trending/").status_code == 401
    client = token_client(bob)
    for _ in range(2):
        assert client.get("/api/trending/").status_code == 200
    bob.is_active = False
    bob.save()
    assert client.get("/api/trending/").status_code == 401


def test_with_redis_a_request_after_the_cached_user_expired_counts_once(
    alice, catalogue, redis_cache, one_window
):
    from django.core.cache import cache

    client = token_client(alice)
    for _ in range(2):  # the second one counted in the token lookup's round trip
        assert client.get("/api/trending/").status_code == 200
    cache.delete(token_cache_key(Token.objects.get(user=alice).key))  # as after 5 minutes
    assert client.get("/api/trending/").status_code == 200  # the user read from the database
    (counter,) = redis_cache.client().keys(f":1:throttle_user_{alice.pk}:*")
    assert int(redis_cache.client().get(counter)) == 3


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["product"]["id"] for item in response.json()["results"]]


def test_with_redis_a_list_reads_the_shoppers_state_in_the_token_round_trip(
    alice, catalogue, redis_cache, round_trips
):
    client = token_client(alice)
    client.get("/api/recommendations/?limit=4")  # the token's user now remembered
    state = f"recs:shopper:u:{alice.pk}".encode()
    for path in ("/api/recommendations/?limit=4", "/api/trending/?limit=4"):
        round_trips.clear()
        assert client.get(path).status_code == 200
        sent = [_bytes(c) for c in round_trips]
        (pipeline,) = [c for c in sent if b"api:token:" in c]
        assert state in pipeline, path  # read with the user and the count
        assert not [c for c in sent if state in c and c is not pipeline], path
    round_trips.clear()
    assert client.get(f"/api/products/{catalogue[0].pk}/").status_code == 200
    assert not [c for c in map(_bytes, round_trips) if state in c]  # not a list: not read


def test_with_redis_the_state_read_in_the_round_trip_is_the_shoppers_latest(
    alice, catalogue, redis_cache
):
    by_token, by_session = token_client(alice), APIClient()
    by_session.force_login(alice)  # no token: the state read on its own
    by_token.get("/api/recommendations/?limit=6")
    viewed = [p for p in catalogue if p.category.slug == "garden"][:3]
    for i, product in enumerate(viewed):
        events = [{"product": product.pk, "kind": "view", "client_event_id": f"v{i}"}]
        assert by_token.post("/api/events/", events, format="json").status_code == 201
        listed = _ids(by_token.get("/api/recommendations/?limit=6"))
        assert listed == _ids(by_session.get("/api/recommendations/?limit=6"))
    assert {p.pk for p in viewed}.isdisjoint(listed)  # viewed just now: left out
