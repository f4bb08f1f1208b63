"""The user admin, with a link to each shopper's inspection page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .shopper import shopper_url
from .tables import EMPTY

# The user admin gains a link to each shopper's inspection page (list column and change
# page), keeping whatever admin class the project registered for its user model.
User = get_user_model()
_BaseUserAdmin = type(admin.site._registry[User]) if admin.site.is_registered(User) else None
if _BaseUserAdmin is not None:

    class ShopperUserAdmin(_BaseUserAdmin):
        """The registered user admin plus a link to the shopper's recommendations."""

        list_display = (*_BaseUserAdmin.list_display, "recommendations")
        readonly_fields = (*_BaseUserAdmin.readonly_fields, "recommendations")

        def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
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

    admin.site.unregister(User)
    admin.site.register(User, ShopperUserAdmin)
