"""A token request's cache reads, the token's user, the user's throttle count and (for
the views that serve lists) the user's serving state, in one Redis round trip.

Each is a round trip of its own otherwise (about 0.1 ms each to a local Redis, a fifth
of a constant API request's time). The throttle count and the state are keyed by the
user, who is only known once the token is read; but a token's user never changes (keys
are random and never reused), so each process remembers which user a token it has seen
belongs to and sends the commands together from that token's second request on.
Revocation is unchanged: the cached user is still read on every request (and deleted
when the token is deleted or the user saved), and a count or a state is only used for
the user the request is then authenticated as.

Only for a Redis cache that the throttles share (config/caches.py's two aliases of one
URL); anything else, or an error, takes the separate reads as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches

from config.caches import REDIS_BACKEND

from .throttling import CACHE_ERRORS, UserThrottle, throttle_cache_alias

# Tokens whose user a process remembers; the map is emptied when it fills (a token's
# next request then takes two round trips again, once).
MAX_REMEMBERED_TOKENS = 10_000
_users_of_tokens: dict[str, int] = {}
_lock = threading.Lock()


def remember_user(cache_key: str, user_id: int) -> None:
    """Note that the token behind ``cache_key`` belongs to ``user_id``."""
    if _users_of_tokens.get(cache_key) == user_id:
        return
    with _lock:
        if len(_users_of_tokens) >= MAX_REMEMBERED_TOKENS:
            _users_of_tokens.clear()
        _users_of_tokens[cache_key] = user_id


def _shared_redis() -> bool:
    """Whether the default cache and the throttles' are one Redis server and database."""
    alias = throttle_cache_alias()
    default, counts = settings.CACHES["default"], settings.CACHES[alias]
    return (
        alias != "default"
        and default["BACKEND"] == counts["BACKEND"] == REDIS_BACKEND
        and default["LOCATION"] == counts["LOCATION"]
    )


def cached_user_and_count(
    cache_key: str, also: Callable[[int], list[str]] | None = None
) -> tuple[dict[str, Any] | None, tuple | None, dict[str, Any]]:
    """(the cached user's fields or None, a throttle count or None, values read besides).

    The count, made in the same round trip as the read, is ``(user id, the throttle's
    window key, requests in that window)`` for the user remembered for this token; the
    caller uses it only if the request is authenticated as that user (else, or when
    None, the throttle counts as usual). ``also(user id)`` names default-cache keys to
    read in the same round trip; their values (None: absent) come back by key.
    """
    user_id = _users_of_tokens.get(cache_key)
    window = UserThrottle.window_for(user_id) if user_id is not None else None
    if window is None or not _shared_redis():
        return cache.get(cache_key), None, {}
    counter_key, ttl = window
    counts = caches[throttle_cache_alias()]
    extra = also(user_id) if also is not None else []
    try:
        pipe = counts.client.get_client(write=True).pipeline(transaction=False)
        pipe.get(cache.make_key(cache_key))
        pipe.incr(counts.make_key(counter_key))
        pipe.expire(counts.make_key(counter_key), ttl)
        for key in extra:
            pipe.get(cache.make_key(key))
        blob, count, _, *blobs = pipe.execute()
    except CACHE_ERRORS:  # the separate reads degrade each in their own way
        return cache.get(cache_key), None, {}
    held = cache.client.decode(blob) if blob is not None else None
    values = {
        key: cache.client.decode(value) if value is not None else None
        for key, value in zip(extra, blobs, strict=True)
    }
    return held, (user_id, counter_key, count), values
