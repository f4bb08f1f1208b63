"""What serving keeps in the configured cache, and how it is invalidated.

- the active version (id, refresh stamp, creation time): short-lived, dropped when a
  version is saved (activation) or its lists are refreshed;
- per shopper, the candidate state (precomputed list, recent products, their
  neighbours, hidden and bought products): dropped when the shopper acts or clears
  their history, and ignored when the active version changes (the stamp is inside);
- per product, its related lists for the active version;
- trending ids (recent popularity), for a minute.

Only ids and scores are cached: availability is always read from fresh product rows.
Imports only models, so tracking and training may call the ``forget_*`` functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache

from ..models import ModelVersion

ACTIVE_KEY = "recs:active"
ACTIVE_SECONDS = 30


@dataclass(frozen=True)
class ActiveVersion:
    """What serving needs to know about the active version."""

    id: int
    stamp: str  # changes when the version's lists change (activation, refresh)
    created: datetime  # products created after this have no learned neighbours


def active_version() -> ActiveVersion | None:
    """The active version, cached briefly (and dropped on activation)."""
    hit = cache.get(ACTIVE_KEY)
    if hit is not None:
        return hit or None
    row = (
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE)
        .values_list("pk", "activated", "refreshed", "created")
        .first()
    )
    value: ActiveVersion | bool = False
    if row is not None:
        pk, activated, refreshed, created = row
        stamp = f"{pk}.{(refreshed or activated or created).timestamp():.6f}"
        value = ActiveVersion(id=pk, stamp=stamp, created=created)
    cache.set(ACTIVE_KEY, value, ACTIVE_SECONDS)
    return value or None


def forget_active() -> None:
    """A version was activated or its lists rewritten: read it again."""
    cache.delete(ACTIVE_KEY)


def shopper_key(user_id: int | None, anonymous_id: str = "") -> str:
    """The cache key of a shopper's candidate state ("" for nobody)."""
    if user_id is not None:
        return f"recs:shopper:u:{user_id}"
    return f"recs:shopper:a:{anonymous_id}" if anonymous_id else ""


def forget_shopper(user_id: int | None = None, anonymous_id: str = "") -> None:
    """The shopper acted (or cleared their history): rebuild their candidates."""
    key = shopper_key(user_id, anonymous_id)
    if key:
        cache.delete(key)


def shopper_seconds() -> int:
    """How long a shopper's candidate state is kept (RECS_CACHE_SECONDS)."""
    return settings.RECOMMENDATIONS.get("CACHE_SECONDS", 300)
