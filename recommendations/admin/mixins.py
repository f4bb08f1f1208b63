"""Behaviours shared by the recommendations' model admins."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.options import IncorrectLookupParameters
from django.http import HttpRequest


class NulSafeChangelistMixin:
    """A NUL in a filter parameter (?kind=%00) reached PostgreSQL, which refuses it: a 500.
    Such a list is refused as Django refuses any wacky lookup (redirect to ?e=1)."""

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        if any("\x00" in key + "".join(values) for key, values in request.GET.lists()):
            raise IncorrectLookupParameters("a NUL character in the query string")
        return super().get_changelist_instance(request)


class ReadOnlyMixin:
    """Nobody adds or edits these rows by hand; viewing (and deleting, by permission) only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
