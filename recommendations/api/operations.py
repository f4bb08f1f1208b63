"""Events ingestion: validate a whole batch, resolve products and users in one query
each, then hand the rows to tracking.record_batch (the only writer of behaviour rows).
A shop page's widgets for the page endpoints (serve_page)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from rest_framework import exceptions, serializers, status

from shop.models import Product

from .. import serving, tracking
from . import daily_quantity
from .daily_quantity import WEIGHED_KINDS
from .serializers import CLOCK_SKEW, EVENT_KINDS, MAX_BATCH, EventSerializer


class BatchTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = f"At most {MAX_BATCH} events per request."
    default_code = "batch_too_large"


def _invalid(message: str) -> serializers.ValidationError:
    return serializers.ValidationError({"non_field_errors": [message]})


def ingest_events(
    payload: Any, *, user: Any = None, anonymous_id: str = "", staff: bool = False
) -> tuple[int, int]:
    """Store one event or a list of them, all or nothing; returns (accepted, duplicates).

    The events belong to ``user`` (or the guest ``anonymous_id``) unless an item names
    another shopper by username, which only ``staff`` may do. Purchases come only from
    staff (server to server); others' events count against a daily quantity
    (``check_daily_quantity``). Raises ValidationError with ``errors`` keyed by item
    index, BatchTooLarge or PermissionDenied; nothing is written then.
    """
    items = _items(payload, staff)
    events, errors = _validate(items)
    rows = _rows(events, errors, user=user, anonymous_id=anonymous_id, staff=staff)
    if not staff and not errors:
        check_daily_quantity(rows, errors)
    if errors:
        raise serializers.ValidationError(
            {
                "detail": f"{len(errors)} of {len(items)} events are invalid; nothing was stored.",
                "errors": errors,
            }
        )
    sender = tracking.sender_of(user.pk if user else None, "" if user else anonymous_id)
    batch = [row for _, row in rows]
    stored, duplicates = tracking.record_batch(batch, sender=sender)
    if not staff:
        daily_quantity.count_stored(batch, exact=not duplicates)
    return stored, duplicates


def _items(payload: Any, staff: bool) -> list[Any]:
    items = [payload] if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise _invalid("Send one event object or a list of them.")
    if not items:
        raise _invalid("Send at least one event.")
    if len(items) > MAX_BATCH:
        raise BatchTooLarge()
    if not staff and any(isinstance(item, dict) and "user" in item for item in items):
        raise exceptions.PermissionDenied("Only staff may send events for other shoppers.")
    return items


def _validate(items: list[Any]) -> tuple[list[dict[str, Any] | None], dict[str, Any]]:
    """Each item's validated data (None when invalid) and the errors by item index."""
    child = EventSerializer()
    events: list[dict[str, Any] | None] = []
    errors: dict[str, Any] = {}
    timestamp = child.fields["timestamp"]
    latest = timezone.now() + CLOCK_SKEW
    for index, item in enumerate(items):
        event = plain_event(item, timestamp, latest)
        if event is not None:
            events.append(event)
            continue
        try:  # anything unusual, and every error, through the serializer itself
            events.append(child.run_validation(item))
        except serializers.ValidationError as exc:
            events.append(None)
            detail = exc.detail  # a list when the item is not an object at all (null)
            errors[str(index)] = (
                detail if isinstance(detail, dict) else {"non_field_errors": detail}
            )
    return events, errors


def _rows(
    events: list[dict[str, Any] | None],
    errors: dict[str, Any],
    *,
    user: Any,
    anonymous_id: str,
    staff: bool,
) -> list[tuple[int, dict[str, Any]]]:
    """(item index, tracking.record_batch row) per valid event; adds the others' errors."""
    products, users = _resolve([e for e in events if e is not None])
    now = timezone.now()
    most = settings.RECOMMENDATIONS.get("API_MAX_QUANTITY", 100)
    sender = (user.pk if user else None), anonymous_id
    rows: list[tuple[int, dict[str, Any]]] = []
    for index, event in enumerate(events):
        if event is None:
            continue
        problems: dict[str, list[str]] = {}
        product_id = _product_id(event, products, problems)
        owner = _owner(event, users, sender, problems)
        _check_limits(event, staff, most, problems)
        if problems:
            errors[str(index)] = problems
        else:
            rows.append((index, _row(event, product_id, owner, now)))
    return rows


