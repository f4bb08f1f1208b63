"""Shop views, one module per area; ``shop.urls`` imports them from here."""

from .accounts import login, logout, order_detail, order_history, signup
from .cart import cart, cart_add, cart_remove, cart_update
from .catalog import catalog, category, home, product, product_image, search
from .checkout import checkout, order_confirmation

__all__ = [
    "cart",
    "cart_add",
    "cart_remove",
    "cart_update",
    "catalog",
    "category",
    "checkout",
    "home",
    "login",
    "logout",
    "order_confirmation",
    "order_detail",
    "order_history",
    "product",
    "product_image",
    "search",
    "signup",
]
