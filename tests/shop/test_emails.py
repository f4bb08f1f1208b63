"""Order confirmation and welcome emails: sent after commit, never failing an order."""

import logging
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.core.mail.backends.base import BaseEmailBackend
from django.template import TemplateSyntaxError
from django.urls import reverse

from shop.emails import DeliveryError, LogOnlyBackend
from shop.models import Order
from shop.tasks import send_welcome_email
from tests.factories import ProductFactory, UserFactory
from tests.shop.test_checkout import DETAILS, fill_cart

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
REAL_KEY = "email-test-" + "k3y-x7Qp9vLm2ZrT8bYc4NwH6dFj1sKa5UeGo0iRlXy3MtBn"


class RefusingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server down")


def checkout(client, capture, details=DETAILS):
    """Post the checkout form and run what waits for the commit (the email)."""
    with capture(execute=True):
        return client.post(reverse("shop:checkout"), details, follow=True)


def test_guest_order_confirmation_lists_number_lines_and_total(
    client, product, mailoutbox, django_capture_on_commit_callbacks
):
    other = ProductFactory(name="Oak Board", price=Decimal("3.00"), stock=1)
    fill_cart(client, (product, 2), (other, 1))
    checkout(client, django_capture_on_commit_callbacks)
    order = Order.objects.get()
    (mail,) = mailoutbox
    assert mail.to == ["ada@example.com"]
    assert mail.subject == f"Your Shopwise order #{order.pk}"
    assert mail.from_email == "Shopwise <shop@localhost>"
    for body in (mail.body, mail.alternatives[0][0]):
        assert f"#{order.pk}" in body and "Ada Lovelace" in body
        assert "Blue Enamel Mug" in body and "Oak Board" in body
        assert "£17.00" in body and "£3.00" in body and "£20.00" in body
        assert "12 St James" in body
        assert "/account/orders/" not in body  # a guest has no order page to link to
    assert "2 × Blue Enamel Mug at £8.50: £17.00" in mail.body
    assert mail.alternatives[0][1] == "text/html"


def test_signed_in_order_goes_to_the_address_on_the_order_with_a_link(
    client, product, mailoutbox, django_capture_on_commit_callbacks
):
    client.force_login(UserFactory(email="account@example.com"))
    fill_cart(client, (product, 1))
    checkout(client, django_capture_on_commit_callbacks)
    order = Order.objects.get()
    (mail,) = mailoutbox
    assert mail.to == ["ada@example.com"]
    assert f"http://testserver/account/orders/{order.pk}/" in mail.body


def test_one_email_per_order_however_often_the_form_is_sent(
    client, product, mailoutbox, django_capture_on_commit_callbacks
):
    fill_cart(client, (product, 1))
    token = client.get(reverse("shop:checkout")).context["cart_token"]
    for _ in range(2):
        checkout(client, django_capture_on_commit_callbacks, {**DETAILS, "cart_token": token})
    assert Order.objects.count() == 1 and len(mailoutbox) == 1


def test_no_email_when_the_order_is_refused(
    client, product, mailoutbox, django_capture_on_commit_callbacks
):
    fill_cart(client, (product, 2))
    product.__class__.objects.filter(pk=product.pk).update(stock=1)
    checkout(client, django_capture_on_commit_callbacks)
    assert not Order.objects.exists() and mailoutbox == []


