"""Who is shopping: the signed-in user, or a random anonymous id kept in the session.

The anonymous id identifies a guest in orders and in whatever listens to the shop's
signals. It is never the session key: that key is a credential (replaying it opens
the shopper's session), so it must not end up in tables, logs, models or exports.
Django's login() keeps session data, so the id survives sign-in and the listener can
attach the guest's history to the account.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.http import HttpRequest

SHOPPER_ID_KEY = "shopper_id"


def anonymous_id(request: HttpRequest, *, create: bool = True) -> str:
    """This session's anonymous shopper id ("" for signed-in shoppers, or when not created)."""
    if request.user.is_authenticated:
        return ""
    value = request.session.get(SHOPPER_ID_KEY, "")
    if not value and create:
        value = secrets.token_hex(16)
        request.session[SHOPPER_ID_KEY] = value
    return value


def signal_user(request: HttpRequest):
    """The authenticated user, or None for an anonymous shopper."""
    return request.user if request.user.is_authenticated else None


def shopper_kwargs(request: HttpRequest) -> dict[str, Any]:
    """The identity arguments every shop signal carries (see signals.py)."""
    return {"request": request, "user": signal_user(request), "anonymous_id": anonymous_id(request)}
