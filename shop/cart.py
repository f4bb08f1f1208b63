"""The session cart: ``request.session["cart"] = {product_id (str): quantity}``.

Each cart also has a random token (``request.session["cart_token"]``), stored with its
first item: checkout writes it on the order under a unique constraint, so one cart can
become at most one order however often, and however concurrently, it is submitted. (A
token made at checkout time would differ between concurrent submits of one session.)

The cart only stores ids and quantities; prices and stock are read fresh from the
database every time, so a price change or a sold-out product shows up at once.
Validation of quantities lives in ``shop.forms``; this class trusts its callers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.sessions.backends.base import SessionBase

from .models import Product

SESSION_KEY = "cart"
TOKEN_KEY = "cart_token"


@dataclass(frozen=True)
class CartLine:
    """One product in the cart with its current price and any problem to show."""

    product: Product
    quantity: int

    @property
    def line_total(self) -> Decimal:
        """Quantity times the product's current price."""
        return self.product.price * self.quantity

    @property
    def problem(self) -> str:
        """Why this line cannot be bought as it is, or "" when it can."""
        if not self.product.active:
            return "This product is no longer available."
        if self.product.stock == 0:
            return "This product is out of stock."
        if self.quantity > self.product.stock:
            return f"Only {self.product.stock} left in stock."
        return ""


class Cart:
    """A small wrapper over the session's cart dictionary."""

    def __init__(self, session: SessionBase) -> None:
        self.session = session
        raw = session.get(SESSION_KEY)
        # Keep only well-formed entries: a tampered or stale session must not crash pages.
        self._items: dict[str, int] = {}
        if isinstance(raw, dict):
            for key, qty in raw.items():
                if str(key).isdigit() and isinstance(qty, int) and qty > 0:
                    self._items[str(key)] = qty

    def _save(self) -> None:
        self.session[SESSION_KEY] = dict(self._items)
        if self._items and self._stored_token() is None:
            self.session[TOKEN_KEY] = uuid.uuid4().hex
        self.session.modified = True

    def _stored_token(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(str(self.session[TOKEN_KEY]))
        except (KeyError, ValueError):
            return None

    def quantity_of(self, product: Product | int) -> int:
        """How many of this product are in the cart (0 when absent)."""
        pk = product if isinstance(product, int) else product.pk
        return self._items.get(str(pk), 0)

    def add(self, product: Product, quantity: int) -> None:
        """Add ``quantity`` more of ``product``."""
        self._items[str(product.pk)] = self.quantity_of(product) + quantity
        self._save()

    def set(self, product: Product, quantity: int) -> None:
        """Replace the quantity of ``product``."""
        self._items[str(product.pk)] = quantity
        self._save()

    def remove(self, product: Product | int) -> None:
        """Take ``product`` out of the cart (no error when it is not there)."""
        pk = product if isinstance(product, int) else product.pk
        if self._items.pop(str(pk), None) is not None:
            self._save()

    def clear(self) -> None:
        """Empty the cart; the next cart gets a new token."""
        self._items = {}
        self.session.pop(TOKEN_KEY, None)
        self._save()

    @property
    def token(self) -> uuid.UUID:
        """This cart's one-time checkout token (stored with the cart's first item)."""
        token = self._stored_token()
        if token is None:
            # Only a cart saved before tokens came with the first item lacks one.
            token = uuid.uuid4()
            self.session[TOKEN_KEY] = token.hex
        return token

    def __len__(self) -> int:
        """Number of items (sum of quantities)."""
        return sum(self._items.values())

    def __bool__(self) -> bool:
        return bool(self._items)

    def __contains__(self, product: Product) -> bool:
        return str(product.pk) in self._items

    def items(self) -> dict[int, int]:
        """``{product_id: quantity}``."""
        return {int(pk): qty for pk, qty in self._items.items()}

    def lines(self) -> list[CartLine]:
        """Cart lines with fresh products, in the order they were added.

        Products deleted from the catalogue are dropped from the cart silently.
        """
        products = Product.objects.select_related("category").in_bulk(
            [int(pk) for pk in self._items]
        )
        lines = [
            CartLine(products[int(pk)], qty)
            for pk, qty in self._items.items()
            if int(pk) in products
        ]
        if len(lines) != len(self._items):
            self._items = {str(line.product.pk): line.quantity for line in lines}
            self._save()
        return lines

    def __iter__(self) -> Iterator[CartLine]:
        return iter(self.lines())

    @staticmethod
    def total(lines: list[CartLine]) -> Decimal:
        """Sum of line totals."""
        return sum((line.line_total for line in lines), Decimal("0"))
