"""The README's API examples do what their comments say, on the demo shop.

The ```sh block of the README's API section is parsed as written: ``TOKEN=$(...)`` runs
that management command, each ``curl`` goes through Django's test client, and the
comment above it is checked by the claim it makes (a comment no check recognises fails
the test, so a new example comes with its check). The demo shop is set up as
``make demo`` does (setup_demo), smaller and training popularity only.
"""

from __future__ import annotations

import io
import json
import re
import shlex
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from recommendations.models import Interaction
from shop.models import Product
from tests.paths import ROOT

README = ROOT / "README.md"
# The README's demo shop itself (seed_demo's defaults, about 10 s): smaller seeds make
# another catalogue and other baskets, so "bought together with product 6" would be
# checked on products the README never showed. Related lists do not depend on which
# model wins, so training popularity alone gives the demo's.
NUMBERS = {"one": 1, "two": 2, "three": 3, "five": 5, "ten": 10, "twenty": 20}

pytestmark = pytest.mark.django_db


@dataclass
class Example:
    comment: str
    method: str = "GET"
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    data: str | None = None


def api_block(text: str) -> str:
    """The first ```sh block of the README's "## API" section."""
    section = text.split("\n## API\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


def shell_commands(block: str) -> list[tuple[str, str]]:
    """(comment above, command) of each command of a sh block; a command runs on over
    lines ending in a backslash and over newlines inside quotes."""
    commands, comment, pending, in_comment = [], "", "", False
    for line in block.splitlines():
        if not pending and line.lstrip().startswith("#"):
            text = line.lstrip("# ").strip()
            comment, in_comment = (f"{comment} {text}" if in_comment else text), True
            continue
        in_comment = False
        pending += line + "\n"
        if line.endswith("\\"):
            continue
        try:
            shlex.split(pending)
        except ValueError:  # a quote still open
            continue
        if pending.strip():
            commands.append((comment, pending.strip()))
        pending = ""
    return commands


def parse_examples(block: str) -> tuple[str, list[Example]]:
    """(the TOKEN=$(...) command, the commented curl examples) of a sh block."""
    token_command, examples = "", []
    for comment, command in shell_commands(block):
        if command.startswith("TOKEN=$("):
            token_command = command[len("TOKEN=$(") : -1]
        elif command.startswith("curl "):
            examples.append(parse_curl(command, comment))
    return token_command, examples


def parse_curl(line: str, comment: str) -> Example:
    example = Example(comment=comment)
    words = iter(w for w in shlex.split(line)[1:] if w != "\n")
    for word in words:
        if word == "-X":
            example.method = next(words)
        elif word == "-H":
            name, _, value = next(words).partition(": ")
            example.headers[name] = value
        elif word == "-d":
            example.data = next(words)
        else:
            example.url = word
    return example


def test_the_readme_api_block_is_parsed_as_written():
    token_command, examples = parse_examples(api_block(README.read_text()))
    assert token_command.endswith("manage.py issue_api_token admin")
    assert len(examples) >= 3 and all(e.url.startswith("http://") for e in examples)
    assert all(e.comment for e in examples)


@pytest.fixture
def demo_shop(settings):
    """What make demo leaves: the demo data, the admin account, an active model."""
    settings.DEBUG = True  # a local demo: the README's published passwords apply
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "ALGORITHMS": ["popularity"]}
    settings.API_THROTTLE_RATES = {"anon": "10000/min", "user": "10000/min"}
    call_command("setup_demo", stdout=io.StringIO(), stderr=io.StringIO())


def run_token_command(command: str) -> str:
    """``./.venv/bin/python manage.py NAME ARGS`` run in this process; its stdout."""
    name, *args = shlex.split(command.split("manage.py", 1)[1])
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def nth_product_id(readme_id: int) -> int:
    """The demo's product ``readme_id`` on this database (ids start at 1 on a fresh one)."""
    return Product.objects.order_by("pk").values_list("pk", flat=True)[readme_id - 1]


def send(client, example: Example, token: str):
    path = urlsplit(example.url)
    url = re.sub(
        r"/products/(\d+)/", lambda m: f"/products/{nth_product_id(int(m[1]))}/", path.path
    )
    url += f"?{path.query}" if path.query else ""
    headers = {k: v.replace("$TOKEN", token) for k, v in example.headers.items()}
    content_type = headers.pop("Content-Type", "application/json")
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    if example.method == "GET":
        return client.get(url, **extra)
    return client.generic(example.method, url, example.data or "", content_type, **extra)


def check_count(comment: str, noun: str, results: list) -> None:
    """ "[up to] ten <noun>": exactly that many, or between one and that many."""
    claim = re.search(rf"(up to )?(\w+) {noun}", comment)
    wanted = NUMBERS[claim[2]]
    if claim[1]:
        assert 1 <= len(results) <= wanted, (comment, len(results))
    else:
        assert len(results) == wanted, (comment, len(results))


def check_list(example: Example, response) -> None:
    """ "[up to] ten recommendations ..., kitchen products under £50 only"."""
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    check_count(example.comment, "recommendations", results)
    scope = re.search(r"([\w-]+) products under £(\d+)", example.comment)
    if scope:
        assert {r["product"]["category"] for r in results} == {scope[1]}
        assert all(Decimal(r["product"]["price"]) <= Decimal(scope[2]) for r in results)


def check_related(example: Example, response) -> None:
    """ "five products bought together with product 6"."""
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["widget"] == "bought-together"
    check_count(example.comment, "products", body["results"])
    assert len(body["results"]) <= int(re.search(r"limit=(\d+)", example.url)[1])


def check_events(example: Example, response, resend) -> None:
    """ "what a shopper did, sent server to server ... (idempotent on client_event_id)"."""
    assert response.status_code in (200, 201), response.content
    sent = json.loads(example.data)
    ids = [e["client_event_id"] for e in sent]
    stored = Interaction.objects.filter(client_event_id__in=ids)
    assert stored.count() == len(sent)
    assert {i.user.username for i in stored} == {e["user"] for e in sent}
    assert resend().status_code in (200, 201) and stored.count() == len(sent)


CHECKS = {
    r"recommendations for": check_list,
    r"bought together with product \d+": check_related,
}


def test_every_readme_api_example_does_what_its_comment_says(demo_shop, client):
    token_command, examples = parse_examples(api_block(README.read_text()))
    token = run_token_command(token_command)

    for example in examples:
        response = send(client, example, token)
        if "idempotent on client_event_id" in example.comment:
            check_events(example, response, lambda e=example: send(client, e, token))
            continue
        checks = [check for pattern, check in CHECKS.items() if re.search(pattern, example.comment)]
        assert checks, f"no check for the README example {example.comment!r}"
        for check in checks:
            check(example, response)
