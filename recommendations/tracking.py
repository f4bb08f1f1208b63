"""The behaviour log: plain functions that turn what shoppers do into Interaction rows.

Called by the signal receivers (receivers.py) and by recommendation widgets and the
API. Each write runs in its own savepoint, so a failed write never poisons the
caller's transaction; the receivers catch and log the error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from shop.shoppers import SHOPPER_ID_KEY

from .models import Interaction, ModelVersion

if TYPE_CHECKING:
    from django.http import HttpRequest

    from shop.models import Order, Product

# "rec:<widget>:v<version id>" marks views/carts that followed a recommendation.
_SOURCE_VERSION = re.compile(r"^rec:.*:v(\d+)$")


def _user_or_none(user: Any) -> Any:
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def version_from_source(source: str) -> int | None:
    """The ModelVersion id named by a "rec:...:v<id>" source, if that version exists."""
    match = _SOURCE_VERSION.match(source or "")
    if not match:
        return None
    pk = int(match.group(1))
    return pk if ModelVersion.objects.filter(pk=pk).exists() else None


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
    """Store one event now, for a signed-in user or a guest (by anonymous id)."""
    user = _user_or_none(user)
    anonymous_id = "" if user is not None else (anonymous_id or "")
    version_id = getattr(model_version, "pk", model_version)
    if version_id is None:
        version_id = version_from_source(source)
    with transaction.atomic():
        return Interaction.objects.create(
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
        )


def record_view(
    product: Product,
    *,
    user: Any = None,
    anonymous_id: str | None = "",
    source: str = "",
    request: HttpRequest | None = None,
) -> Interaction:
    """A product page was shown."""
    return record_event(
        product=product,
        kind=Interaction.Kind.VIEW,
        user=user,
        anonymous_id=anonymous_id,
        source=source,
        request=request,
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
            # A resent signal must not count the purchase twice.
            client_event_id=f"order-{order.pk}-line-{line.pk}",
        )
        for line in order.lines.all()
    ]
    with transaction.atomic():
        Interaction.objects.bulk_create(rows, ignore_conflicts=True)
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
        return Interaction.objects.filter(anonymous_id=anonymous_id, user__isnull=True).update(
            user=user, anonymous_id=""
        )


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


def record_batch(events: list[dict[str, Any]]) -> tuple[int, int]:
    """Store many events in one insert and one transaction; returns (stored, duplicates).

    Each event is a dict of Interaction fields (``product_id``, ``kind``, ``created``,
    ``user_id`` or ``anonymous_id``, ``quantity``, ``basket``, ``source``,
    ``client_event_id``). An event whose ``client_event_id`` is already stored, or
    repeats one earlier in the batch, is skipped and counted as a duplicate. A
    ``source`` of "rec:<widget>:v<id>" credits version <id> when it exists.
    """
    given = {e["client_event_id"] for e in events if e.get("client_event_id")}
    wanted_versions = set()
    for event in events:
        match = _SOURCE_VERSION.match(event.get("source") or "")
        if match:
            wanted_versions.add(int(match.group(1)))
    with transaction.atomic():
        seen = set(
            Interaction.objects.filter(client_event_id__in=given).values_list(
                "client_event_id", flat=True
            )
            if given
            else ()
        )
        versions = (
            set(ModelVersion.objects.filter(pk__in=wanted_versions).values_list("pk", flat=True))
            if wanted_versions
            else set()
        )
        rows, duplicates = [], 0
        for event in events:
            key = event.get("client_event_id") or None
            if key is not None:
                if key in seen:
                    duplicates += 1
                    continue
                seen.add(key)
            source = (event.get("source") or "")[:100]
            match = _SOURCE_VERSION.match(source)
            version_id = int(match.group(1)) if match else None
            user_id = event.get("user_id")
            rows.append(
                Interaction(
                    user_id=user_id,
                    anonymous_id="" if user_id else (event.get("anonymous_id") or ""),
                    product_id=event["product_id"],
                    kind=event["kind"],
                    created=event.get("created") or timezone.now(),
                    quantity=event.get("quantity", 1),
                    source=source,
                    model_version_id=version_id if version_id in versions else None,
                    basket=event.get("basket") or "",
                    client_event_id=key,
                )
            )
        # A concurrent request may store the same client_event_id first: skip, never fail.
        Interaction.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return len(rows), duplicates
