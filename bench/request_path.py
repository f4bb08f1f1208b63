"""Where an authenticated API request's time goes, in one process: each middleware's
cost and each DRF step's, on a constant view with no work of its own.

Calls Django's WSGI handler directly (no server, no socket) with a token header:
- the constant DRF view of bench/floor_app.py behind the whole stack, then with each
  middleware left out in turn (its cost is the difference), and behind no middleware;
- a constant plain Django view behind the whole stack (Django's own floor);
- the DRF steps of the constant view (request wrapping, content negotiation,
  authentication, permissions, throttles, the view, finalizing, rendering), timed inside;
- the token lookup from the database against the cached one.

Configurations alternate over --rounds rounds of --requests requests; medians per
request are printed (microseconds).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shop_api_bench \\
    CACHE_URL=redis://127.0.0.1:6379/8 .venv/bin/python bench/request_path.py

Needs a migrated database (the API benchmark's will do); adds a user and a token.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project, run from anywhere
os.environ.update(
    {
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "API_THROTTLE_ANON": "1000000/s",
        "API_THROTTLE_USER": "1000000/s",
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "request-path-" + "x" * 50),
    }
)
import logging  # noqa: E402

import floor_app  # noqa: E402  (sets Django up with the floor views; bench/ is on the path)
from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.test import RequestFactory, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.renderers import JSONRenderer  # noqa: E402

STEPS: dict[str, list[float]] = defaultdict(list)


def timed(name: str, method):
    def wrapper(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            STEPS[name].append(time.perf_counter() - start)

    return wrapper


class TimedRenderer(JSONRenderer):
    render = timed("render JSON", JSONRenderer.render)


class TimedConstant(floor_app.Constant):
    """The constant DRF view, each step of its dispatch timed."""

    renderer_classes = [TimedRenderer]


for _name, _label in (
    ("initialize_request", "wrap the request"),
    ("perform_content_negotiation", "content negotiation"),
    ("perform_authentication", "authentication (token)"),
    ("check_permissions", "permissions"),
    ("check_throttles", "throttles"),
    ("get", "the view"),
    ("finalize_response", "finalize response"),
):
    setattr(TimedConstant, _name, timed(_label, getattr(floor_app.Constant, _name)))

floor_app.urlpatterns.insert(0, path("floor/timed/", TimedConstant.as_view()))


def token() -> str:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    user, _ = get_user_model().objects.get_or_create(username="request-path-bench")
    return Token.objects.get_or_create(user=user)[0].key


def per_request(handler: WSGIHandler, path_: str, key: str, n: int) -> float:
    """Seconds per request through ``handler`` (NaN unless every answer was a 200: a
    stack without a middleware another one requires fails fast)."""
    factory, auth = RequestFactory(), f"Token {key}"
    environs = [
        factory._base_environ(PATH_INFO=path_, REQUEST_METHOD="GET", HTTP_AUTHORIZATION=auth)
        for _ in range(n)
    ]
    statuses: set[str] = set()
    start = time.perf_counter()
    for environ in environs:
        response = handler(environ, lambda status, headers: statuses.add(status))
        b"".join(response)
        response.close()
    spent = (time.perf_counter() - start) / n
    return spent if statuses == {"200 OK"} else float("nan")


def handler_with(middleware: list[str]) -> WSGIHandler:
    with override_settings(MIDDLEWARE=middleware):
        return WSGIHandler()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.getLogger("django.request").setLevel(logging.CRITICAL)  # the failing stacks
    key = token()
    full = list(settings.MIDDLEWARE)
    configs = {
        "constant DRF view, whole stack": (handler_with(full), "/floor/constant/"),
        "plain Django view, whole stack": (handler_with(full), "/floor/django/"),
        "constant DRF view, no middleware": (handler_with([]), "/floor/constant/"),
    }
    for name in full:
        configs[f"without {name.rsplit('.', 1)[-1]}"] = (
            handler_with([m for m in full if m != name]),
            "/floor/constant/",
        )
    timings: dict[str, list[float]] = defaultdict(list)
    for handler, path_ in configs.values():  # warm-up
        per_request(handler, path_, key, 50)
    for r in range(args.rounds):
        for name, (handler, path_) in configs.items():
            timings[name].append(per_request(handler, path_, key, args.requests))
        print(f"round {r + 1} of {args.rounds}", file=sys.stderr, flush=True)
    med = {name: statistics.median(values) * 1e6 for name, values in timings.items()}
    whole = med["constant DRF view, whole stack"]
    print("per request, median of rounds (us)")
    for name in list(configs)[:3]:
        print(f"  {name:<46}{med[name]:>9.0f}")
    print("each middleware: whole stack minus the stack without it (us; nan: required)")
    for name in full:
        label = name.rsplit(".", 1)[-1]
        print(f"  {label:<46}{whole - med[f'without {label}']:>9.0f}")

    STEPS.clear()
    handler = handler_with(full)
    per_request(handler, "/floor/timed/", key, args.requests * args.rounds)
    print("DRF steps of the constant view, median (us)")
    for label, values in STEPS.items():
        print(f"  {label:<46}{statistics.median(values) * 1e6:>9.1f}")

    from rest_framework.authentication import TokenAuthentication

    from recommendations.api.auth import CachedTokenAuthentication

    for label, auth in (
        ("token lookup, database (DRF)", TokenAuthentication()),
        ("token lookup, cached", CachedTokenAuthentication()),
    ):
        auth.authenticate_credentials(key)
        start = time.perf_counter()
        for _ in range(args.requests):
            auth.authenticate_credentials(key)
        print(f"  {label:<46}{(time.perf_counter() - start) / args.requests * 1e6:>9.0f}")


if __name__ == "__main__":
    main()
