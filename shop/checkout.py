"""Placing an order: one transaction that locks the products, re-checks stock,
writes the order and its lines, decrements stock and empties the cart.

The cart's one-time token is written on the order (a unique column) inside that
transaction, so a cart submitted twice, or concurrently, places one order: later
submits get the existing order back instead of a new one."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest

from . import signals, tasks
from .cart import Cart
from .models import Order, OrderLine, Product


class CheckoutError(Exception):
    """The order cannot be placed; nothing was written."""


class EmptyCartError(CheckoutError):
    """There is nothing to buy."""


class StockError(CheckoutError):
    """Some products are unavailable or not in stock in the quantity asked for."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(" ".join(problems))


def place_order(
    cart: Cart,
    user: Any,
    anonymous_id: str | None,
    data: Mapping[str, str],
    request: HttpRequest | None = None,
) -> Order:
    """Turn the cart into an order, or raise ``CheckoutError`` and change nothing.

    ``data`` holds the cleaned checkout form (full_name, email, address). The
    ``order_placed`` signal is sent, and the confirmation email queued (to
    ``data["email"]``), once the transaction has committed. When this
    cart's token already placed an order, that order is returned and nothing is
    written or sent again.
    """
    wanted = cart.items()
    if not wanted:
        raise EmptyCartError("Your cart is empty.")
    user = user if user is not None and user.is_authenticated else None
    token = cart.token
    try:
        return _place(cart, wanted, token, user, anonymous_id, data, request)
    except IntegrityError:
        # A concurrent submit of this cart committed first (unique token): theirs wins.
        existing = Order.objects.filter(checkout_token=token).first()
        if existing is None:
            raise
        cart.clear()
        return existing


def _place(
    cart: Cart,
    wanted: dict[int, int],
    token: uuid.UUID,
    user: Any,
    anonymous_id: str | None,
    data: Mapping[str, str],
    request: HttpRequest | None,
) -> Order:
    with transaction.atomic():
        products = _lock_products(wanted)
        # Read after taking the locks: a concurrent submit of this cart that held them
        # has committed by now, and its order is visible.
        existing = Order.objects.filter(checkout_token=token).first()
        if existing is not None:
            cart.clear()
            return existing
        _check_stock(wanted, products)
        order = _write_order(wanted, products, token, user, anonymous_id, data)
        cart.clear()
        transaction.on_commit(partial(_announce, order, user, anonymous_id, request))
        tasks.queue_order_confirmation(order, request)
    return order


def _lock_products(wanted: dict[int, int]) -> dict[int, Product]:
    """The cart's products by id, locked until the transaction ends."""
    # Lock in primary-key order so two concurrent checkouts cannot deadlock.
    locked = Product.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
    return {p.pk: p for p in locked}


def _check_stock(wanted: dict[int, int], products: dict[int, Product]) -> None:
    """Raise ``StockError`` naming every product that is gone or short of stock."""
    problems = []
    for pk, quantity in wanted.items():
        product = products.get(pk)
        if product is None or not product.active:
            name = product.name if product else "A product in your cart"
            problems.append(f"“{name}” is no longer available.")
        elif product.stock < quantity:
            problems.append(
                f"Only {product.stock} of “{product.name}” left in stock "
                f"(your cart has {quantity})."
                if product.stock
                else f"“{product.name}” is now out of stock."
            )
    if problems:
        raise StockError(problems)


def _write_order(
    wanted: dict[int, int],
    products: dict[int, Product],
    token: uuid.UUID,
    user: Any,
    anonymous_id: str | None,
    data: Mapping[str, str],
) -> Order:
    """The order with its lines at today's prices and its total; stock taken."""
    order = Order.objects.create(
        user=user,
        anonymous_id=anonymous_id or "",
        full_name=data["full_name"],
        email=data["email"],
        address=data["address"],
        checkout_token=token,
    )
    lines = [
        OrderLine(order=order, product=products[pk], quantity=qty, unit_price=products[pk].price)
        for pk, qty in wanted.items()
    ]
    OrderLine.objects.bulk_create(lines)
    for pk, qty in wanted.items():
        Product.objects.filter(pk=pk).update(stock=F("stock") - qty)
    order.total = sum((line.line_total for line in lines), Decimal("0"))
    order.save(update_fields=["total"])
    return order


def _announce(
    order: Order, user: Any, anonymous_id: str | None, request: HttpRequest | None
) -> None:
    """After commit: tell the rest of the site an order was placed."""
    signals.order_placed.send(
        sender=place_order, request=request, user=user, anonymous_id=anonymous_id, order=order
    )