def _owner(
    event: dict[str, Any],
    users: dict[str, int],
    sender: tuple[int | None, str],
    problems: dict[str, list[str]],
) -> tuple[int | None, str]:
    """(user id, guest id) the event belongs to: the sender, or the user it names."""
    owner_id, owner_anonymous = sender
    if "user" in event:
        owner_id, owner_anonymous = users.get(event["user"]), ""
        if owner_id is None:
            problems["user"] = [f"No user {event['user']!r}."]
    if owner_id is None and not owner_anonymous and "user" not in problems:
        problems["non_field_errors"] = ["No shopper: send a token or a session cookie."]
    return owner_id, owner_anonymous


def _check_limits(
    event: dict[str, Any], staff: bool, most: int, problems: dict[str, list[str]]
) -> None:
    """Purchases only from staff; at most ``most`` (RECS_API_MAX_QUANTITY) per event."""
    if event["kind"] == "purchase" and not staff:
        problems["kind"] = [PURCHASE_NEEDS_STAFF]
    if event["quantity"] > most:
        problems["quantity"] = [f"At most {most} per event (RECS_API_MAX_QUANTITY)."]


def _row(
    event: dict[str, Any], product_id: int | None, owner: tuple[int | None, str], now: Any
) -> dict[str, Any]:
    """The tracking.record_batch row of a valid event."""
    owner_id, owner_anonymous = owner
    return {
        "product_id": product_id,
        "kind": event["kind"],
        "created": event.get("timestamp") or now,
        "quantity": event["quantity"],
        "basket": event["basket"],
        "source": event["source"],
        "client_event_id": event.get("client_event_id") or None,
        "user_id": owner_id,
        "anonymous_id": "" if owner_id else owner_anonymous,
    }


PURCHASE_NEEDS_STAFF = (
    "Purchases are recorded by the shop at checkout, or sent server to server with a staff token."
)


def check_daily_quantity(rows: list[tuple[int, dict[str, Any]]], errors: dict[str, Any]) -> None:
    """Add an error to each event that takes its shopper over RECS_API_DAILY_QUANTITY.

    The limit is on the quantities of the shopper's views, carts and purchases stored
    in the last 24 hours (``ingested``, whatever the events' timestamps; read as
    ``daily_quantity`` says) plus this batch's: one guest or shopper cannot outweigh
    many real ones in Trending or the models. For events a shopper (or guest) sends for
    themselves; not for staff.
    """
    weighed = [(index, row) for index, row in rows if row["kind"] in WEIGHED_KINDS]
    if not weighed:
        return
    limit = settings.RECOMMENDATIONS.get("API_DAILY_QUANTITY", 1000)
    first = weighed[0][1]
    total = daily_quantity.sent_today(first["user_id"], first["anonymous_id"])
    for index, row in weighed:
        total += row["quantity"]
        if total > limit:
            errors[str(index)] = {
                "quantity": [
                    f"Over this shopper's {limit} units a day of views, carts and "
                    "purchases (RECS_API_DAILY_QUANTITY)."
                ]
            }


# EventSerializer's text fields: (max_length, blank allowed, default when absent)
_TEXT = {
    "sku": (64, False, None),
    "basket": (64, True, ""),
    "source": (100, True, ""),
    "client_event_id": (128, False, None),
    "user": (150, False, None),
}
_KINDS = frozenset(EVENT_KINDS)


def _plain_int(value: Any, low: int, high: int) -> bool:
    return type(value) is int and low <= value <= high


def plain_event(item: Any, timestamp: serializers.DateTimeField, latest: Any) -> dict | None:
    """EventSerializer's validated data for an ordinary, valid item, in plain Python.

    None when the item is anything else (a value DRF would coerce, trim or reject):
    the caller then runs the serializer, so values and errors are DRF's own. Per item
    this is a small fraction of the serializer's cost (a batch is up to 1,000 items).
    """
    if type(item) is not dict or not _plain_kind(item.get("kind")):
        return None
    event = _plain_product(item)
    if event is None:
        return None
    event["kind"] = item["kind"]
    event["quantity"] = item.get("quantity", 1)
    if not _plain_int(event["quantity"], 1, 10_000):
        return None
    texts = _plain_texts(item)
    if texts is None:
        return None
    when = _plain_timestamp(item, timestamp, latest)
    if when is None:
        return None
    return {**event, **texts, **when}


