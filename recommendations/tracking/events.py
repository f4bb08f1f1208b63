"""The behaviour log: plain functions that turn what shoppers do into Interaction rows.

Called by the signal receivers (receivers.py) and by recommendation widgets and the
API. Each write runs in its own savepoint, so a failed write never poisons the
caller's transaction; the receivers catch and log the error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from config.pg_copy import copy_rows
from shop import shoppers
from shop.shoppers import SHOPPER_ID_KEY

from ..models import Interaction, ModelVersion, UserRecommendations
from ..serving.cache import forget_shopper, remember_event, shopper_key
from .background import BackgroundBatches

if TYPE_CHECKING:
    from django.http import HttpRequest

    from shop.models import Order, Product

    from ..serving.types import Shopper

# "rec:<widget>:v<version id>" marks views/carts that followed a recommendation. At most
# 18 digits: any such id fits a 64-bit column (a longer one would overflow SQLite's).
_SOURCE_VERSION = re.compile(r"^rec:.*:v(\d{1,18})$")

# Senders (Interaction.sender) that no API client can be: the shop's own purchase rows
# and the event importer's. A client is "user:<pk>" or "guest:<id>" (``sender_of``).
SHOP_SENDER = "shop"
IMPORT_SENDER = "import"


def sender_of(user_id: int | None, anonymous_id: str) -> str:
    """The sender that scopes a client's event ids: its user, else its guest id."""
    return f"user:{user_id}" if user_id is not None else f"guest:{anonymous_id}"


def _user_or_none(user: Any) -> Any:
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def version_from_source(source: str) -> int | None:
    """The ModelVersion id named by a "rec:...:v<id>" source, if that version exists."""
    match = _SOURCE_VERSION.match(source or "")
    if not match:
        return None
    pk = int(match.group(1))
    return pk if ModelVersion.objects.filter(pk=pk).exists() else None


def credited_version(source: str, product_id: int, user: Any, anonymous_id: str) -> int | None:
    """The version a "rec:...:v<id>" source names, if it served this shopper this product.

    Only an impression of that product by that version for that shopper within
    RECS_CLICK_WINDOW_HOURS counts; a forged or stale source credits nothing.
    """
    match = _SOURCE_VERSION.match(source or "")
    if not match:
        return None
    user = _user_or_none(user)
    if user is None and not anonymous_id:
        return None
    pk = int(match.group(1))
    _store_queued_impressions()
    hours = settings.RECOMMENDATIONS.get("CLICK_WINDOW_HOURS", 24)
    who = Q(user=user) if user is not None else Q(user__isnull=True, anonymous_id=anonymous_id)
    shown = Interaction.objects.filter(
        who,
        kind=Interaction.Kind.IMPRESSION,
        product_id=product_id,
        model_version_id=pk,
        created__gte=timezone.now() - timedelta(hours=hours),
    )
    return pk if shown.exists() else None


def record_event(
    *,
    product: Product,
    kind: str,
    user: Any = None,
    anonymous_id: str | None = "",
    quantity: int = 1,
    source: str = "",
    model_version: ModelVersion | int | None = None,
    basket: str = "",
    client_event_id: str | None = None,
    request: HttpRequest | None = None,
) -> Interaction:
    """Store one event now, for a signed-in user or a guest (by anonymous id).

    A "rec:<widget>:v<id>" source credits version <id> only when that version served
    this shopper this product recently (``credited_version``).
    """
    user = _user_or_none(user)
    anonymous_id = "" if user is not None else (anonymous_id or "")
    version_id = getattr(model_version, "pk", model_version)
    if version_id is None:
        version_id = credited_version(source, product.pk, user, anonymous_id)
    with transaction.atomic():
        row = Interaction.objects.create(
            user=user,
            anonymous_id=anonymous_id,
            product=product,
            kind=kind,
            created=timezone.now(),
            quantity=quantity,
            source=source[:100],
            model_version_id=version_id,
            basket=basket,
            client_event_id=client_event_id,
            sender=sender_of(getattr(user, "pk", None), anonymous_id) if client_event_id else "",
        )
    if kind in (Interaction.Kind.VIEW, Interaction.Kind.CART):
        remember_event(getattr(user, "pk", None), anonymous_id, product.pk, kind, request)
    else:
        forget_shopper(getattr(user, "pk", None), anonymous_id)
    return row


