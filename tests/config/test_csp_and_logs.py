"""The Content-Security-Policy on HTML pages (and pages that satisfy it: no inline
scripts, styles or handlers), and log lines: JSON carrying a request id, or plain text."""

import copy
import json
import logging
import logging.config
import os
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import CategoryFactory, ProductFactory, UserFactory
from tests.paths import ROOT

pytestmark = pytest.mark.django_db


class _InlineFinder(HTMLParser):
    """What a CSP without 'unsafe-inline' blocks: inline scripts, style elements and
    attributes, event-handler attributes, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._inline_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            data_block = (attrs.get("type") or "").endswith("json")
            self._inline_script = "src" not in attrs and not data_block
        if tag == "style":
            self.problems.append("<style> element")
        for name, value in attrs.items():
            if name == "style" or name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            if (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:...>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._inline_script = False

    def handle_data(self, data):
        if self._inline_script and data.strip():
            self.problems.append(f"inline script: {data.strip()[:60]!r}")


def assert_satisfies_csp(response) -> None:
    assert response.status_code == 200, response.status_code
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    finder = _InlineFinder()
    finder.feed(response.content.decode())
    assert finder.problems == [], finder.problems


def test_shop_pages_satisfy_the_csp(client):
    category = CategoryFactory(name="Kitchen", slug="kitchen")
    product = ProductFactory(category=category, slug="mug", name="Mug", stock=5)
    pages = [
        reverse("shop:home"),
        reverse("shop:catalog"),
        category.get_absolute_url(),
        product.get_absolute_url(),
        reverse("shop:search") + "?q=mug",
        reverse("shop:login"),
        reverse("shop:signup"),
    ]
    for url in pages:
        assert_satisfies_csp(client.get(url))
    client.post(reverse("shop:cart_add", args=[product.pk]), {"quantity": 1})
    assert_satisfies_csp(client.get(reverse("shop:cart")))
    assert_satisfies_csp(client.get(reverse("shop:checkout")))
    details = {"full_name": "Ada", "email": "ada@example.com", "address": "1 Road"}
    assert_satisfies_csp(client.post(reverse("shop:checkout"), details, follow=True))


def test_admin_pages_satisfy_the_csp(client):
    assert_satisfies_csp(client.get(reverse("admin:login")))
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    ProductFactory()
    for url in (
        reverse("admin:index"),
        reverse("admin:shop_product_changelist"),
        reverse("admin:shop_product_add"),
        reverse("admin:django_celery_beat_periodictask_add"),
    ):
        assert_satisfies_csp(client.get(url))


def test_request_id_is_made_honoured_and_echoed(client):
    made = client.get(reverse("shop:home"))["X-Request-ID"]
    assert len(made) == 32
    given = client.get(reverse("shop:home"), HTTP_X_REQUEST_ID="lb-1234.abc")
    assert given["X-Request-ID"] == "lb-1234.abc"
    unsafe = client.get(reverse("shop:home"), HTTP_X_REQUEST_ID="bad id\r\nX-Evil: 1")
    assert unsafe["X-Request-ID"] not in ("", "bad id\r\nX-Evil: 1")


def formatted(log_format: str, record: logging.LogRecord) -> str:
    """``record`` as the console handler formats it under LOG_FORMAT=``log_format``."""
    config = logging.config.DictConfigurator(copy.deepcopy(settings.LOGGING))
    formatter = config.configure_formatter(config.config["formatters"][log_format])
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    for f in handler.filters:
        f.filter(record)
    return formatter.format(record)


def run_settings(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Load the settings in a fresh process with ``env`` (LOG_FORMAT unset unless given)."""
    base = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; " + code],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
    )


def record() -> logging.LogRecord:
    return logging.LogRecord("shop", logging.WARNING, __file__, 1, "hello %s", ("you",), None)


def test_log_lines_are_json_with_a_request_id_field():
    line = json.loads(formatted("json", record()))
    assert line["message"] == "hello you" and line["level"] == "WARNING"
    assert line["logger"] == "shop" and "time" in line and line["request_id"] == ""


def test_text_log_lines_are_one_readable_line():
    line = formatted("text", record())
    assert line.endswith(" WARNING shop: hello you") and "\n" not in line


def test_the_console_uses_the_configured_format():
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    assert settings.LOG_FORMAT in ("json", "text")
    same = record()  # one record: two would differ in their time stamps
    expected = formatted(settings.LOG_FORMAT, same)  # runs the handler's filters first
    assert handler.formatter.format(same) == expected


@pytest.mark.parametrize(("debug", "expected"), [("1", "text"), ("0", "json")])
def test_the_log_format_follows_debug_unless_set(debug, expected):
    out = run_settings(
        "print(settings.LOG_FORMAT)",
        {"DEBUG": debug, "SECRET_KEY": "log-format-test-" + "k3y" * 20},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == expected


def test_an_unknown_log_format_stops_the_process():
    out = run_settings("print(settings.LOG_FORMAT)", {"LOG_FORMAT": "xml"})
    assert out.returncode != 0 and "LOG_FORMAT must be 'json' or 'text'" in out.stderr


def test_access_log_line_carries_the_request_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="config.requests"):
        client.get(reverse("shop:home"), HTTP_X_REQUEST_ID="trace-42")
    (record,) = [r for r in caplog.records if r.name == "config.requests"]
    assert record.status == 200 and record.path == "/"
    assert record.request_id == "trace-42"
