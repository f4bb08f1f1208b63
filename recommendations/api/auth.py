"""Permission the API adds to DRF's token and session authentication."""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission


class GuestWritesNeedCSRF(BasePermission):
    """An unauthenticated POST or DELETE still needs the session's CSRF token.

    Guests are identified by their session, so such a write acts on that session's
    history; without this check another site could write into (or clear) a guest's
    history. Token and signed-in clients are checked by their authentication class.
    """

    message = "CSRF token missing or incorrect."

    def has_permission(self, request, view) -> bool:  # noqa: D102 - DRF hook
        if request.method in SAFE_METHODS or request.user.is_authenticated:
            return True
        SessionAuthentication().enforce_csrf(request)  # raises PermissionDenied
        return True