def record_view(
    product: Product,
    *,
    user: Any = None,
    anonymous_id: str | None = "",
    source: str = "",
    request: HttpRequest | None = None,
) -> Interaction:
    """A product page was shown; following a widget's link also records a click.

    The click (and the view) carry the version only when it really served this
    shopper this product (see ``credited_version``).
    """
    view = record_event(
        product=product,
        kind=Interaction.Kind.VIEW,
        user=user,
        anonymous_id=anonymous_id,
        source=source,
        request=request,
    )
    if view.model_version_id is not None:
        record_recommendation_events(
            Interaction.Kind.CLICK,
            [product],
            user=view.user,
            anonymous_id=view.anonymous_id,
            model_version=view.model_version_id,
            source=view.source,
        )
    return view


def record_not_interested(
    product: Product, *, user: Any = None, anonymous_id: str | None = ""
) -> Interaction:
    """The shopper marked a recommended product "not interested"."""
    return record_event(
        product=product,
        kind=Interaction.Kind.NOT_INTERESTED,
        user=user,
        anonymous_id=anonymous_id,
        source="rec:for-you",
    )


def record_add_to_cart(
    product: Product,
    quantity: int = 1,
    *,
    user: Any = None,
    anonymous_id: str | None = "",
    source: str = "",
    request: HttpRequest | None = None,
) -> Interaction:
    """A product was put in the cart."""
    return record_event(
        product=product,
        kind=Interaction.Kind.CART,
        user=user,
        anonymous_id=anonymous_id,
        quantity=quantity,
        source=source,
        request=request,
    )


def record_order(
    order: Order,
    *,
    user: Any = None,
    anonymous_id: str | None = "",
    request: HttpRequest | None = None,
) -> int:
    """One purchase row per order line (basket = the order id); safe to call twice.

    Returns the number of lines seen.
    """
    user = _user_or_none(user) or order.user
    anonymous_id = "" if user is not None else (anonymous_id or order.anonymous_id or "")
    now = timezone.now()
    rows = [
        Interaction(
            user=user,
            anonymous_id=anonymous_id,
            product_id=line.product_id,
            kind=Interaction.Kind.PURCHASE,
            created=now,
            quantity=line.quantity,
            basket=str(order.pk),
            # A resent signal must not count the purchase twice. The shop's own sender:
            # no client can take these (guessable) ids first.
            client_event_id=f"order-{order.pk}-line-{line.pk}",
            sender=SHOP_SENDER,
        )
        for line in order.lines.all()
    ]
    with transaction.atomic():
        Interaction.objects.bulk_create(rows, ignore_conflicts=True)
    forget_shopper(getattr(user, "pk", None), anonymous_id)
    return len(rows)


def record_recommendation_events(
    kind: str,
    products: Iterable[Product | int],
    *,
    user: Any = None,
    anonymous_id: str | None = "",
    model_version: ModelVersion | int | None = None,
    source: str = "",
    request: HttpRequest | None = None,
) -> int:
    """Log impressions (a widget showed these products) or a click, in one insert.

    ``kind`` is "impression" or "click"; products may be instances or ids.
    Returns the number of rows written.
    """
    if kind not in (Interaction.Kind.IMPRESSION, Interaction.Kind.CLICK):
        raise ValueError(f"kind must be 'impression' or 'click', not {kind!r}")
    user = _user_or_none(user)
    anonymous_id = "" if user is not None else (anonymous_id or "")
    version_id = getattr(model_version, "pk", model_version)
    now = timezone.now()
    rows = [
        Interaction(
            user=user,
            anonymous_id=anonymous_id,
            product_id=getattr(product, "pk", product),
            kind=kind,
            created=now,
            source=source[:100],
            model_version_id=version_id,
        )
        for product in products
    ]
    with transaction.atomic():
        Interaction.objects.bulk_create(rows)
    return len(rows)


def attach_guest_history(anonymous_id: str, user: Any) -> int:
    """Give a user the events of guest ``anonymous_id`` (one UPDATE); returns the count."""
    if not anonymous_id or _user_or_none(user) is None:
        return 0
    with transaction.atomic():
        moved = Interaction.objects.filter(anonymous_id=anonymous_id, user__isnull=True).update(
            user=user, anonymous_id=""
        )
    forget_shopper(user.pk)
    forget_shopper(None, anonymous_id)
    return moved


