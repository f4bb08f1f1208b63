"""Recommendation widgets for shop templates: one inclusion tag per widget, one
serving call per page.

``{% recommendation_widget "for-you" exclude=bestsellers %}``,
``{% recommendation_widget "similar" product=product %}``.
The first widget tag of a page serves all the widgets of its page (serving.PAGES) as
one plan, kept on the request: widgets on one page never repeat a product. Each
rendered widget records its impressions for the page's one insert
(middleware.ImpressionMiddleware). RECS_WIDGETS=off renders nothing and queries nothing.
"""

from __future__ import annotations

import html
import logging
from collections import Counter
from urllib.parse import quote

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from config.reverse_once import reversed_with
from shop.cart import Cart
from shop.images import image_version
from shop.templatetags.shop_tags import money, product_image_url

from ..middleware import note_impressions
from ..reasons import TRENDING
from ..serving import Rules, Served, ServedItem, Shopper, page_widgets, recommend_page
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
def recommendation_widget(
    context, widget: str, product=None, limit: int | None = None, exclude=None
) -> dict:
    """Render one widget of this page's plan; nothing when it is empty or switched off.

    ``exclude``: products the page shows anyway (e.g. the shop's best sellers), which no
    widget of the page repeats; give it to the page's first widget tag (the plan is made
    then), later tags only drop them from their own row.
    """
    if not widgets_on():
        return {"served": None}
    request = context.get("request")
    size = limit or settings.RECOMMENDATIONS.get("WIDGET_SIZE", 8)
    excluded = _ids(exclude)
    served = page_plan(request, widget, product, size, excluded).get(widget)
    if served and (excluded or limit):
        kept = [item for item in served.items if item.product.pk not in excluded][:size]
        served = Served(served.widget, served.version_id, kept)
    if not served:
        return {"served": None}
    if request is not None and settings.RECOMMENDATIONS.get("IMPRESSIONS", True):
        note_impressions(request, served.version_id, served.src, served.product_ids)
    title = TITLES.get(widget, widget)
    reason = headline(served.items)
    return {
        "served": served,
        "title": title,
        "reason": "" if reason == title else reason,  # "Trending now" is the title already
        "cards": cards(
            served,
            headline=reason,
            csrf=csrf_input(context),
            dismiss_next=request.get_full_path() if request is not None else "/",
            not_interested=widget == "for-you",
        ),
    }


def page_plan(request, widget: str, product, limit: int, exclude: set[int]) -> dict[str, Served]:
    """The widgets of ``widget``'s page in one serving call (recommend_page), made by the
    page's first widget tag and kept on the request; {} if serving failed."""
    widgets = page_widgets(widget)
    memo = request_memo(request)
    key = ("plan", widgets, getattr(product, "pk", product))
    if key in memo:
        return memo[key]
    shown: set[int] = getattr(request, SHOWN, set()) | exclude  # other plans of the page
    session = getattr(request, "session", None)
    try:
        with page_scope(memo):  # the page's plans share the shopper's state and facts
            plan = recommend_page(
                Shopper.from_request(request),
                widgets,
                product=product,
                cart=list(Cart(session).items()) if session is not None else [],
                limit=limit,
                rules=Rules(exclude=frozenset(shown)),
            )
    except Exception:  # widgets must never break the page
        log.exception("widgets %s failed", ", ".join(widgets))
        plan = {}
    memo[key] = plan
    if request is not None:
        setattr(request, SHOWN, shown | {pid for s in plan.values() for pid in s.product_ids})
    return plan


def headline(items: list[ServedItem]) -> str:
    """The reason most items share, when more than half do (ties: the best-ranked), to
    be said once over the widget; the other cards keep their own line. One grid of
    whole rows in rank order, no reason repeated under every card."""
    counts = Counter(item.reason for item in items)
    reason, count = counts.most_common(1)[0] if counts else ("", 0)
    return reason if count > len(items) / 2 and count > 1 else ""


def _ids(products) -> set[int]:
    """The ids of ``products`` (Products or ids; None: none)."""
    return {int(getattr(p, "pk", p)) for p in products or ()}


# Placeholders reversed once per process (config/reverse_once.py), then replaced per
# card: reverse() per card (three per card) cost as much as the rest of its rendering.
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
  {reason}{dismiss}
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


REASON = '<p class="rec-reason" data-testid="rec-reason">{}</p>\n  '


def cards(
    served: Served,
    *,
    csrf: str,
    dismiss_next: str,
    not_interested: bool,
    headline: str = "",
) -> str:
    """The widget's cards as HTML, each with its reason line unless the widget's
    ``headline`` says it: URLs from patterns reversed once, every value escaped (plain
    str.format on escaped values: format_html's per-argument work doubled it)."""
    product_url = reversed_with("shop:product", _SLUG)
    image_url = reversed_with("shop:product_image", _SLUG)
    cart_add = reversed_with("shop:cart_add", _ID)
    dismiss = reversed_with("recommendations:not_interested", _ID)
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
                reason=REASON.format(_e(item.reason)) if item.reason != headline else "",
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
