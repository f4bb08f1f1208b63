"""Template helpers for shop pages: product image URLs and prices."""

import math
from datetime import timedelta
from decimal import Decimal

from django import template
from django.templatetags.static import static

from config.reverse_once import reverse_for
from shop.images import category_hue, image_version
from shop.models import Product

register = template.Library()

CURRENCY = "£"
UNAVAILABLE_IMAGE = "shop/unavailable.svg"


@register.simple_tag
def product_image_url(product: Product) -> str:
    """The product's static image if it has one, else its drawn SVG (versioned URL).

    Inactive products (still shown in carts and past orders) get a neutral placeholder,
    since their picture URL answers 404."""
    if not product.active:
        return static(UNAVAILABLE_IMAGE)
    if product.image:
        return static(product.image)
    url = reverse_for("shop:product_image", product.slug)
    return f"{url}?v={image_version(product)}"


@register.filter
def money(value: Decimal | int | float | None) -> str:
    """A price with the shop's currency and thousands separators: £1,234.50."""
    if value in (None, ""):
        return ""
    amount = Decimal(value).quantize(Decimal("0.01"))
    return f"{CURRENCY}{amount:,.2f}"


HUE_STEP = 10  # site.css has a .hue-N class every 10 degrees


@register.filter
def hue(category) -> int:
    """The colour hue of a category, to the nearest .hue-N class in site.css (the CSP
    allows no inline style attributes); within 5 degrees of its products' pictures."""
    return round(category_hue(category.slug) / HUE_STEP) * HUE_STEP % 360


@register.filter
def minutes(delta: timedelta) -> int:
    """A duration in whole minutes, rounded up (for "try again in N minutes")."""
    return max(1, math.ceil(delta.total_seconds() / 60))
