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

from .models import Interaction, ModelVersion

if TYPE_CHECKING:
    from django.http import HttpRequest

    from shop.models import Order, Product

# Session entry holding the anonymous session key, kept through login's cycle_key().
ANON_KEY = "recs_anon_key"
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


def remember_anonymous_session(request: HttpRequest | None, session_key: str | None) -> None:
    """Keep the anonymous session key inside the session, so login can claim its events.

    Django's login() cycles the session key but keeps the session's data.
    """
    session = getattr(request, "session", None)
    if session is not None and session_key and ANON_KEY not in session:
        session[ANON_KEY] = session_key


def record_event(
    *,
    product: Product,
    kind: str,
    user: Any = None,
    session_key: str | None = "",
    quantity: int = 1,
    source: str = "",
    model_version: ModelVersion | int | None = None,
    basket: str = "",
    client_event_id: str | None = None,
    request: HttpRequest | None = None,
) -> Interaction:
    """Store one event now, for a signed-in user or an anonymous session."""
    user = _user_or_none(user)
    session_key = session_key or ""
    if user is None:
        remember_anonymous_session(request, session_key)
    version_id = getattr(model_version, "pk", model_version)
    if version_id is None:
        version_id = version_from_source(source)
    with transaction.atomic():
        return Interaction.objects.create(
            user=user,
            session_key=session_key,
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
    session_key: str | None = "",
    source: str = "",
    request: HttpRequest | None = None,
) -> Interaction:
    """A product page was shown."""
    return record_event(
        product=product,
        kind=Interaction.Kind.VIEW,
        user=user,
        session_key=session_key,
        source=source,
        request=request,
    )


def record_add_to_cart(
    product: Product,
    quantity: int = 1,
    *,
    user: Any = None,
    session_key: str | None = "",
    source: str = "",
    request: HttpRequest | None = None,
) -> Interaction:
    """A product was put in the cart."""
    return record_event(
        product=product,
        kind=Interaction.Kind.CART,
        user=user,
        session_key=session_key,
        quantity=quantity,
        source=source,
        request=request,
    )


def record_order(
    order: Order,
    *,
    user: Any = None,
    session_key: str | None = "",
    request: HttpRequest | None = None,
) -> int:
    """One purchase row per order line (basket = the order id); safe to call twice.

    Returns the number of lines seen.
    """
    user = _user_or_none(user) or order.user
    session_key = session_key or order.session_key or ""
    if user is None:
        remember_anonymous_session(request, session_key)
    now = timezone.now()
    rows = [
        Interaction(
            user=user,
            session_key=session_key,
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
    session_key: str | None = "",
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
    session_key = session_key or ""
    if user is None:
        remember_anonymous_session(request, session_key)
    version_id = getattr(model_version, "pk", model_version)
    now = timezone.now()
    rows = [
        Interaction(
            user=user,
            session_key=session_key,
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


def attach_session_history(session_key: str, user: Any) -> int:
    """Give a user the anonymous events of ``session_key`` (one UPDATE); returns the count."""
    if not session_key or _user_or_none(user) is None:
        return 0
    with transaction.atomic():
        return Interaction.objects.filter(session_key=session_key, user__isnull=True).update(
            user=user
        )


def attach_on_login(request: HttpRequest | None, user: Any) -> int:
    """At login, claim the events of the anonymous session the shopper browsed with."""
    session = getattr(request, "session", None)
    if session is None:
        return 0
    anon_key = session.get(ANON_KEY)
    if not anon_key:
        return 0
    attached = attach_session_history(anon_key, user)
    del session[ANON_KEY]  # only once attached: a failed attach can be retried
    return attached
