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

import logging
from collections import Counter

from django import template
from django.conf import settings
from django.utils.safestring import mark_safe

from config.reverse_once import reverse_for
from shop.cards import csrf_field, escape, product_cards
from shop.cart import Cart

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
            csrf=csrf_field(context),
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


# A widget's card: the shop's product card (shop/cards.py) with the widget's reason and
# "Not interested" form.
ITEM = """<div class="rec-item" data-product="{pk}">
  {card}
  {reason}{dismiss}
</div>
"""
DISMISS = """<form class="rec-dismiss" action="{}" method="post">{}
    <input type="hidden" name="next" value="{}">
    <button type="submit" class="link-button" aria-label="Not interested in {}">\
Not interested</button>
  </form>"""
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
    ``headline`` says it; the links and forms carry the list's src."""
    products = [item.product for item in served.items]
    shop_cards = product_cards(products, csrf=csrf, src=served.src)
    out = []
    for item, card in zip(served.items, shop_cards, strict=True):
        pid = item.product.pk
        out.append(
            ITEM.format(
                pk=pid,
                card=card,
                reason=REASON.format(escape(item.reason)) if item.reason != headline else "",
                dismiss=(
                    DISMISS.format(
                        escape(reverse_for("recommendations:not_interested", pid)),
                        csrf,
                        escape(dismiss_next),
                        escape(item.product.name),
                    )
                    if not_interested
                    else ""
                ),
            )
        )
    return mark_safe("".join(out))  # every value above is escaped


@register.simple_tag
def recommendations_enabled() -> bool:
    """Whether widgets are on (for optional headings around them)."""
    return widgets_on()
