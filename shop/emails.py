"""The shop's emails: an order confirmation and a welcome on sign-up.

Each is text plus HTML from templates/shop/email/, queued (shop.tasks) when the
transaction that made the order or account commits, and sent by the Celery worker
(in-process when no broker is configured). Sending never fails an order or a sign-up:
a failure is logged and the order stands. On a worker, a mail server that cannot be
reached is retried with backoff (shop.tasks); in-process it is logged at once, so the
shopper's request never waits for retries. Where mail goes is settings' EMAIL_URL
(shop.W001 warns when nothing would be delivered with DEBUG off)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string

from .models import Order

logger = logging.getLogger(__name__)

SHOP_NAME = "Shopwise"


class DeliveryError(Exception):
    """The mail server could not take a rendered email: worth another try later."""


def send_order_confirmation(order_id: int, link: str = "", retry: bool = False) -> bool:
    """Email order ``order_id``'s number, lines and total to the address it holds
    (``retry``: raise DeliveryError when the server fails, for the caller to retry)."""
    order = Order.objects.prefetch_related("lines__product").filter(pk=order_id).first()
    if order is None:
        logger.warning("Order confirmation not sent: no order %s", order_id)
        return False
    context = {"order": order, "lines": order.lines.all(), "link": link}
    return _send("order_confirmation", context, order.email, f"order #{order.pk}", retry)


def send_welcome(user_id: int, link: str = "", retry: bool = False) -> bool:
    """Email a new account a welcome (to the address it signed up with; ``retry`` as
    for send_order_confirmation)."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not user.email:
        logger.warning("Welcome email not sent: no user %s with an email address", user_id)
        return False
    return _send("welcome", {"user": user, "link": link}, user.email, f"user {user.pk}", retry)


def _send(template: str, context: dict[str, Any], to: str, what: str, retry: bool) -> bool:
    """Render templates/shop/email/<template>{_subject.txt,.txt,.html} and send them;
    False (logged) when rendering or sending fails, or DeliveryError from a failed send
    when ``retry`` (a template error would fail again: it is never retried)."""
    try:
        message = _render(template, {"shop_name": SHOP_NAME, **context}, to)
    except Exception:
        logger.exception("The %s email for %s was not rendered", template, what)
        return False
    try:
        message.send()
    except Exception as exc:
        if retry:
            raise DeliveryError(f"the {template} email for {what}: {exc!r}") from exc
        logger.exception("The %s email for %s was not sent", template, what)
        return False
    return True


def _render(template: str, context: dict[str, Any], to: str) -> EmailMultiAlternatives:
    base = f"shop/email/{template}"
    subject = " ".join(render_to_string(f"{base}_subject.txt", context).split())
    message = EmailMultiAlternatives(subject, render_to_string(f"{base}.txt", context), to=[to])
    message.attach_alternative(render_to_string(f"{base}.html", context), "text/html")
    return message


class LogOnlyBackend(BaseEmailBackend):
    """Delivers nothing and logs one warning per email: the default with DEBUG off and no
    EMAIL_URL, so a shop without a mail server still takes orders. The line names the
    subject only, not the address or body (a customer's personal data)."""

    def send_messages(self, email_messages: list) -> int:
        for message in email_messages:
            logger.warning("Email not sent (no EMAIL_URL set): %r", message.subject)
        return 0


# Backends that deliver nothing to the recipient.
UNDELIVERED = {
    "shop.emails.LogOnlyBackend",
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
}


@checks.register("email")
def check_email_is_delivered(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Warn when, with DEBUG off, order and welcome emails would reach nobody."""
    if settings.DEBUG or settings.EMAIL_BACKEND not in UNDELIVERED:
        return []
    return [
        checks.Warning(
            f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}: order confirmations and welcome "
            "emails are not delivered (orders are still placed).",
            hint="Set EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587, and "
            "DEFAULT_FROM_EMAIL.",
            id="shop.W001",
        )
    ]
