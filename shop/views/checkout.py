"""Checkout (guests welcome) and the order confirmation page."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from ..cart import Cart
from ..checkout import CheckoutError, EmptyCartError, StockError, place_order
from ..forms import CheckoutForm
from ..models import Order
from ..shoppers import anonymous_id

# Orders placed in this session, so a guest can see their confirmation page.
PLACED_ORDERS_KEY = "placed_orders"


def _initial(request: HttpRequest) -> dict[str, str]:
    user = request.user
    if not user.is_authenticated:
        return {}
    return {"full_name": user.get_full_name() or user.get_username(), "email": user.email}


def _order_for_token(request: HttpRequest, raw: str | None) -> Order | None:
    """This shopper's order already placed with the posted cart token, if any."""
    try:
        token = uuid.UUID(raw or "")
    except ValueError:
        return None
    order = Order.objects.filter(checkout_token=token).first()
    if order is None:
        return None
    own = request.user.is_authenticated and order.user_id == request.user.pk
    guest = order.anonymous_id and order.anonymous_id == anonymous_id(request, create=False)
    if own or guest:
        return order
    return None


def _confirm(request: HttpRequest, order: Order) -> HttpResponse:
    """Remember the order in this session and show its confirmation."""
    placed = request.session.get(PLACED_ORDERS_KEY, [])
    if order.pk not in placed:
        request.session[PLACED_ORDERS_KEY] = [*placed[-19:], order.pk]
    return redirect("shop:order_confirmation", order_id=order.pk)


@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    """Show the checkout form; on a valid POST place the order (once per cart)."""
    posted = request.method == "POST"
    if posted:
        placed = _resubmitted_order(request)
        if placed is not None:
            return _confirm(request, placed)
    basket = Cart(request.session)
    if not basket:
        messages.info(request, "Your cart is empty: add something before checking out.")
        return redirect("shop:cart")
    form = CheckoutForm(request.POST if posted else None, initial=_initial(request))
    if posted and form.is_valid():
        response = _place_and_confirm(request, basket, form)
        if response is not None:
            return response
    lines = basket.lines()
    return render(
        request,
        "shop/checkout.html",
        {"form": form, "lines": lines, "total": Cart.total(lines), "cart_token": basket.token},
    )


def _resubmitted_order(request: HttpRequest) -> Order | None:
    """The order a repeated submit of this form already placed (its cart is empty by
    now), so the shopper sees that order again rather than "your cart is empty"."""
    placed = _order_for_token(request, request.POST.get("cart_token"))
    if placed is not None:
        basket = Cart(request.session)
        if basket.token == placed.checkout_token:
            basket.clear()
    return placed


def _place_and_confirm(
    request: HttpRequest, basket: Cart, form: CheckoutForm
) -> HttpResponse | None:
    """Place the order and show its confirmation; None (with messages) if it failed."""
    try:
        order = place_order(
            basket,
            user=request.user,
            anonymous_id=anonymous_id(request),
            data=form.cleaned_data,
            request=request,
        )
    except StockError as exc:
        for problem in exc.problems:
            messages.error(request, problem)
        messages.error(request, "Nothing was charged. Please update your cart.")
    except EmptyCartError:
        return redirect("shop:cart")
    except CheckoutError as exc:  # pragma: no cover - future failure kinds
        messages.error(request, str(exc))
    else:
        return _confirm(request, order)
    return None


@require_GET
def order_confirmation(request: HttpRequest, order_id: int) -> HttpResponse:
    """The order just placed: visible to its owner or the session that placed it."""
    orders = Order.objects.prefetch_related("lines__product__category")
    order = get_object_or_404(orders, pk=order_id)
    own = request.user.is_authenticated and order.user_id == request.user.pk
    if not own and order.pk not in request.session.get(PLACED_ORDERS_KEY, []):
        raise Http404("No such order")
    return render(request, "shop/order_confirmation.html", {"order": order})
