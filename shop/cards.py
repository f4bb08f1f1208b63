"""Product cards: the one markup of a product in a grid (catalogue, search, home page,
recommendation widgets), made with str.format on escaped values.

The template engine's per-variable work and a reverse() per link cost about 0.4 ms a
card, so a page of 24 cards spent most of its time there; URLs come from patterns
reversed once per process (config/reverse_once.py).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from urllib.parse import quote

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from config.reverse_once import reverse_for

from .models import Product
from .templatetags.shop_tags import money, product_image_url

CARD = """<article class="product-card">
  <a class="product-card-link" href="{url}">
    <div class="product-card-image"><img src="{image}" alt="" loading="lazy" \
width="480" height="480"></div>
    <div class="product-card-body">
      <p class="product-card-category">{category}</p>
      <h3 class="product-card-name">{name}</h3>
      {brand}
    </div>
  </a>
  <div class="product-card-footer">
    <span class="price">{price}</span>
    {buy}
  </div>
</article>"""
BRAND = '<p class="product-card-brand">{}</p>'
BUY = """<form action="{}" method="post">{}
        <input type="hidden" name="quantity" value="1">{}
        <button type="submit" class="btn btn-small" aria-label="Add {} to cart">Add</button>
      </form>"""
SOURCE = '\n        <input type="hidden" name="source" value="{}">'
SOLD_OUT = '<span class="badge badge-muted">Sold out</span>'


def escape(value) -> str:
    """What the template engine's autoescape does to a value (django.utils.html.escape)."""
    return html.escape(str(value))


def product_cards(products: Iterable[Product], *, csrf: str, src: str = "") -> list[SafeString]:
    """Each product's card: its link, picture, category, name, brand, price and an "Add"
    form (or "Sold out"). ``csrf``: the form's hidden CSRF field (escaped HTML, or "").
    ``src``: where the card was shown (a widget's "rec:..." source), carried by its link
    and its form so that a click or a cart addition is credited to it."""
    query = f"?src={quote(src, safe='/')}" if src else ""
    source = SOURCE.format(escape(src)) if src else ""
    out = []
    for product in products:
        name = escape(product.name)
        buy = SOLD_OUT
        if product.stock > 0:
            action = escape(reverse_for("shop:cart_add", product.pk))
            buy = BUY.format(action, csrf, source, name)
        card = CARD.format(
            url=escape(product.get_absolute_url() + query),
            image=escape(product_image_url(product)),
            category=escape(product.category.name),
            name=name,
            brand=BRAND.format(escape(product.brand)) if product.brand else "",
            price=escape(money(product.price)),
            buy=buy,
        )
        out.append(mark_safe(card))  # every value above is escaped
    return out


def csrf_field(context) -> str:
    """The hidden CSRF field of a template ``context`` (what {% csrf_token %} renders),
    made once for all of a grid's forms."""
    token = context.get("csrf_token")
    if not token or token == "NOTPROVIDED":
        return ""
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
