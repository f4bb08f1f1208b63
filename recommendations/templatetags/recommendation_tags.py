"""Recommendation widgets for shop templates: one inclusion tag, one serving call each.

``{% recommendation_widget "for-you" %}``,
``{% recommendation_widget "similar" product=product %}``.
Widgets on one page never repeat a product; each records its impressions for the
page's one insert (middleware.ImpressionMiddleware). RECS_WIDGETS=off renders nothing
and queries nothing.
"""

from __future__ import annotations

import logging

from django import template
from django.conf import settings

from shop.cart import Cart

from ..middleware import note_impressions
from ..serving import Rules, Served, Shopper, recommend

register = template.Library()
log = logging.getLogger(__name__)

TITLES = {
    "for-you": "Recommended for you",
    "trending": "Trending now",
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
    return {
        "served": served,
        "title": TITLES.get(widget, widget),
        "not_interested": widget == "for-you",
        "next": request.get_full_path() if request is not None else "/",
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }


@register.simple_tag
def recommendations_enabled() -> bool:
    """Whether widgets are on (for optional headings around them)."""
    return widgets_on()
