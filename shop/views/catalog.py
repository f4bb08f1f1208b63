"""Browsing: home, catalogue, category, product, product picture, search."""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.templatetags.static import static
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from .. import signals
from ..cart import Cart
from ..forms import AddToCartForm, clean_source
from ..images import image_version, product_svg
from ..models import Category, Product
from ..search import normalise_query, search_products
from ..shoppers import shopper_kwargs
from .common import SORTS, paginate, sorted_by

HOME_PRODUCTS = 8
BESTSELLER_CACHE_KEY = "shop:bestseller-ids"
BESTSELLER_CACHE_SECONDS = 600
IMAGE_MAX_AGE = 60 * 60 * 24 * 365


def _bestsellers() -> list[Product]:
    """Most-sold products in stock; the ranking is cached, the rows are fresh.

    A cache outage reads as a miss (config/caches.py): the ranking is computed here."""
    ids = cache.get(BESTSELLER_CACHE_KEY)
    if ids is None:
        ids = list(
            Product.objects.in_stock()
            .annotate(sold=Sum("order_lines__quantity"))
            .filter(sold__gt=0)
            .order_by("-sold", "name")
            .values_list("pk", flat=True)[:HOME_PRODUCTS]
        )
        cache.set(BESTSELLER_CACHE_KEY, ids, BESTSELLER_CACHE_SECONDS)
    if not ids:
        return []
    products = Product.objects.in_stock().select_related("category").in_bulk(ids)
    return [products[pk] for pk in ids if pk in products]


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Hero, every category with products (most stocked first), new arrivals, best sellers."""
    categories = (
        Category.objects.annotate(product_count=Count("products", filter=Q(products__active=True)))
        .filter(product_count__gt=0)
        .order_by("-product_count", "name")
    )
    new_arrivals = (
        Product.objects.in_stock().select_related("category").order_by("-created", "-pk")
    )[:HOME_PRODUCTS]
    return render(
        request,
        "shop/home.html",
        {
            "categories": categories,
            "new_arrivals": new_arrivals,
            "bestsellers": _bestsellers(),
        },
    )


def _product_list(request: HttpRequest, queryset, template_context: dict) -> HttpResponse:
    products, sort = sorted_by(request, queryset.select_related("category"))
    context = {"page": paginate(request, products), "sort": sort, "sorts": SORTS}
    context.update(template_context)
    return render(request, "shop/product_list.html", context)


@require_GET
def catalog(request: HttpRequest) -> HttpResponse:
    """Every active product, sorted and paginated."""
    return _product_list(request, Product.objects.available(), {"title": "All products"})


@require_GET
def category(request: HttpRequest, slug: str) -> HttpResponse:
    """One category's active products, sorted and paginated."""
    cat = get_object_or_404(Category, slug=slug)
    return _product_list(
        request,
        Product.objects.available().filter(category=cat),
        {"title": cat.name, "category": cat},
    )


@require_GET
def product(request: HttpRequest, slug: str) -> HttpResponse:
    """The product page; records a view (with ?src= when it came from a widget)."""
    item = get_object_or_404(Product.objects.available().select_related("category"), slug=slug)
    source = clean_source(request.GET.get("src"))
    cart = Cart(request.session)
    form = AddToCartForm(product=item, cart=cart, initial={"quantity": 1, "source": source})
    signals.product_viewed.send(
        sender=product,
        **shopper_kwargs(request),
        product=item,
        source=source,
    )
    return render(
        request,
        "shop/product_detail.html",
        {"product": item, "form": form, "in_cart": cart.quantity_of(item)},
    )


@require_GET
def product_image(request: HttpRequest, slug: str) -> HttpResponse:
    """The product's picture: its static file if set, else a drawn SVG, cached long.

    Inactive products have no picture (404): their name must not leak through it."""
    item = get_object_or_404(Product.objects.available().select_related("category"), slug=slug)
    if item.image:
        return redirect(static(item.image))
    response = HttpResponse(product_svg(item), content_type="image/svg+xml; charset=utf-8")
    response["ETag"] = f'"{image_version(item)}"'
    # The URL carries ?v=<version>, so a name or category change gets a new URL.
    patch_cache_control(response, public=True, max_age=IMAGE_MAX_AGE, immutable=True)
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    """Search results (paginated); an empty query shows a prompt instead."""
    query = normalise_query(request.GET.get("q"))
    page = paginate(request, search_products(query)) if query else None
    return render(request, "shop/search.html", {"query": query, "page": page})