def _plain_kind(kind: Any) -> bool:
    return type(kind) is str and kind in _KINDS


def _plain_product(item: dict) -> dict[str, Any] | None:
    """{"product": id}, or {} when only a sku names it; None when DRF must decide."""
    if "product" in item:
        return {"product": item["product"]} if _plain_int(item["product"], 1, 2**63 - 1) else None
    return {} if "sku" in item else None  # neither: "Give product (id) or sku."


def _plain_texts(item: dict) -> dict[str, Any] | None:
    """The text fields present (or their defaults); None when one is not plain."""
    texts: dict[str, Any] = {}
    for name, (max_length, blank, default) in _TEXT.items():
        if name not in item:
            if default is not None:
                texts[name] = default
        elif item[name] is None and name == "client_event_id":  # allow_null
            texts[name] = None
        elif _plain_text(item[name], max_length, blank):
            texts[name] = item[name]
        else:
            return None
    return texts


def _plain_text(value: Any, max_length: int, blank: bool) -> bool:
    return bool(
        type(value) is str
        and len(value) <= max_length
        and (blank or value)
        and value.isascii()  # no surrogates, nothing for DRF to normalise
        and "\x00" not in value
        and value.strip() == value  # DRF trims whitespace
    )


def _plain_timestamp(
    item: dict, timestamp: serializers.DateTimeField, latest: Any
) -> dict[str, Any] | None:
    """{"timestamp": when}, or {} when absent; None when not plain or in the future."""
    if "timestamp" not in item:
        return {}
    value = item["timestamp"]
    if type(value) is not str:
        return None
    try:
        when = timestamp.to_internal_value(value)  # DRF's parsing and time zone
    except serializers.ValidationError:
        return None
    if when > latest:  # "Must not be in the future."
        return None
    return {"timestamp": when}


def _resolve(events: list[dict[str, Any]]) -> tuple[dict[str, dict], dict[str, int]]:
    """Products by id and by sku, and users by username, one query each."""
    ids = {e["product"] for e in events if "product" in e}
    skus = {e["sku"] for e in events if "sku" in e}
    by_id: dict[int, str] = {}
    by_sku: dict[str, int] = {}
    if ids or skus:
        for pk, sku in Product.objects.filter(Q(pk__in=ids) | Q(sku__in=skus)).values_list(
            "pk", "sku"
        ):
            by_id[pk] = sku
            by_sku[sku] = pk
    names = {e["user"] for e in events if "user" in e}
    users: dict[str, int] = {}
    if names:
        users = dict(
            get_user_model()
            .objects.filter(username__in=names, is_active=True)
            .values_list("username", "pk")
        )
    return {"id": by_id, "sku": by_sku}, users


def _product_id(
    event: dict[str, Any], products: dict[str, dict], problems: dict[str, list[str]]
) -> int | None:
    pk = event.get("product")
    if pk is not None and pk not in products["id"]:
        problems["product"] = [f"No product with id {pk}."]
        return None
    if "sku" in event:
        by_sku = products["sku"].get(event["sku"])
        if by_sku is None:
            problems["sku"] = [f"No product with sku {event['sku']!r}."]
            return None
        if pk is not None and pk != by_sku:
            problems["sku"] = ["Names a different product than product."]
            return None
        return by_sku
    return pk


def serve_page(
    shopper: serving.Shopper,
    page: str,
    *,
    product: Product | None = None,
    cart: list[int] | None = None,
    limit: int,
    exclude: frozenset[int] = frozenset(),
) -> dict[str, serving.Served]:
    """The widgets of the shop's ``page`` (serving.PAGES) as that page shows them to
    ``shopper``: one plan (recommend_page), in page order, an empty list for a row the
    page does not show. Like the templates: nothing with RECS_WIDGETS off, and the cart
    page's widget only with something in the cart."""
    widgets = serving.PAGES[page]
    if not settings.RECOMMENDATIONS.get("WIDGETS", True):  # the operators' kill switch
        return {widget: serving.Served(widget, None) for widget in widgets}
    if page == "cart" and not cart:
        limit = 0  # the cart page shows its widget only under cart lines
    return serving.recommend_page(
        shopper,
        widgets,
        product=product,
        cart=cart or (),
        limit=limit,
        rules=serving.Rules(exclude=exclude),
    )
