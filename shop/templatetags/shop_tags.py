"""Template helpers for shop pages: product image URLs and prices."""

from decimal import Decimal

from django import template
from django.templatetags.static import static
from django.urls import reverse

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
    url = reverse("shop:product_image", args=[product.slug])
    return f"{url}?v={image_version(product)}"


@register.filter
def money(value: Decimal | int | float | None) -> str:
    """A price with the shop's currency and thousands separators: £1,234.50."""
    if value in (None, ""):
        return ""
    amount = Decimal(value).quantize(Decimal("0.01"))
    return f"{CURRENCY}{amount:,.2f}"


@register.filter
def hue(category) -> int:
    """The colour hue of a category (matches its products' pictures)."""
    return category_hue(category.slug)
