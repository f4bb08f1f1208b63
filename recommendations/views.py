"""Shopper-facing pages of recommendations: "not interested" and the browsing history."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from shop.models import Product
from shop.shoppers import SHOPPER_ID_KEY, anonymous_id

from . import tracking
from .models import Interaction
from .reasons import short_name
from .serving import Shopper, demoted_with

HISTORY_PER_PAGE = 25
HISTORY_KINDS = [
    Interaction.Kind.VIEW,
    Interaction.Kind.CART,
    Interaction.Kind.PURCHASE,
    Interaction.Kind.NOT_INTERESTED,
]


def _next(request: HttpRequest, default: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next")
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return nxt
    return default


@require_POST
def not_interested(request: HttpRequest, product_id: int) -> HttpResponse:
    """Hide a product from this shopper's recommendations (and demote its neighbours)."""
    product = get_object_or_404(Product, pk=product_id)
    tracking.record_not_interested(
        product,
        user=request.user if request.user.is_authenticated else None,
        anonymous_id=anonymous_id(request),
    )
    similar = demoted_with(Shopper.from_request(request), product.pk)
    name = short_name(product.name, product.brand)
    also = f" and {similar} similar product{pluralize(similar)}" if similar else ""
    messages.info(request, f"Hidden “{name}”{also} from your recommendations.")
    return redirect(_next(request, "/"))


def _history(request: HttpRequest):
    shopper = Shopper.from_request(request)
    events = Interaction.objects.filter(kind__in=HISTORY_KINDS).select_related("product")
    if shopper.user_id is not None:
        return shopper, events.filter(user_id=shopper.user_id)
    if shopper.anonymous_id:
        return shopper, events.filter(user__isnull=True, anonymous_id=shopper.anonymous_id)
    return shopper, events.none()


@require_http_methods(["GET"])
def history(request: HttpRequest) -> HttpResponse:
    """Your browsing history: your events (product and date), newest first, paginated."""
    _, events = _history(request)
    page = Paginator(events.order_by("-created", "-pk"), HISTORY_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "recommendations/history.html", {"page": page})


@require_http_methods(["GET", "POST"])
def clear_history(request: HttpRequest) -> HttpResponse:
    """Confirm (GET), then delete (POST) the shopper's events and personal lists."""
    shopper, events = _history(request)
    if request.method == "POST":
        deleted = tracking.clear_history(shopper)
        if shopper.user_id is None:
            request.session.pop(SHOPPER_ID_KEY, None)  # a guest starts afresh
        text = "Your browsing history is cleared." if deleted else "There was nothing to clear."
        messages.success(request, text)
        return redirect("recommendations:history")
    return render(request, "recommendations/history_clear.html", {"count": events.count()})
