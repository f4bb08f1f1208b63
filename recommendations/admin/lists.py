"""Admins of the precomputed lists, as the serving layer reads them (read-only)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.safestring import SafeString

from ..models import RelatedProducts, UserRecommendations
from .mixins import NulSafeChangelistMixin, ReadOnlyMixin
from .tables import ranked_table


class UserRecommendationsAdmin(NulSafeChangelistMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Per-shopper lists, as the serving layer reads them."""

    list_display = ("id", "version", "user", "anonymous_id", "length", "created")
    list_filter = ("version__status", "version__algorithm")
    search_fields = ("=user__username", "=anonymous_id")
    list_select_related = ("user", "version")
    show_full_result_count = False
    fields = ("version", "user", "anonymous_id", "created", "ranked_list")
    readonly_fields = fields

    @admin.display(description="items")
    def length(self, obj: UserRecommendations) -> int:
        return len(obj.product_ids or [])

    @admin.display(description="ranked list")
    def ranked_list(self, obj: UserRecommendations) -> SafeString | str:
        return ranked_table(obj.product_ids, obj.scores, obj.reasons)


class RelatedProductsAdmin(NulSafeChangelistMixin, ReadOnlyMixin, admin.ModelAdmin):
    """Per-product related lists, by kind."""

    list_display = ("id", "version", "product", "kind", "length")
    list_filter = ("kind", "version__status")
    search_fields = ("=product__sku",)
    list_select_related = ("product", "version")
    show_full_result_count = False
    fields = ("version", "product", "kind", "ranked_list")
    readonly_fields = fields

    @admin.display(description="items")
    def length(self, obj: RelatedProducts) -> int:
        return len(obj.product_ids or [])

    @admin.display(description="ranked list")
    def ranked_list(self, obj: RelatedProducts) -> SafeString | str:
        return ranked_table(
            obj.product_ids, obj.scores, [obj.get_kind_display()] * len(obj.product_ids)
        )
