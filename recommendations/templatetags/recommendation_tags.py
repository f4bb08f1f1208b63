"""Recommendation widgets for shop templates: one inclusion tag, one serving call each.

``{% recommendation_widget "for-you" %}``,
``{% recommendation_widget "similar" product=product %}``.
Widgets on one page never repeat a product; each records its impressions for the
page's one insert (middleware.ImpressionMiddleware). RECS_WIDGETS=off renders nothing
and queries nothing.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import quote

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from shop.cart import Cart
from shop.images import image_version
from shop.templatetags.shop_tags import money, product_image_url

from ..middleware import note_impressions
from ..reasons import TRENDING
from ..serving import Rules, Served, Shopper, recommend
from ..serving.cache import page_scope, request_memo

register = template.Library()
log = logging.getLogger(__name__)

TITLES = {
    "for-you": "Recommended for you",
    "trending": TRENDING,
    "similar": "Similar products",
    "bought-together": "Frequently bought together",
    "also-viewed": "Shoppers also viewed",
    "complete-order": "Complete your order",
}
SHOWN = "_recommendations_shown"


def widgets_on() -> bool:
    """The RECS_WIDGETS switch (also the operators' kill switch)."""
    return bool(settings.RECOMMENDATIONS.get("WIDGETS", True))


@register.inclusion_tag("recommendations/widgets/widget.html", takes_context=True)
def recommendation_widget(context, widget: str, product=None, limit: int | None = None) -> dict:
    """Render one widget for this page's shopper; nothing when it is empty or switched off."""
    if not widgets_on():
        return {"served": None}
    request = context.get("request")
    session = getattr(request, "session", None)
    cart = list(Cart(session).items()) if session is not None else []
    shown: set[int] = getattr(request, SHOWN, set())
    try:
        # the page's widgets share the shopper's state and facts
        with page_scope(request_memo(request)):
            served: Served | None = recommend(
                Shopper.from_request(request),
                widget,
                product=product,
                cart=cart,
                limit=limit or settings.RECOMMENDATIONS.get("WIDGET_SIZE", 8),
                rules=Rules(exclude=frozenset(shown)),
            )
    except Exception:  # a widget must never break the page
        log.exception("widget %s failed", widget)
        served = None
    if served and request is not None:
        setattr(request, SHOWN, shown | set(served.product_ids))
        if settings.RECOMMENDATIONS.get("IMPRESSIONS", True):
            note_impressions(request, served.version_id, served.src, served.product_ids)
    if not served:
        return {"served": None}
    return {
        "served": served,
        "cards": cards(
            served,
            csrf=csrf_input(context),
            dismiss_next=request.get_full_path() if request is not None else "/",
            not_interested=widget == "for-you",
        ),
        "title": TITLES.get(widget, widget),
    }


# Placeholders reversed once per widget, then replaced per card: reverse() per card
# (three per card) cost as much as the rest of a card's rendering.
_SLUG = "--slug--"
_ID = 987654321

# The card markup of shop/_product_card.html (keep the two alike), with the widget's
# reason and "Not interested" form. Made with str.format on escaped values, not a
# template: the template engine's per-variable work cost about 0.4 ms a card.
CARD = """<div class="rec-item" data-product="{pk}">
  <article class="product-card">
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
</article>
  <p class="rec-reason" data-testid="rec-reason">{reason}</p>
  {dismiss}
</div>
"""
BRAND = '<p class="product-card-brand">{}</p>'
BUY = """<form action="{}" method="post">{}
        <input type="hidden" name="quantity" value="1">
        <input type="hidden" name="source" value="{}">
        <button type="submit" class="btn btn-small" aria-label="Add {} to cart">Add</button>
      </form>"""
SOLD_OUT = '<span class="badge badge-muted">Sold out</span>'
DISMISS = """<form class="rec-dismiss" action="{}" method="post">{}
    <input type="hidden" name="next" value="{}">
    <button type="submit" class="link-button" aria-label="Not interested in {}">\
Not interested</button>
  </form>"""


def _e(value) -> str:
    """What the template engine's autoescape does to a value (django.utils.html.escape)."""
    return html.escape(str(value))


def cards(served: Served, *, csrf: str, dismiss_next: str, not_interested: bool) -> str:
    """The widget's cards as HTML: URLs from patterns reversed once, every value escaped
    (plain str.format on escaped values: format_html's per-argument work doubled it)."""
    product_url = reverse("shop:product", args=[_SLUG])
    image_url = reverse("shop:product_image", args=[_SLUG])
    cart_add = reverse("shop:cart_add", args=[_ID])
    dismiss = reverse("recommendations:not_interested", args=[_ID])
    query = f"?src={quote(served.src, safe='/')}"
    src = served.src
    out = []
    for item in served.items:
        product = item.product
        pid = str(product.pk)
        name = _e(product.name)
        if product.image or not product.active:
            image = product_image_url(product)
        else:
            image = f"{image_url.replace(_SLUG, product.slug)}?v={image_version(product)}"
        buy = SOLD_OUT
        if product.stock > 0:
            buy = BUY.format(_e(cart_add.replace(str(_ID), pid)), csrf, _e(src), name)
        out.append(
            CARD.format(
                pk=product.pk,
                url=_e(product_url.replace(_SLUG, product.slug) + query),
                image=_e(image),
                category=_e(product.category.name),
                name=name,
                brand=BRAND.format(_e(product.brand)) if product.brand else "",
                price=_e(money(product.price)),
                buy=buy,
                reason=_e(item.reason),
                dismiss=(
                    DISMISS.format(_e(dismiss.replace(str(_ID), pid)), csrf, _e(dismiss_next), name)
                    if not_interested
                    else ""
                ),
            )
        )
    return mark_safe("".join(out))  # every value above is escaped by _e


def csrf_input(context) -> str:
    """The hidden CSRF field, made once per widget (what {% csrf_token %} renders)."""
    token = context.get("csrf_token")
    if not token or token == "NOTPROVIDED":
        return ""
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)


@register.simple_tag
def recommendations_enabled() -> bool:
    """Whether widgets are on (for optional headings around them)."""
    return widgets_on()
