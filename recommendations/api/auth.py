"""The API's token authentication (the token's user cached) and the permission it adds
to DRF's token and session authentication."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.permissions import SAFE_METHODS, BasePermission

from .one_round_trip import cached_user_and_count, remember_user

# How long a token's user is kept without a database read. Deleting the token and
# saving the user (deactivation, a new password, staff status) drop it at once; a change
# that bypasses model signals (QuerySet.update) is seen after this at most.
TOKEN_CACHE_SECONDS = 300


def token_cache_key(key: str) -> str:
    """The cache key of an API token's user: a hash, so the cache never holds keys."""
    return "api:token:" + hashlib.sha256(key.encode()).hexdigest()


class CachedTokenAuthentication(TokenAuthentication):
    """DRF's ``Authorization: Token <key>``, the token's user read from the cache.

    The database is read once per token per TOKEN_CACHE_SECONDS (and after a cache
    outage, which reads as misses). The cached user has every field but the password
    (which loads from the database if something asks for it).
    """

    also_reads: Callable[[int], list[str]] | None = None

    def authenticate(self, request):
        """DRF's, noting what the view reads for the user (its ``shared_reads``)."""
        view = request.parser_context.get("view") if request.parser_context else None
        self.also_reads = getattr(view, "shared_reads", None)
        return super().authenticate(request)

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        """The token's user, from the cache when it holds it, else as DRF reads it.

        The returned token carries ``throttle_count`` when the user's request was counted
        in the same cache round trip, and ``prefetched``: what the view's
        ``shared_reads(user id)`` names, read in that round trip too
        (recommendations/api/one_round_trip.py).
        """
        cache_key = token_cache_key(key)
        held, counted, values = cached_user_and_count(cache_key, self.also_reads)
        if held is None:
            user, token = super().authenticate_credentials(key)
            cache.set(cache_key, _user_fields(user), TOKEN_CACHE_SECONDS)
        else:
            user_model = get_user_model()
            user = user_model.from_db(DEFAULT_DB_ALIAS, list(held), list(held.values()))
            if not user.is_active:
                raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
            token = Token(key=key, user=user)
        remember_user(cache_key, user.pk)
        # A count made for another user (never: a token's user does not change) is not used.
        ours = counted is not None and counted[0] == user.pk
        token.throttle_count = counted[1:] if ours else None
        token.prefetched = values if ours else {}
        return user, token


def _user_fields(user) -> dict[str, Any]:
    return {
        f.attname: getattr(user, f.attname)
        for f in user._meta.concrete_fields
        if f.attname != "password"
    }


@receiver(post_delete, sender=Token, dispatch_uid="api-token-deleted")
def forget_deleted_token(sender, instance: Token, **kwargs) -> None:
    """A deleted (revoked, rotated) token is refused from the next request on."""
    cache.delete(token_cache_key(instance.key))


@receiver(post_save, dispatch_uid="api-token-user-saved")
def forget_saved_users_tokens(sender, instance, update_fields=None, **kwargs) -> None:
    """A saved user (deactivated, demoted) is read again by their tokens' next request."""
    if sender is not get_user_model() or update_fields == frozenset({"last_login"}):
        return  # a login changes nothing a token request reads
    keys = Token.objects.filter(user_id=instance.pk).values_list("key", flat=True)
    cache.delete_many([token_cache_key(key) for key in keys])


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
