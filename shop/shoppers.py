"""Who is shopping: the signed-in user, or a random anonymous id kept in the session.

The anonymous id identifies a guest in orders and in whatever listens to the shop's
signals. It is never the session key: that key is a credential (replaying it opens
the shopper's session), so it must not end up in tables, logs, models or exports.
Django's login() keeps session data, so the id survives sign-in and the listener can
attach the guest's history to the account.

Two guards around that id:
- It is kept (in the session, so a session row and cookie) only for a client that has
  shown it keeps cookies (it sent one back) or changes something (a POST). A cookie-less
  client, a crawler, gets a fresh id per request that is never stored.
- When it is minted, ``ShopperCookieMiddleware`` binds it to the browser with a signed,
  HttpOnly cookie (``__Host-`` prefixed over HTTPS, so a sibling subdomain cannot set
  it). At login only a guest id this browser minted is merged into the account: a
  session planted on the browser (session fixation) brings no one else's history.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

SHOPPER_ID_KEY = "shopper_id"
BROWSER_SALT = "shop.shoppers.browser"
_MINTED = "_shop_minted_shopper_id"  # request attribute: bind this id to the browser
_TRANSIENT = "_shop_transient_shopper_id"  # request attribute: a cookie-less client's id
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def browser_cookie_name() -> str:
    """The binding cookie's name: ``__Host-`` prefixed when cookies are HTTPS-only."""
    return "__Host-shopper" if settings.SESSION_COOKIE_SECURE else "shopper"


def keeps_cookies(request: HttpRequest) -> bool:
    """Whether the client sent a cookie back or is changing something (not a crawl)."""
    return bool(request.COOKIES) or request.method not in SAFE_METHODS


def anonymous_id(request: HttpRequest, *, create: bool = True) -> str:
    """This session's anonymous shopper id ("" for signed-in shoppers, or when not created).

    A client that keeps no cookies gets an id for this request only (no session write).
    """
    if request.user.is_authenticated:
        return ""
    value = request.session.get(SHOPPER_ID_KEY, "") or getattr(request, _TRANSIENT, "")
    if not value and create:
        value = secrets.token_hex(16)
        if keeps_cookies(request):
            request.session[SHOPPER_ID_KEY] = value
            setattr(request, _MINTED, value)
        else:
            setattr(request, _TRANSIENT, value)
    return value


def minted_by_this_browser(request: HttpRequest) -> bool:
    """Whether the session's guest id carries this browser's binding cookie."""
    value = request.session.get(SHOPPER_ID_KEY, "")
    bound = request.get_signed_cookie(browser_cookie_name(), default="", salt=BROWSER_SALT)
    return bool(value) and secrets.compare_digest(str(value), bound)


def drop_foreign_guest_id(request: HttpRequest) -> bool:
    """Forget the session's guest id unless this browser minted it; True when dropped.

    Called at login before the guest's history is merged into the account.
    """
    session = getattr(request, "session", None)
    if session is None or not session.get(SHOPPER_ID_KEY) or minted_by_this_browser(request):
        return False
    del session[SHOPPER_ID_KEY]
    return True


class ShopperCookieMiddleware:
    """Sets the browser-binding cookie when a request minted a guest id.

    Sits outside everything that may mint one (the views, the impression middleware).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        minted = getattr(request, _MINTED, "")
        if minted and request.session.get(SHOPPER_ID_KEY) == minted:
            response.set_signed_cookie(
                browser_cookie_name(),
                minted,
                salt=BROWSER_SALT,
                max_age=settings.SESSION_COOKIE_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response


def signal_user(request: HttpRequest):
    """The authenticated user, or None for an anonymous shopper."""
    return request.user if request.user.is_authenticated else None


def shopper_kwargs(request: HttpRequest) -> dict[str, Any]:
    """The identity arguments every shop signal carries (see signals.py)."""
    return {"request": request, "user": signal_user(request), "anonymous_id": anonymous_id(request)}
