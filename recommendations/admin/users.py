"""The user admin, with a link to each shopper's inspection page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .shopper import shopper_url
from .tables import EMPTY


class ShopperUserAdmin(UserAdmin):
    """Django's user admin plus a link to the shopper's recommendations."""

    list_display = (*UserAdmin.list_display, "recommendations")
    readonly_fields = (*UserAdmin.readonly_fields, "recommendations")

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        """The user's fieldsets, plus the link on the change page (not the add form)."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # the add form
            return fieldsets
        return [*fieldsets, ("Recommendations", {"fields": ("recommendations",)})]

    @admin.display(description="recommendations")
    def recommendations(self, obj: Any) -> SafeString | str:
        """Link to what this shopper is recommended now, and why."""
        if obj is None or obj.pk is None:
            return EMPTY
        return format_html('<a href="{}">Inspect this shopper</a>', shopper_url(obj.pk))