def attach_on_login(request: HttpRequest | None, user: Any) -> int:
    """At login, claim the events of the guest id the shopper browsed with."""
    session = getattr(request, "session", None)
    if session is None:
        return 0
    anonymous_id = session.get(SHOPPER_ID_KEY)
    if not anonymous_id:
        return 0
    attached = attach_guest_history(anonymous_id, user)
    del session[SHOPPER_ID_KEY]  # only once attached: a failed attach can be retried
    return attached


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
    user = _user_or_none(getattr(request, "user", None))
    return user, "" if user is not None else shoppers.anonymous_id(request)


def impression_rows(
    owner: tuple[Any, str], shown: list[tuple[int | None, str, list[int]]]
) -> list[tuple]:
    """One page's impressions for ``owner`` (``impression_owner``), as _BATCH_FIELDS rows."""
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
            copy_rows(Interaction, _BATCH_FIELDS, rows)  # no client ids: nothing to skip
        else:
            Interaction.objects.bulk_create(
                [Interaction(**dict(zip(_BATCH_FIELDS, row, strict=True))) for row in rows]
            )
    return len(rows)


def write_impressions(
    owner: tuple[Any, str], shown: list[tuple[int | None, str, list[int]]]
) -> int:
    """Insert one page's impressions for ``owner`` (``impression_owner``) now."""
    return insert_impression_rows(impression_rows(owner, shown))


def _flush_seconds() -> float:
    return max(0.0, float(settings.RECOMMENDATIONS.get("IMPRESSIONS_FLUSH_MS", 0))) / 1000.0


# This process's impressions waiting for their batch (see batching.py).
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


def _store_queued_impressions() -> None:
    """Write this process's queued impressions before a click is checked against them."""
    if QUEUED_IMPRESSIONS.pending():
        QUEUED_IMPRESSIONS.drain()


def clear_history(shopper: Shopper) -> int:
    """Delete a shopper's events, their precomputed lists and any cached list.

    Returns the number of rows deleted (events and lists).
    """
    if shopper.user_id is not None:
        events = Interaction.objects.filter(user_id=shopper.user_id)
        lists = UserRecommendations.objects.filter(user_id=shopper.user_id)
    elif shopper.anonymous_id:
        events = Interaction.objects.filter(user__isnull=True, anonymous_id=shopper.anonymous_id)
        lists = UserRecommendations.objects.filter(
            user__isnull=True, anonymous_id=shopper.anonymous_id
        )
    else:
        return 0
    with transaction.atomic():
        deleted = events.delete()[0] + lists.delete()[0]
    forget_shopper(shopper.user_id, shopper.anonymous_id)
    return deleted


def record_batch(events: list[dict[str, Any]], *, sender: str) -> tuple[int, int]:
    """Store many events in one insert and one transaction; returns (stored, duplicates).

    Each event is a dict of Interaction fields (``product_id``, ``kind``, ``created``,
    ``user_id`` or ``anonymous_id``, ``quantity``, ``basket``, ``source``,
    ``client_event_id``); ``sender`` sent them all (``sender_of`` the API caller). An
    event whose ``client_event_id`` this sender already stored, or that repeats one
    earlier in the batch, is skipped and counted as a duplicate. A
    "rec:<widget>:v<id>" source credits version <id> under the rule of
    ``credited_version`` (that version showed this shopper this product recently),
    checked for the whole batch in one query.
    """
    now = timezone.now()
    with transaction.atomic():
        credited = _batch_credits(events)
        rows, keys, shoppers_seen = [], set(), set()
        for event in events:
            key = event.get("client_event_id") or None
            if key is not None:
                if key in keys:
                    continue  # repeated within the batch
                keys.add(key)
            user_id = event.get("user_id")
            guest = "" if user_id else (event.get("anonymous_id") or "")
            source = (event.get("source") or "")[:100]
            match = _SOURCE_VERSION.match(source)
            version_id = int(match.group(1)) if match else None
            if (user_id, guest, event["product_id"], version_id) not in credited:
                version_id = None
            shoppers_seen.add((user_id, guest))
            created = event.get("created") or now
            if timezone.is_naive(created):
                created = timezone.make_aware(created, timezone.get_default_timezone())
            # in the order of _BATCH_FIELDS
            rows.append(
                (
                    user_id,
                    guest,
                    event["product_id"],
                    event["kind"],
                    created,
                    event.get("quantity", 1),
                    source,
                    version_id,
                    event.get("basket") or "",
                    sender if key is not None else "",
                    key,
                )
            )
        if connection.vendor == "postgresql":
            stored = _store_new(rows, sender, keys)
        else:
            seen = set(
                Interaction.objects.filter(sender=sender, client_event_id__in=keys).values_list(
                    "client_event_id", flat=True
                )
                if keys
                else ()
            )
            new = [
                Interaction(**dict(zip(_BATCH_FIELDS, row, strict=True)))
                for row in rows
                if row[-1] not in seen
            ]
            Interaction.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
            stored = len(new)
    # Their candidates changed: drop the cached state (one round trip for the batch).
    cache.delete_many([shopper_key(user_id, guest) for user_id, guest in shoppers_seen])
    return stored, len(events) - stored


