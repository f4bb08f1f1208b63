"""Values every shop page needs (category menu, cart size)."""

from django.http import HttpRequest

from .models import Category


def shop(request: HttpRequest) -> dict:
    """Category menu and the number of items in the session cart."""
    cart = request.session.get("cart", {}) if hasattr(request, "session") else {}
    return {
        "nav_categories": Category.objects.only("name", "slug"),
        "cart_count": sum(cart.values()) if isinstance(cart, dict) else 0,
    }