def test_a_failing_mail_server_is_logged_and_the_order_stands(
    client, product, settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    fill_cart(client, (product, 2))
    with caplog.at_level(logging.ERROR, logger="shop.emails"):
        response = checkout(client, django_capture_on_commit_callbacks)
    order = Order.objects.get()
    assert response.redirect_chain[-1][0] == reverse("shop:order_confirmation", args=[order.pk])
    assert f"#{order.pk}" in response.content.decode()
    product.refresh_from_db()
    assert product.stock == 3
    (record,) = [r for r in caplog.records if r.name == "shop.emails"]
    assert f"order #{order.pk}" in record.getMessage()
    assert record.exc_info[0] is ConnectionRefusedError


def test_sign_up_sends_a_welcome(client, mailoutbox, django_capture_on_commit_callbacks):
    form = {
        "username": "newshopper",
        "email": "new@example.com",
        "password1": "a-long-pass-phrase-42",
        "password2": "a-long-pass-phrase-42",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("shop:signup"), form)
    assert response.status_code == 302
    (mail,) = mailoutbox
    assert mail.to == ["new@example.com"]
    assert mail.subject == "Welcome to Shopwise, newshopper"
    assert "newshopper" in mail.body and "http://testserver/" in mail.body
    assert "newshopper" in mail.alternatives[0][0]


def test_a_refused_sign_up_sends_nothing(client, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("shop:signup"), {"username": "x", "email": "not-an-address"})
    assert mailoutbox == []


def test_the_log_only_backend_logs_the_subject_not_the_recipient(settings, caplog):
    from django.core.mail import send_mail

    settings.EMAIL_BACKEND = "shop.emails.LogOnlyBackend"
    with caplog.at_level(logging.WARNING, logger="shop.emails"):
        send_mail("Your Shopwise order #7", "body", None, ["ada@example.com"])
    (record,) = caplog.records
    assert "Your Shopwise order #7" in record.getMessage()
    assert "ada@example.com" not in record.getMessage()
    assert LogOnlyBackend().send_messages([]) == 0


def email_settings(**env: str) -> str:
    """EMAIL_BACKEND, host and port as a fresh process loads them from ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_")}
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings as s; "
            "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS)",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", "SECRET_KEY": REAL_KEY, **env},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_email_settings_come_from_the_environment():
    smtp = "django.core.mail.backends.smtp.EmailBackend"
    assert email_settings(DEBUG="1").startswith("django.core.mail.backends.console.")
    assert email_settings(DEBUG="0").startswith("shop.emails.LogOnlyBackend ")
    url = "smtp+tls://shop:p%40ss@smtp.example.com:587"
    assert email_settings(DEBUG="0", EMAIL_URL=url) == f"{smtp} smtp.example.com 587 True"
    chosen = email_settings(DEBUG="0", EMAIL_URL=url, EMAIL_BACKEND="anymail.backends.X")
    assert chosen.startswith("anymail.backends.X smtp.example.com")


def test_check_warns_when_production_delivers_no_email():
    def check(**env: str) -> subprocess.CompletedProcess:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_")}
        return subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=ROOT,
            env={**clean, "DEBUG": "0", "SECRET_KEY": REAL_KEY, **env},
            capture_output=True,
            text=True,
        )

    assert "(shop.W001) EMAIL_BACKEND is shop.emails.LogOnlyBackend" in check().stderr
    assert "shop.W001" not in check(EMAIL_URL="smtp://mail.example.com:25").stderr


def run_on_worker(task, *args, retries=0):
    """Run ``task`` as a worker would (not eager), on its ``retries``-th retry."""
    task.push_request(
        id="email-test", retries=retries, is_eager=False, called_directly=False, args=list(args)
    )
    try:
        return task.run(*args)
    finally:
        task.pop_request()


def test_on_a_worker_a_failed_delivery_is_retried_with_backoff(settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    user = UserFactory(email="new@example.com")
    with pytest.raises(Retry) as first:
        run_on_worker(send_welcome_email, user.pk, "")
    with pytest.raises(Retry) as third:
        run_on_worker(send_welcome_email, user.pk, "", retries=2)
    assert (first.value.when, third.value.when) == (60, 240)
    assert isinstance(first.value.exc, DeliveryError)


def test_the_last_try_on_a_worker_is_logged_not_retried(settings, caplog):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    user = UserFactory(email="new@example.com")
    with caplog.at_level(logging.ERROR, logger="shop.emails"):
        run_on_worker(send_welcome_email, user.pk, "", retries=send_welcome_email.max_retries)
    (record,) = [r for r in caplog.records if r.name == "shop.emails"]
    assert f"user {user.pk}" in record.getMessage()
    assert record.exc_info[0] is ConnectionRefusedError


def test_a_template_error_is_never_retried(caplog, monkeypatch):
    user = UserFactory(email="new@example.com")
    monkeypatch.setattr("shop.emails.render_to_string", _raise_template_error)
    with caplog.at_level(logging.ERROR, logger="shop.emails"):
        run_on_worker(send_welcome_email, user.pk, "")  # no Retry raised
    assert "was not rendered" in caplog.records[-1].getMessage()


def _raise_template_error(*args, **kwargs):
    raise TemplateSyntaxError("broken template")
