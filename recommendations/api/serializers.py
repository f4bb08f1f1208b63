"""What the API reads (query strings, event batches) and writes (products, lists)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from shop.models import Category, Product
from shop.templatetags.shop_tags import product_image_url

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


class ProductDetailSerializer(ProductSerializer):
    """A product with its description."""

    description = serializers.CharField(read_only=True)


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


class RecommendationListSerializer(serializers.Serializer):
    """A served list: the model version that produced it and its items, best first."""

    version = serializers.IntegerField(
        source="version_id", allow_null=True, read_only=True, help_text="ModelVersion id"
    )
    widget = serializers.CharField(read_only=True)
    src = serializers.CharField(read_only=True)
    results = RecommendedItemSerializer(source="items", many=True, read_only=True)

    def to_representation(self, served: Any) -> dict[str, Any]:
        self.context["src"] = served.src  # every item carries the list's src
        return super().to_representation(served)


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

    def validate_exclude(self, value: str) -> frozenset[int]:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if len(parts) > MAX_EXCLUDE:
            raise serializers.ValidationError(f"At most {MAX_EXCLUDE} ids.")
        if not all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts):
            raise serializers.ValidationError("Expected comma-separated product ids.")
        return frozenset(int(p) for p in parts)

    def validate_category(self, value: str) -> str:
        if not Category.objects.filter(slug=value).exists():
            raise serializers.ValidationError(f"No category {value!r}.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        low, high = attrs.get("min_price"), attrs.get("max_price")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"max_price": ["Must not be below min_price."]})
        return attrs


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
    kind = serializers.ChoiceField(choices=EVENT_KINDS)
    timestamp = serializers.DateTimeField(
        required=False, help_text="ISO 8601, not in the future (default: now)"
    )
    quantity = serializers.IntegerField(min_value=1, max_value=10_000, default=1)
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
        help_text="Sending the same id again stores the event once",
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
