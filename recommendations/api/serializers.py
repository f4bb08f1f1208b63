"""What the API reads (query strings, event batches) and writes (products, lists)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.reverse_once import SLUG_PLACEHOLDER, reversed_with
from shop.images import image_version
from shop.models import Category, Product
from shop.templatetags.shop_tags import product_image_url

from ..serving import PAGES

MAX_LIMIT = 100
MAX_EXCLUDE = 500
MAX_BATCH = 1000
# A client's clock may run a little ahead of ours; beyond this a timestamp is "future".
CLOCK_SKEW = timedelta(minutes=1)
EVENT_KINDS = ("view", "cart", "purchase", "click", "impression", "not_interested")
RELATED_KINDS = ("similar", "bought_together", "also_viewed")
ORDERINGS = {
    "name": ("name", "pk"),
    "-name": ("-name", "-pk"),
    "price": ("price", "name", "pk"),
    "-price": ("-price", "name", "pk"),
    "created": ("created", "pk"),
    "-created": ("-created", "-pk"),
}


def _absolute(request: Any, url: str) -> str:
    return request.build_absolute_uri(url) if request is not None else url


# ---------------------------------------------------------------- output

# What <slug:slug> matches: such a slug goes into a URL unquoted, so a pattern reversed
# once with a placeholder gives every product's URL by concatenation.
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_PRICE = serializers.DecimalField(max_digits=10, decimal_places=2)


class ProductLinks:
    """A product's page and image URLs for one request, without a reverse() per item.

    Gives what ``product.get_absolute_url()`` and ``product_image_url(product)`` give
    (absolute when there is a request); unusual products go through those functions.
    """

    def __init__(self, request: Any) -> None:
        self.request = request
        # build_absolute_uri("/") is scheme://host/ (checked against ALLOWED_HOSTS once)
        self.root = request.build_absolute_uri("/")[:-1] if request is not None else ""
        self.page = reversed_with("shop:product", SLUG_PLACEHOLDER).split(SLUG_PLACEHOLDER)
        self.image = reversed_with("shop:product_image", SLUG_PLACEHOLDER).split(SLUG_PLACEHOLDER)

    def page_url(self, product: Product) -> str:
        slug = product.slug
        if len(self.page) != 2 or not _SLUG.fullmatch(slug):
            return _absolute(self.request, product.get_absolute_url())
        return f"{self.root}{self.page[0]}{slug}{self.page[1]}"

    def image_url(self, product: Product) -> str:
        slug = product.slug
        if product.image or not product.active or len(self.image) != 2 or not _SLUG.fullmatch(slug):
            return _absolute(self.request, product_image_url(product))
        return f"{self.root}{self.image[0]}{slug}{self.image[1]}?v={image_version(product)}"


def product_data(product: Product, links: ProductLinks) -> dict[str, Any]:
    """ProductSerializer's fields, in its order, written out (DRF's field machinery
    costs as much per item as the rest of a list request)."""
    return {
        "id": product.pk,
        "sku": product.sku,
        "name": product.name,
        "slug": product.slug,
        "brand": product.brand,
        "price": None if product.price is None else _PRICE.to_representation(product.price),
        "category": product.category.slug,
        "url": links.page_url(product),
        "image_url": links.image_url(product),
        "in_stock": product.in_stock,
    }


class ProductSerializer(serializers.Serializer):
    """A product as lists show it."""

    id = serializers.IntegerField(read_only=True)
    sku = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    slug = serializers.CharField(read_only=True)
    brand = serializers.CharField(read_only=True)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    category = serializers.CharField(source="category.slug", read_only=True, help_text="slug")
    url = serializers.SerializerMethodField(help_text="The product page")
    image_url = serializers.SerializerMethodField()
    in_stock = serializers.BooleanField(read_only=True)

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, product: Product) -> str:
        return _absolute(self.context.get("request"), product.get_absolute_url())

    @extend_schema_field(OpenApiTypes.URI)
    def get_image_url(self, product: Product) -> str:
        return _absolute(self.context.get("request"), product_image_url(product))

    def to_representation(self, product: Product) -> dict[str, Any]:
        links = getattr(self, "_links", None)  # one per serializer: a page of products
        if links is None:
            links = self._links = ProductLinks(self.context.get("request"))
        return product_data(product, links)


class ProductDetailSerializer(ProductSerializer):
    """A product with its description."""

    description = serializers.CharField(read_only=True)

    def to_representation(self, product: Product) -> dict[str, Any]:
        data = super().to_representation(product)
        data["description"] = product.description
        return data


class RecommendedItemSerializer(serializers.Serializer):
    """One recommended product, why it is there, and the ``src`` to append to its link."""

    product = ProductSerializer(read_only=True)
    score = serializers.FloatField(read_only=True)
    reason = serializers.CharField(read_only=True)
    src = serializers.SerializerMethodField(
        help_text="Append as ?src=<value> to the product link so a click is attributed"
    )

    def get_src(self, item: Any) -> str:
        return self.context["src"]


def results_data(served: Any, links: ProductLinks) -> list[dict[str, Any]]:
    """A served list's ``results`` (RecommendedItemSerializer's fields, written out)."""
    src = served.src  # every item carries the list's src
    return [
        {
            "product": product_data(item.product, links),
            "score": float(item.score),
            "reason": item.reason,
            "src": src,
        }
        for item in served.items
    ]


PAGE_NAMES = tuple(PAGES)  # the shop pages with widgets


class SlotSerializer(serializers.Serializer):
    """The shop page slot a list stands for."""

    page = serializers.ChoiceField(choices=PAGE_NAMES, read_only=True)
    widget = serializers.CharField(read_only=True, help_text="The page's data-widget")


class RecommendationListSerializer(serializers.Serializer):
    """A served list: the model version that produced it and its items, best first."""

    version = serializers.IntegerField(
        source="version_id", allow_null=True, read_only=True, help_text="ModelVersion id"
    )
    widget = serializers.CharField(read_only=True)
    src = serializers.CharField(read_only=True)
    results = RecommendedItemSerializer(source="items", many=True, read_only=True)
    slot = SlotSerializer(
        allow_null=True,
        read_only=True,
        help_text=(
            "The shop page slot this list stands for (null: no page shows it). The "
            "page's row can differ: it leaves out what the page's earlier widgets and "
            "best sellers show; /api/pages/ answers the page itself"
        ),
    )

    def to_representation(self, served: Any) -> dict[str, Any]:
        # The declared fields describe the schema; the list is written out here.
        page = self.context.get("page")  # the view says which page shows this list
        links = ProductLinks(self.context.get("request")) if served.items else None
        return {
            "version": served.version_id,
            "widget": served.widget,
            "src": served.src,
            "results": results_data(served, links),
            "slot": {"page": page, "widget": served.widget} if page else None,
        }


class PageWidgetSerializer(serializers.Serializer):
    """One widget of a page as the page shows it (empty results: the page shows no row)."""

    widget = serializers.CharField(read_only=True, help_text="The page's data-widget")
    src = serializers.CharField(read_only=True)
    results = RecommendedItemSerializer(source="items", many=True, read_only=True)


class PageSerializer(serializers.Serializer):
    """A shop page's widgets, in page order, exactly as the page shows them."""

    page = serializers.ChoiceField(choices=PAGE_NAMES, read_only=True)
    version = serializers.IntegerField(
        allow_null=True,
        read_only=True,
        help_text="ModelVersion id of every list of the page (null: none active, or widgets off)",
    )
    widgets = PageWidgetSerializer(many=True, read_only=True)

    def to_representation(self, page: Any) -> dict[str, Any]:
        name, plan = page  # (page name, {widget: Served} in page order)
        links = ProductLinks(self.context.get("request")) if any(plan.values()) else None
        return {
            "page": name,
            "version": next((s.version_id for s in plan.values()), None),
            "widgets": [
                {"widget": s.widget, "src": s.src, "results": results_data(s, links)}
                for s in plan.values()
            ],
        }


class EventsAcceptedSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Events stored by this request")
    duplicates = serializers.IntegerField(
        help_text="Events skipped because their client_event_id was already stored or repeated"
    )


class HistoryClearedSerializer(serializers.Serializer):
    deleted = serializers.IntegerField(help_text="Rows deleted")


# ---------------------------------------------------------------- query strings


class ListRulesQuery(serializers.Serializer):
    """Per-request rules of every list endpoint (applied after ranking, before the cut)."""

    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=10)
    exclude = serializers.CharField(
        required=False,
        max_length=10_000,
        help_text=f"Comma-separated product ids to leave out (at most {MAX_EXCLUDE})",
    )
    category = serializers.SlugField(required=False, help_text="Only this category (slug)")
    min_price = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=Decimal("0"), required=False
    )
    max_price = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=Decimal("0"), required=False
    )

    cart = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=10_000,
        help_text=(
            f"Comma-separated product ids in the shopper's cart (at most {MAX_EXCLUDE}), "
            "left out as the shop's pages leave out the cart"
        ),
    )

    def validate_exclude(self, value: str) -> frozenset[int]:
        return frozenset(product_ids(value))

    def validate_cart(self, value: str) -> list[int]:
        return product_ids(value)

    def validate_category(self, value: str) -> str:
        if not Category.objects.filter(slug=value).exists():
            raise serializers.ValidationError(f"No category {value!r}.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"max_price": ["Must not be below min_price."]})
        return attrs


def product_ids(value: str) -> list[int]:
    """Comma-separated product ids (blanks skipped, order kept, repeats dropped)."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if len(parts) > MAX_EXCLUDE:
        raise serializers.ValidationError(f"At most {MAX_EXCLUDE} ids.")
    if not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts):
        raise serializers.ValidationError("Expected comma-separated product ids.")
    return list(dict.fromkeys(int(p) for p in parts))


def widget_size() -> int:
    """How many products a shop page's widget shows (RECS_WIDGET_SIZE)."""
    return int(settings.RECOMMENDATIONS.get("WIDGET_SIZE", 8))


class PageQuery(serializers.Serializer):
    """What a page endpoint takes: what the shop's page gets from the shop."""

    limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_LIMIT,
        default=widget_size,
        help_text="Products per widget (default RECS_WIDGET_SIZE, as the shop's pages)",
    )
    exclude = serializers.CharField(
        required=False,
        max_length=10_000,
        help_text=(
            "Comma-separated ids of products the page shows anyway, which no widget "
            "repeats: the shop's home page passes its best sellers "
            f"(at most {MAX_EXCLUDE})"
        ),
    )
    cart = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=10_000,
        help_text=(
            "Comma-separated product ids in the cart (at most "
            f"{MAX_EXCLUDE}); default: this session's shop cart"
        ),
    )

    validate_exclude = ListRulesQuery.validate_exclude
    validate_cart = ListRulesQuery.validate_cart


