"""The values the serving path takes and returns (contract: docs/serving.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shop.models import Product
from shop.shoppers import anonymous_id

WIDGETS = ("for-you", "trending", "similar", "bought-together", "also-viewed", "complete-order")
# API kind -> widget
RELATED_KINDS = {
    "similar": "similar",
    "bought_together": "bought-together",
    "also_viewed": "also-viewed",
}
# widget -> RelatedProducts.kind
WIDGET_KINDS = {widget: kind for kind, widget in RELATED_KINDS.items()}
PRODUCT_WIDGETS = frozenset(WIDGET_KINDS)
# The widgets each shop page shows, served together as one plan (recommend_page).
PAGES = {
    "home": ("for-you", "trending"),
    "product": ("similar", "bought-together", "also-viewed"),
    "cart": ("complete-order",),
}


def page_widgets(widget: str) -> tuple[str, ...]:
    """The widgets of the page ``widget`` is shown on (just itself if on none)."""
    return next((page for page in PAGES.values() if widget in page), (widget,))


@dataclass(frozen=True)
class Shopper:
    """Who is shopping: a signed-in user, or a guest's random anonymous id (never both)."""

    user_id: int | None = None
    anonymous_id: str = ""  # shop.shoppers.anonymous_id; never a session key

    @classmethod
    def from_request(cls, request: Any) -> Shopper:
        """The signed-in user, else the session's anonymous id (not created if missing)."""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return cls(user_id=user.pk)
        if getattr(request, "session", None) is None:
            return cls()
        return cls(anonymous_id=anonymous_id(request, create=False))

    @classmethod
    def for_user(cls, user: Any) -> Shopper:
        """A signed-in user (an anonymous or missing user gives an unknown shopper)."""
        if user is None or not getattr(user, "is_authenticated", False):
            return cls()
        return cls(user_id=user.pk)

    @property
    def is_known(self) -> bool:
        """Whether there is anyone to personalise for."""
        return self.user_id is not None or bool(self.anonymous_id)

    @property
    def key(self) -> str:
        """ "u:<id>", "a:<anonymous id>" or "" (the Dataset's shopper key)."""
        if self.user_id is not None:
            return f"u:{self.user_id}"
        return f"a:{self.anonymous_id}" if self.anonymous_id else ""


@dataclass(frozen=True)
class Rules:
    """Per-request rules, applied after ranking, before truncation."""

    exclude: frozenset[int] = frozenset()
    category: str | None = None  # category slug
    min_price: Decimal | None = None
    max_price: Decimal | None = None

    def allows(self, pk: int, category_slug: str, price: Decimal) -> bool:
        """Whether a product with these facts passes these rules."""
        if pk in self.exclude:
            return False
        if self.category and category_slug != self.category:
            return False
        if self.min_price is not None and price < self.min_price:
            return False
        return not (self.max_price is not None and price > self.max_price)


@dataclass
class ServedItem:
    """One recommended product: a fresh row (active, in stock), its score and reason."""

    product: Product
    score: float
    reason: str


@dataclass
class Served:
    """A widget's list and the version that produced it."""

    widget: str
    version_id: int | None
    items: list[ServedItem] = field(default_factory=list)

    @property
    def src(self) -> str:
        """The ?src= tag of this list's links: rec:<widget>:v<version>."""
        return f"rec:{self.widget}:v{self.version_id or 0}"

    @property
    def product_ids(self) -> list[int]:
        """The ids shown, in order."""
        return [item.product.pk for item in self.items]

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)
