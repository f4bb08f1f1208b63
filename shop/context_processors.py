"""Values every shop page needs (category menu, cart size)."""

from functools import cached_property

from django.db.models import Exists, OuterRef
from django.http import HttpRequest

from .cart import Cart
from .models import Category, Product

NAV_CATEGORIES = 8


class CategoryMenu:
    """Categories with active products, by name: the first few in the bar, the rest
    under "More" (read once, and only if a page shows the menu)."""

    def __init__(self, size: int = NAV_CATEGORIES) -> None:
        self.size = size

    @cached_property
    def categories(self) -> list[Category]:
        """Every category a shopper can browse into."""
        stocked = Product.objects.available().filter(category=OuterRef("pk"))
        return list(Category.objects.filter(Exists(stocked)).only("name", "slug"))

    @property
    def first(self) -> list[Category]:
        return self.categories[: self.size]

    @property
    def more(self) -> list[Category]:
        return self.categories[self.size :]


def shop(request: HttpRequest) -> dict:
    """Category menu (lazy) and the number of items in the cart."""
    session = getattr(request, "session", None)
    return {
        "category_menu": CategoryMenu(),
        "cart_count": len(Cart(session)) if session is not None else 0,
    }