class RelatedQuery(ListRulesQuery):
    kind = serializers.ChoiceField(choices=RELATED_KINDS, default="similar")


class ProductListQuery(serializers.Serializer):
    category = serializers.SlugField(required=False, help_text="Only this category (slug)")
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Search words"
    )
    ordering = serializers.ChoiceField(
        choices=tuple(ORDERINGS),
        required=False,
        help_text="Default: relevance with q, else name",
    )

    validate_category = ListRulesQuery.validate_category


# ---------------------------------------------------------------- events


class EventSerializer(serializers.Serializer):
    """One thing a shopper did. Name the product by ``product`` (id) or ``sku``."""

    product = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    sku = serializers.CharField(max_length=64, required=False)
    kind = serializers.ChoiceField(
        choices=EVENT_KINDS,
        help_text=(
            '"purchase" only from a staff token (server to server): the shop records its '
            "own checkouts, and a shopper's or guest's purchase is refused (400)"
        ),
    )
    timestamp = serializers.DateTimeField(
        required=False, help_text="ISO 8601, not in the future (default: now)"
    )
    quantity = serializers.IntegerField(
        min_value=1,
        max_value=10_000,
        default=1,
        help_text=(
            "At most RECS_API_MAX_QUANTITY (default 100) per event; the views, carts and "
            "purchases a shopper or guest sends for themselves count against "
            "RECS_API_DAILY_QUANTITY units per 24 hours (default 1,000), beyond which "
            "events are refused (400)"
        ),
    )
    basket = serializers.CharField(max_length=64, allow_blank=True, default="")
    source = serializers.CharField(
        max_length=100,
        allow_blank=True,
        default="",
        help_text='Where it happened; "rec:<widget>:v<version>" credits that model version',
    )
    client_event_id = serializers.CharField(
        max_length=128,
        required=False,
        allow_null=True,
        help_text=(
            "Sending the same id again from the same sender (token or session user, "
            "guest session) stores the event once; other senders' ids never clash"
        ),
    )
    user = serializers.CharField(
        max_length=150,
        required=False,
        help_text="Username of the shopper (staff only: server-to-server)",
    )

    def validate_timestamp(self, value):
        if value > timezone.now() + CLOCK_SKEW:
            raise serializers.ValidationError("Must not be in the future.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "product" not in attrs and "sku" not in attrs:
            raise serializers.ValidationError({"product": ["Give product (id) or sku."]})
        return attrs
