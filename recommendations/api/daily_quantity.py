"""RECS_API_DAILY_QUANTITY: how many units of views, carts and purchases a shopper (or
guest) has sent in the last 24 hours, without reading all of their events per batch.

The exact figure is a sum over the shopper's stored events, which walks every event of
theirs in the index (an integration's test shopper with 190,000 rows: 26 ms of a 65 ms
batch of 1,000). It is read from the database once per shopper
and ``CACHE_SECONDS`` and kept in the cache; each batch the API stores adds its own
units to it. So the figure is the database's as of at most ``CACHE_SECONDS`` ago plus
the API's batches since: events the shop records itself meanwhile (page views,
checkouts) are counted at the next read, and events that leave the 24 hours meanwhile
still count until then (stricter, never looser, than the window). A lost or unreachable
cache means the database is read again, so the limit holds through a cache flush.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Q, Sum
from django.utils import timezone

from ..models import Interaction

# The kinds Trending and the models weigh: what the daily quantity counts.
WEIGHED_KINDS = ("view", "cart", "purchase")
CACHE_SECONDS = 300


def cache_key(user_id: int | None, anonymous_id: str) -> str:
    who = f"u:{user_id}" if user_id else f"a:{anonymous_id}"
    return f"recs:api-daily-quantity:{who}"


def sent_today(user_id: int | None, anonymous_id: str) -> int:
    """Units the shopper sent in the last 24 hours (see the module's note)."""
    key = cache_key(user_id, anonymous_id)
    total = cache.get(key)
    if total is None:
        owner = Q(user_id=user_id) if user_id else Q(user__isnull=True, anonymous_id=anonymous_id)
        total = (
            Interaction.objects.filter(
                owner,
                kind__in=WEIGHED_KINDS,
                ingested__gte=timezone.now() - timedelta(days=1),
            ).aggregate(total=Sum("quantity"))["total"]
            or 0
        )
        cache.add(key, total, CACHE_SECONDS)  # a concurrent batch's figure wins
    return int(total)


def count_stored(rows: list[dict[str, Any]], *, exact: bool) -> None:
    """After a shopper's batch (``rows`` of tracking.record_batch) is stored: add its
    weighed units to their figure, or, when not ``exact`` (some events were duplicates
    and not stored), drop the figure so that the next batch reads the database."""
    units = sum(row["quantity"] for row in rows if row["kind"] in WEIGHED_KINDS)
    if not units:
        return
    key = cache_key(rows[0]["user_id"], rows[0]["anonymous_id"])
    if not exact:
        cache.delete(key)
        return
    with suppress(ValueError):  # expired meanwhile: the next batch reads the database
        cache.incr(key, units)
