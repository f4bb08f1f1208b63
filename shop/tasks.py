"""Shop tasks: housekeeping run by Celery beat (see CELERY_BEAT_SCHEDULE), and the
emails queued after an order or a sign-up commits (shop.emails)."""

from __future__ import annotations

from importlib import import_module

from celery import shared_task
from django.conf import settings

from . import emails


@shared_task
def clear_expired_sessions() -> None:
    """Delete expired sessions, as `manage.py clearsessions` does: the session table
    only grows otherwise (every guest with a cart has a row). Safe to run twice."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()


@shared_task(ignore_result=True)
def send_order_confirmation_email(order_id: int, link: str = "") -> None:
    """Email an order's confirmation (shop.emails; a failure is logged, not raised)."""
    emails.send_order_confirmation(order_id, link)


@shared_task(ignore_result=True)
def send_welcome_email(user_id: int, link: str = "") -> None:
    """Welcome a new account by email (shop.emails; a failure is logged, not raised)."""
    emails.send_welcome(user_id, link)