_BATCH_FIELDS = (
    "user_id",
    "anonymous_id",
    "product_id",
    "kind",
    "created",
    "quantity",
    "source",
    "model_version_id",
    "basket",
    "sender",
    "client_event_id",  # last: row[-1] is the key
)


def _store_new(rows: list[tuple], sender: str, keys: set[str]) -> int:
    """PostgreSQL: store the rows whose client_event_id ``sender`` has not stored yet;
    returns how many were stored.

    The stored ids are looked up first and the others go in with one COPY (about half
    the time of the INSERT below for 1,000 rows). If a concurrent request stores one of
    the same ids in between, the COPY fails on the unique constraint and the rows go
    through the INSERT that skips what is stored: the database's answer, never an error.
    """
    stored: set[str] = set()
    if keys:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {_quoted('client_event_id')} FROM "
                f"{connection.ops.quote_name(Interaction._meta.db_table)} "
                f"WHERE {_quoted('sender')} = %s AND {_quoted('client_event_id')} = ANY(%s)",
                [sender, list(keys)],
            )
            stored = {key for (key,) in cursor.fetchall()}
    new = [row for row in rows if row[-1] is None or row[-1] not in stored]
    try:
        with transaction.atomic():  # a savepoint: the fallback runs in a clean state
            copy_rows(Interaction, _BATCH_FIELDS, new)
        return len(new)
    except IntegrityError:
        return sum(_insert_new(new[n : n + 1000]) for n in range(0, len(new), 1000))


def _quoted(field: str) -> str:
    return connection.ops.quote_name(Interaction._meta.get_field(field).column)


def _insert_new(rows: list[tuple]) -> int:
    """PostgreSQL: INSERT the rows in one statement, skipping any whose (sender,
    client_event_id) is stored already; returns how many were stored.

    Django's bulk_create compiles every value of every row through its field machinery
    (longer than the insert itself for 1,000 events); the values here are already what
    the columns hold. They go as one array per column (unnest), which PostgreSQL parses
    and plans faster than a VALUES list of 1,000 rows.
    """
    if not rows:
        return 0
    meta = Interaction._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in _BATCH_FIELDS]
    columns = ", ".join(quote(field.column) for field in fields)
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT * FROM unnest({arrays}) "
        "ON CONFLICT DO NOTHING RETURNING 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(column) for column in zip(*rows, strict=True)])
        return len(cursor.fetchall())


def _batch_credits(events: list[dict[str, Any]]) -> set[tuple[int | None, str, int, int]]:
    """(user id, guest id, product id, version id) of the batch's "rec:" events that an
    impression backs (see ``credited_version``), in one query."""
    wanted = set()
    for event in events:
        match = _SOURCE_VERSION.match(event.get("source") or "")
        user_id = event.get("user_id")
        guest = "" if user_id else (event.get("anonymous_id") or "")
        if match and (user_id or guest):
            wanted.add((user_id, guest, event["product_id"], int(match.group(1))))
    if not wanted:
        return set()
    _store_queued_impressions()
    hours = settings.RECOMMENDATIONS.get("CLICK_WINDOW_HOURS", 24)
    users = {w[0] for w in wanted if w[0]}
    guests = {w[1] for w in wanted if not w[0]}
    shown = Interaction.objects.filter(
        Q(user_id__in=users) | Q(user__isnull=True, anonymous_id__in=guests),
        kind=Interaction.Kind.IMPRESSION,
        product_id__in={w[2] for w in wanted},
        model_version_id__in={w[3] for w in wanted},
        created__gte=timezone.now() - timedelta(hours=hours),
    ).values_list("user_id", "anonymous_id", "product_id", "model_version_id")
    return wanted & {(u, "" if u else g, p, v) for u, g, p, v in shown}
