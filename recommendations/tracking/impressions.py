"""Impressions: which products a page's widgets showed, written per page or in batches."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from config.pg_copy import columns_of, copy_text, copy_value
from shop import shoppers

from ..models import Interaction
from .background import BackgroundBatches
from .rows import EVENT_FIELDS, user_or_none

if TYPE_CHECKING:
    from django.http import HttpRequest


def record_impressions(request: HttpRequest, shown: list[tuple[int | None, str, list[int]]]) -> int:
    """Log every widget's impressions of one page in one insert; returns rows written.

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
    """One page's impressions for ``owner`` (``impression_owner``), as EVENT_FIELDS rows."""
    user, guest = owner
    user_id = user.pk if user is not None else None
    now = timezone.now()
    kind = Interaction.Kind.IMPRESSION.value
    # quantity, basket, sender and client_event_id as defaulted
    return [
        (user_id, guest, pid, kind, now, 1, source[:100], version_id, "", "", None)
        for version_id, source, ids in shown
        for pid in ids
    ]


def insert_impression_rows(rows: list[tuple]) -> int:
    """Insert impression rows (``impression_rows``, any number of pages) in one statement."""
    if not rows:
        return 0
    outer = connection.in_atomic_block  # inside a caller's transaction: commit with it
    with transaction.atomic():
        if connection.vendor == "postgresql":
            if not outer:
                # Analytics rows: a crash may lose the last few; nobody waits on a flush.
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL synchronous_commit TO OFF")
            # no client ids: nothing to skip
            copy_text(
                Interaction._meta.db_table, columns_of(Interaction, EVENT_FIELDS), copy_lines(rows)
            )
        else:
            Interaction.objects.bulk_create(
                [Interaction(**dict(zip(EVENT_FIELDS, row, strict=True))) for row in rows]
            )
    return len(rows)


def copy_lines(rows: list[tuple]) -> str:
    """Impression rows in COPY's text format: pg_copy.copy_lines, faster.

    A page's rows differ only in the product (EVENT_FIELDS' third column), so the rest
    of a line is formatted once per run of rows that share it: a quarter of the time
    (0.8 against 3.0 us a row), and the batch writer thread holds its worker's
    interpreter lock, which requests wait on, that much less.
    """
    lines, shared = [], None
    for row in rows:
        if shared is None or row[:2] != shared[:2] or row[3:] != shared[2:]:
            shared = row[:2] + row[3:]
            head = "\t".join(map(copy_value, row[:2])) + "\t"
            tail = "\t" + "\t".join(map(copy_value, row[3:])) + "\n"
        lines.append(f"{head}{row[2]:d}{tail}")
    return "".join(lines)


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


def flush_queued_impressions() -> None:
    """Write this process's queued impressions before a click is checked against them."""
    if QUEUED_IMPRESSIONS.pending():
        QUEUED_IMPRESSIONS.drain()
