"""Values every shop page needs (category menu, cart size)."""

from django.http import HttpRequest

from .cart import Cart
from .models import Category

NAV_CATEGORIES = 8


def shop(request: HttpRequest) -> dict:
    """Category menu (lazy, first few by name) and the number of items in the cart."""
    session = getattr(request, "session", None)
    return {
        "nav_categories": Category.objects.only("name", "slug")[:NAV_CATEGORIES],
        "cart_count": len(Cart(session)) if session is not None else 0,
    }
