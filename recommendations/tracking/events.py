"""The behaviour log: plain functions that turn what shoppers do into Interaction rows.

Called by the signal receivers (receivers.py) and by recommendation widgets and the
API. Each write runs in its own savepoint, so a failed write never poisons the
caller's transaction; the receivers catch and log the error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shop.shoppers import SHOPPER_ID_KEY

from ..models import Impression, Interaction, ModelVersion, UserRecommendations
from ..serving.cache import forget_shopper, remember_event
from .impressions import lists_showing
from .rows import SHOP_SENDER, SOURCE_VERSION, sender_of, user_or_none

if TYPE_CHECKING:
    from django.http import HttpRequest

    from shop.models import Order, Product

    from ..serving.types import Shopper


def version_from_source(source: str) -> int | None:
    """The ModelVersion id named by a "rec:...:v<id>" source, if that version exists."""
    match = SOURCE_VERSION.match(source or "")
    if not match:
        return None
    pk = int(match.group(1))
    return pk if ModelVersion.objects.filter(pk=pk).exists() else None


def credited_version(source: str, product_id: int, user: Any, anonymous_id: str) -> int | None:
    """The version a "rec:...:v<id>" source names, if it served this shopper this product.

    Only a list with that product shown by that version to that shopper within
    RECS_CLICK_WINDOW_HOURS counts; a forged or stale source credits nothing.
    """
    match = SOURCE_VERSION.match(source or "")
    if not match:
        return None
    user = user_or_none(user)
    if user is None and not anonymous_id:
        return None
    pk = int(match.group(1))
    who = Q(user=user) if user is not None else Q(user__isnull=True, anonymous_id=anonymous_id)
    return pk if lists_showing(who, [pk], [product_id]) else None


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
    user = user_or_none(user)
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
        record_click(
            product,
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
    user = user_or_none(user) or order.user
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


def record_click(
    product: Product | int,
    *,
    user: Any = None,
    anonymous_id: str | None = "",
    model_version: ModelVersion | int | None = None,
    source: str = "",
) -> Interaction:
    """Log a click on a recommended product (impressions: ``impressions.py``)."""
    user = user_or_none(user)
    with transaction.atomic():
        return Interaction.objects.create(
            user=user,
            anonymous_id="" if user is not None else (anonymous_id or ""),
            product_id=getattr(product, "pk", product),
            kind=Interaction.Kind.CLICK,
            created=timezone.now(),
            source=source[:100],
            model_version_id=getattr(model_version, "pk", model_version),
        )


def attach_guest_history(anonymous_id: str, user: Any) -> int:
    """Give a user the events and the lists shown of guest ``anonymous_id``; returns the
    number of events moved."""
    if not anonymous_id or user_or_none(user) is None:
        return 0
    with transaction.atomic():
        moved = Interaction.objects.filter(anonymous_id=anonymous_id, user__isnull=True).update(
            user=user, anonymous_id=""
        )
        # what the guest was shown: a click after signing in still credits its version
        Impression.objects.filter(anonymous_id=anonymous_id, user__isnull=True).update(
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


def clear_history(shopper: Shopper) -> int:
    """Delete a shopper's events, what they were shown, their precomputed lists and any
    cached list. Returns the number of rows deleted.
    """
    if shopper.user_id is not None:
        who = Q(user_id=shopper.user_id)
    elif shopper.anonymous_id:
        who = Q(user__isnull=True, anonymous_id=shopper.anonymous_id)
    else:
        return 0
    with transaction.atomic():
        deleted = sum(
            model.objects.filter(who).delete()[0]
            for model in (Interaction, Impression, UserRecommendations)
        )
    forget_shopper(shopper.user_id, shopper.anonymous_id)
    return deleted
