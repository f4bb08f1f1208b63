"""Passwords of the accounts the demo commands create.

The README publishes the demo passwords, so they are only acceptable where the site is
a local demo (DEBUG on). With DEBUG off an account gets the password from its
environment variable, or a random one that the command prints once.
"""

from __future__ import annotations

import os
import secrets

from django.conf import settings


class PublishedPassword(Exception):
    """A published demo password was asked for with DEBUG off."""


def demo_password(published: str, env_name: str) -> tuple[str, bool]:
    """The password for new demo accounts and whether it was made up here (so print it).

    ``$env_name`` when set; else ``published`` with DEBUG on, a random one with DEBUG off.
    Raises ``PublishedPassword`` when DEBUG is off and the result would be ``published``.
    """
    given = os.environ.get(env_name, "")
    if given and (settings.DEBUG or given != published):
        return given, False
    if settings.DEBUG:
        return published, False
    if given:
        raise PublishedPassword(
            f"{env_name} is the README's published demo password; with DEBUG off choose "
            "another (or unset it for a random one)"
        )
    return secrets.token_urlsafe(18), True
