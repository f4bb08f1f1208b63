"""Concurrent writers against a SQLite file: run by test_sqlite_concurrency.py in a
subprocess, with DATABASE_URL naming the file (the suite's own SQLite is in memory).

    python -m tests.config.sqlite_writers concurrent ROUNDS
        4 threads, each its own connection; every round they post an event batch at
        once, then place a checkout at once. Prints {"events": [...], "checkouts": [...],
        "stored": n, "orders": n} (statuses, rows stored).
    python -m tests.config.sqlite_writers locked
        Another connection holds the write lock while one API batch and one checkout
        are sent. Prints {"api": [status, content type, Retry-After, body], "checkout": ...}.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from decimal import Decimal

import django

THREADS = 4
BATCH = 200
DETAILS = {"full_name": "Ada Lovelace", "email": "ada@example.com", "address": "1 High St"}


def _setup():
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from shop.models import Category, Product

    category = Category.objects.create(name="Kitchen", slug="kitchen")
    products = [
        Product.objects.create(
            sku=f"P-{i}",
            name=f"P {i}",
            slug=f"p-{i}",
            price=Decimal(1),
            category=category,
            stock=10_000,
        )
        for i in range(20)
    ]
    tokens = [
        Token.objects.create(user=User.objects.create(username=f"u{n}")).key for n in range(THREADS)
    ]
    return products, tokens


def _clients(tokens):
    from django.test import Client

    return [
        Client(raise_request_exception=False, HTTP_AUTHORIZATION=f"Token {token}")
        for token in tokens
    ]


def _events(client, products, tag):
    batch = [
        {"product": products[i % len(products)].pk, "kind": "view", "client_event_id": f"{tag}-{i}"}
        for i in range(BATCH)
    ]
    return client.post("/api/events/", batch, content_type="application/json")


def concurrent(rounds: int) -> dict:
    """Every round: THREADS event batches at once, then THREADS checkouts at once."""
    from django.db import connections

    products, tokens = _setup()
    clients = _clients(tokens)
    start = threading.Barrier(THREADS)
    out = {"events": [], "checkouts": []}

    def work(n: int) -> None:
        try:
            for r in range(rounds):
                start.wait()
                out["events"].append(_events(clients[n], products, f"{r}-{n}").status_code)
                client = clients[n]
                client.post(f"/cart/add/{products[n].pk}/", {"quantity": 1})
                start.wait()
                out["checkouts"].append(client.post("/checkout/", DETAILS).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    from recommendations.models import Interaction
    from shop.models import Order

    out["stored"] = Interaction.objects.filter(kind="view").count()
    out["orders"] = Order.objects.count()
    return out


def _described(response) -> list:
    return [
        response.status_code,
        response.get("Content-Type", ""),
        response.get("Retry-After"),
        response.content.decode()[:300],
    ]


def locked() -> dict:
    """One API batch and one checkout while another connection holds the write lock."""
    from django.conf import settings

    products, tokens = _setup()
    client = _clients(tokens)[0]
    client.post(f"/cart/add/{products[0].pk}/", {"quantity": 1})
    holder = sqlite3.connect(settings.DATABASES["default"]["NAME"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, held until the end
    try:
        return {
            "api": _described(_events(client, products, "locked")),
            "checkout": _described(client.post("/checkout/", DETAILS)),
        }
    finally:
        holder.execute("ROLLBACK")


if __name__ == "__main__":
    django.setup()
    result = concurrent(int(sys.argv[2])) if sys.argv[1] == "concurrent" else locked()
    print(json.dumps(result))
