"""Believable, deterministic demo data: a catalogue, shoppers with tastes, their
sessions, carts and orders. ``generate`` is pure numpy; ``seed_demo_data`` writes it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from config.pg_copy import analyze
from recommendations.models import Interaction
from shop.models import Category, Order, OrderLine, Product

from .generate import DemoOptions, DemoShop, generate
from .shoppers import DEMO_EMAIL_DOMAIN
from .store import (
    DemoDataInUse,
    Log,
    Tick,
    check_no_clash,
    demo_users,
    reset_demo_data,
    write_shop,
)

__all__ = [
    "DEMO_EMAIL_DOMAIN",
    "DEMO_SHOPPER_PASSWORD",
    "DemoOptions",
    "DemoShop",
    "DemoDataExists",
    "DemoDataInUse",
    "anchor_now",
    "generate",
    "seed_demo_data",
]

# Every demo shopper's password in a local demo (README); see demo/passwords.py.
DEMO_SHOPPER_PASSWORD = "shopper-demo-pass"


class DemoDataExists(Exception):
    """The database already holds a catalogue or demo shoppers."""


def anchor_now() -> datetime:
    """End of the generated window: the start of today, UTC."""
    now = timezone.now().astimezone(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


# The tables a seed fills by the thousand (statistics refreshed once it is committed).
SEEDED_MODELS = (Category, Product, Order, OrderLine, Interaction)


def seed_demo_data(
    options: DemoOptions,
    *,
    reset: bool = False,
    log: Log = print,
    anchor: datetime | None = None,
    progress: Tick | None = None,
    shopper_password: str = DEMO_SHOPPER_PASSWORD,
) -> dict[str, int]:
    """Generate and insert a demo shop in one transaction; return row counts.

    ``reset`` first removes what an earlier seed made (``reset_demo_data``). Raises
    ``DemoDataExists`` or ``DemoDataInUse`` and changes nothing when it cannot seed.

    ``progress(done, total)`` follows the interaction rows being written."""
    options.validate()
    anchor = anchor or anchor_now()
    started = time.perf_counter()

    def stage(text: str) -> None:
        log(f"[{time.perf_counter() - started:6.1f}s] {text}")

    with transaction.atomic():
        if reset:
            stage("removing previous demo data")
            reset_demo_data(stage)
        elif Product.objects.exists() or demo_users().exists():
            raise DemoDataExists(
                f"the database already has {Product.objects.count():,} products and "
                f"{demo_users().count():,} demo shoppers; pass --reset to replace the demo "
                "data (rows the generator did not make are kept)"
            )
        taken = set(get_user_model().objects.values_list("username", flat=True))
        stage(
            f"generating {options.products:,} products, {options.users:,} shoppers, "
            f"{options.interactions:,} interactions over {options.days} days (seed {options.seed})"
        )
        shop = generate(options, taken)
        check_no_clash(shop)
        stage(
            f"generated {len(shop.events):,} events in {len(shop.session_keys):,} sessions "
            f"and {len(shop.orders):,} orders; writing"
        )
        counts = write_shop(shop, anchor, make_password(shopper_password), stage, progress)
    analyze(*SEEDED_MODELS)  # committed: the planner sees the new rows from the first query
    stage("done")
    counts["seconds"] = round(time.perf_counter() - started, 1)
    counts["window_start"] = int((anchor - timedelta(days=options.days)).timestamp())
    return counts
