"""The behaviour log's admin: read-only, linked to each shopper's inspection page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import path
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..models import Impression, Interaction
from .mixins import NulSafeChangelistMixin, ReadOnlyMixin
from .shopper import URL_NAME, shopper_url, shopper_view
from .tables import EMPTY


class ShopperLinks:
    """Columns that link a row's user or guest to the shopper's inspection page."""

    @admin.display(description="user", ordering="user")
    def user_link(self, obj: Interaction | Impression) -> SafeString | str:
        """The user, linked to the shopper's inspection page."""
        if obj.user_id is None:
            return EMPTY
        label = obj.user.get_username() if obj.user else f"#{obj.user_id}"
        return format_html('<a href="{}">{}</a>', shopper_url(obj.user_id), label)

    @admin.display(description="anonymous id", ordering="anonymous_id")
    def guest_link(self, obj: Interaction | Impression) -> SafeString | str:
        """A guest's anonymous shopper id, linked to the guest's inspection page."""
        if not obj.anonymous_id:
            return EMPTY
        url = shopper_url(None, obj.anonymous_id)
        return format_html('<a href="{}">{}</a>', url, obj.anonymous_id)


class InteractionAdmin(ShopperLinks, NulSafeChangelistMixin, ReadOnlyMixin, admin.ModelAdmin):
    """The append-only behaviour log: view only."""

    list_display = (
        "created",
        "kind",
        "user_link",
        "guest_link",
        "product",
        "quantity",
        "source",
        "model_version",
    )
    list_filter = ("kind", "source", "created")
    search_fields = ("=user__username", "=product__sku", "=anonymous_id")
    date_hierarchy = "created"
    list_select_related = ("user", "product", "model_version")
    show_full_result_count = False  # COUNT(*) on the whole log is slow on big tables
    list_per_page = 100

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list:
        """The log's pages, plus the per-shopper inspection page."""
        view = self.admin_site.admin_view(lambda request: shopper_view(request, self.admin_site))
        return [path("shopper/", view, name=URL_NAME), *super().get_urls()]


class ImpressionAdmin(ShopperLinks, NulSafeChangelistMixin, ReadOnlyMixin, admin.ModelAdmin):
    """The lists shoppers were shown, one row per list: view only."""

    list_display = (
        "created",
        "user_link",
        "guest_link",
        "source",
        "model_version",
        "size",
        "product_ids",
    )
    list_filter = ("source", "created")
    search_fields = ("=user__username", "=anonymous_id")
    date_hierarchy = "created"
    list_select_related = ("user", "model_version")
    show_full_result_count = False
    list_per_page = 100

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
