"""Accounts: sign up, log in/out, and the shopper's own orders."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from .. import tasks
from ..forms import SignUpForm
from ..models import Order
from .common import paginate


class _LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


login = _LoginView.as_view()
logout = auth_views.LogoutView.as_view()  # POST only (Django 5)


def _safe_next(request: HttpRequest) -> str | None:
    nxt = request.POST.get("next") or request.GET.get("next")
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return nxt
    return None


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Create an account and log in (the session cart is kept)."""
    if request.user.is_authenticated:
        return redirect("shop:home")
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        tasks.queue_welcome(user, request)
        auth_login(request, user)
        messages.success(request, f"Welcome, {user.get_username()}! Your account is ready.")
        return redirect(_safe_next(request) or "shop:home")
    return render(request, "registration/signup.html", {"form": form, "next": _safe_next(request)})


@login_required
@require_GET
def order_history(request: HttpRequest) -> HttpResponse:
    """The logged-in shopper's orders, newest first."""
    orders = (
        Order.objects.filter(user=request.user)
        .prefetch_related("lines__product")
        .order_by("-created", "-pk")
    )
    return render(request, "shop/order_history.html", {"page": paginate(request, orders)})


@login_required
@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One of the shopper's own orders (anyone else's is a 404)."""
    order = get_object_or_404(
        Order.objects.prefetch_related("lines__product__category"), pk=pk, user=request.user
    )
    return render(request, "shop/order_detail.html", {"order": order})
