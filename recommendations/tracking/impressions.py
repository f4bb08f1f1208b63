"""Impressions: the lists a page's widgets showed, a row each, written per page or in batches."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from config.pg_copy import copy_rows
from shop import shoppers

from ..models import Impression
from .background import BackgroundBatches
from .rows import user_or_none

if TYPE_CHECKING:
    from django.http import HttpRequest

# The columns a writer fills, in the order of impression_rows' tuples.
IMPRESSION_FIELDS = (
    "user_id",
    "anonymous_id",
    "model_version_id",
    "source",
    "created",
    "product_ids",
    "size",
)


def record_impressions(request: HttpRequest, shown: list[tuple[int | None, str, list[int]]]) -> int:
    """Log every widget's list of one page in one insert; returns the lists written.

    ``shown``: (version id, source "rec:<widget>:v<id>", product ids) per widget.
    A guest gets an anonymous id here, so a later click can be checked against it.
    """
    return write_impressions(impression_owner(request), shown)


def impression_owner(request: HttpRequest) -> tuple[Any, str]:
    """Whose impressions a page records: (user or None, anonymous id).

    Call it while the response can still change: a guest gets an anonymous id here (in
    the session), so a later click can be checked against it.
    """
    user = user_or_none(getattr(request, "user", None))
    return user, "" if user is not None else shoppers.anonymous_id(request)


def impression_rows(
    owner: tuple[Any, str], shown: list[tuple[int | None, str, list[int]]]
) -> list[tuple]:
    """One page's lists for ``owner`` (``impression_owner``), as IMPRESSION_FIELDS rows."""
    user, guest = owner
    user_id = user.pk if user is not None else None
    now = timezone.now()
    return [
        (user_id, guest, version_id, source[:100], now, list(ids), len(ids))
        for version_id, source, ids in shown
        if ids
    ]


def insert_impression_rows(rows: list[tuple]) -> int:
    """Insert lists (``impression_rows``, any number of pages) in one statement; returns
    how many were written."""
    if not rows:
        return 0
    outer = connection.in_atomic_block  # inside a caller's transaction: commit with it
    with transaction.atomic():
        if connection.vendor == "postgresql":
            if not outer:
                # Analytics rows: a crash may lose the last few; nobody waits on a flush.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            # one row per list: the shared COPY path, the product ids as JSON text
            copy_rows(Impression, IMPRESSION_FIELDS, [_json_ids(row) for row in rows])
        else:
            Impression.objects.bulk_create(
                [Impression(**dict(zip(IMPRESSION_FIELDS, row, strict=True))) for row in rows]
            )
    return len(rows)


def _json_ids(row: tuple) -> tuple:
    return (*row[:5], json.dumps(row[5]), *row[6:])


def write_impressions(
    owner: tuple[Any, str], shown: list[tuple[int | None, str, list[int]]]
) -> int:
    """Insert one page's impressions for ``owner`` (``impression_owner``) now."""
    return insert_impression_rows(impression_rows(owner, shown))


def _flush_seconds() -> float:
    return max(0.0, float(settings.RECOMMENDATIONS.get("IMPRESSIONS_FLUSH_MS", 0))) / 1000.0


# This process's impressions waiting for their batch (see background.py).
QUEUED_IMPRESSIONS = BackgroundBatches(insert_impression_rows, _flush_seconds)


def queue_impressions(
    owner: tuple[Any, str], shown: list[tuple[int | None, str, list[int]]]
) -> bool:
    """Queue one page's impressions for the next batched insert (RECS_IMPRESSIONS_FLUSH_MS
    > 0); False when batching is off and the caller must ``write_impressions`` itself."""
    if not _flush_seconds():
        return False
    QUEUED_IMPRESSIONS.submit(impression_rows(owner, shown))
    return True


def lists_shown(who: Q, version_ids: Iterable[int]) -> QuerySet:
    """(user id, guest id, version id, product ids) of the lists the shoppers in ``who``
    were shown by these versions within RECS_CLICK_WINDOW_HOURS: what a click's
    "rec:...:v<id>" source must be backed by. Queued lists of this process first."""
    flush_queued_impressions()
    hours = settings.RECOMMENDATIONS.get("CLICK_WINDOW_HOURS", 24)
    return (
        Impression.objects.filter(
            who,
            model_version_id__in=list(version_ids),
            created__gte=timezone.now() - timedelta(hours=hours),
        )
        .order_by()
        .values_list("user_id", "anonymous_id", "model_version_id", "product_ids")
        .distinct()  # the same list shown again is one row: decoded once
    )


def lists_showing(
    who: Q, version_ids: Iterable[int], product_ids: Iterable[int]
) -> set[tuple[int | None, str, int, int]]:
    """(user id, guest id, version id, product id): which of ``product_ids`` the lists
    in ``lists_shown`` showed.

    The database sends each distinct list once: a shopper shown the same list on every
    page (the API benchmark's, 200,000 lists in the window) costs 0.13 s, not the 1.6 s
    of decoding every row; one jsonb containment test per product and list in the
    database was slower still for a batch of 50 products (0.55 s)."""
    wanted = set(product_ids)
    return {
        (u, "" if u else g, v, p)
        for u, g, v, ids in lists_shown(who, version_ids)
        for p in ids
        if p in wanted
    }


def flush_queued_impressions() -> None:
    """Write this process's queued impressions before a click is checked against them."""
    if QUEUED_IMPRESSIONS.pending():
        QUEUED_IMPRESSIONS.drain()
