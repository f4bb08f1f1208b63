"""Shop tasks: housekeeping run by Celery beat (see CELERY_BEAT_SCHEDULE), and the
emails (shop.emails) queued once the order or sign-up that made them commits."""

from __future__ import annotations

import logging
from functools import partial
from importlib import import_module
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse

from . import emails
from .models import Order

logger = logging.getLogger(__name__)


@shared_task
def clear_expired_sessions() -> None:
    """Delete expired sessions, as `manage.py clearsessions` does: the session table
    only grows otherwise (every guest with a cart has a row). Safe to run twice."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()


# A mail server that is down for a while (minutes) should not lose the email: on a
# worker, delivery is retried after 1, 2, 4, 8 and 16 minutes (31 in all), then logged.
EMAIL_RETRIES = 5
EMAIL_RETRY_SECONDS = 60


@shared_task(bind=True, ignore_result=True, max_retries=EMAIL_RETRIES)
def send_order_confirmation_email(self, order_id: int, link: str = "") -> None:
    """Email an order's confirmation (shop.emails; a failure is logged, not raised)."""
    _deliver(self, emails.send_order_confirmation, order_id, link)


@shared_task(bind=True, ignore_result=True, max_retries=EMAIL_RETRIES)
def send_welcome_email(self, user_id: int, link: str = "") -> None:
    """Welcome a new account by email (shop.emails; a failure is logged, not raised)."""
    _deliver(self, emails.send_welcome, user_id, link)


def _deliver(task: Any, send: Any, pk: int, link: str) -> None:
    """Send; on a worker, retry a failed delivery with backoff until the last try, which
    is logged. In-process (eager) there is one try: the shopper's request is waiting."""
    last_try = task.request.is_eager or task.request.retries >= task.max_retries
    try:
        send(pk, link, retry=not last_try)
    except emails.DeliveryError as exc:
        logger.warning("Email not sent yet, retrying: %s", exc)
        raise task.retry(exc=exc, countdown=EMAIL_RETRY_SECONDS * 2**task.request.retries) from exc


def queue_order_confirmation(order: Order, request: HttpRequest | None = None) -> None:
    """Once the current transaction commits, send ``order``'s confirmation to its email."""
    # A signed-in shopper's order has a page of its own; a guest's confirmation page
    # lives in the session that placed it, so their email carries no link.
    link = request.build_absolute_uri(order.get_absolute_url()) if request and order.user_id else ""
    transaction.on_commit(partial(_queue, send_order_confirmation_email, order.pk, link))


def queue_welcome(user: Any, request: HttpRequest | None = None) -> None:
    """Once the current transaction commits, welcome the new account by email."""
    link = request.build_absolute_uri(reverse("shop:home")) if request else ""
    transaction.on_commit(partial(_queue, send_welcome_email, user.pk, link))


def _queue(task: Any, pk: int, link: str) -> None:
    """Hand the email to the worker; a broker that cannot take it is logged, not raised."""
    try:
        task.delay(pk, link)
    except Exception:
        logger.exception("Email task %s(%s) could not be queued", task.name, pk)
