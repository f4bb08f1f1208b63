"""The cart page and the POST endpoints that change the cart."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from .. import signals
from ..cart import Cart
from ..forms import AddToCartForm, UpdateCartForm
from ..models import Product
from ..shoppers import shopper_kwargs


@require_GET
def cart(request: HttpRequest) -> HttpResponse:
    """The cart with one quantity form per line and the total."""
    basket = Cart(request.session)
    lines = basket.lines()
    return render(
        request,
        "shop/cart.html",
        {
            "lines": lines,
            "total": Cart.total(lines),
            "has_problems": any(line.problem for line in lines),
        },
    )


@require_POST
def cart_add(request: HttpRequest, product_id: int) -> HttpResponse:
    """Add to the cart, or go back to the product page with the reason it was refused."""
    item = get_object_or_404(Product.objects.select_related("category"), pk=product_id)
    basket = Cart(request.session)
    form = AddToCartForm(request.POST, product=item, cart=basket)
    if not form.is_valid():
        messages.error(request, form.error_text())
        return redirect(item) if item.active else redirect("shop:cart")
    quantity = form.cleaned_data["quantity"]
    basket.add(item, quantity)
    signals.product_added_to_cart.send(
        sender=cart_add,
        **shopper_kwargs(request),
        product=item,
        quantity=quantity,
        source=form.cleaned_data["source"],
    )
    messages.success(request, f"Added {quantity} × “{item.name}” to your cart.")
    return redirect("shop:cart")


@require_POST
def cart_update(request: HttpRequest, product_id: int) -> HttpResponse:
    """Change a line's quantity; invalid input leaves the cart as it was."""
    item = get_object_or_404(Product, pk=product_id)
    basket = Cart(request.session)
    form = UpdateCartForm(request.POST, product=item, cart=basket)
    if form.is_valid():
        basket.set(item, form.cleaned_data["quantity"])
        messages.success(request, f"Updated “{item.name}” to {form.cleaned_data['quantity']}.")
    else:
        messages.error(request, form.error_text())
    return redirect("shop:cart")


@require_POST
def cart_remove(request: HttpRequest, product_id: int) -> HttpResponse:
    """Take a product out of the cart."""
    item = get_object_or_404(Product, pk=product_id)
    basket = Cart(request.session)
    if item in basket:
        basket.remove(item)
        messages.success(request, f"Removed “{item.name}” from your cart.")
    else:
        messages.info(request, f"“{item.name}” was not in your cart.")
    return redirect("shop:cart")
