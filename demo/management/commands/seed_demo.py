"""Build a believable demo shop: catalogue, shoppers, sessions, carts and orders."""

from __future__ import annotations

import resource

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.progress import Progress
from demo.generator import (
    DEMO_SHOPPER_PASSWORD,
    DemoDataExists,
    DemoOptions,
    seed_demo_data,
)

DEFAULTS = DemoOptions()


class Command(BaseCommand):
    help = (
        "Generate deterministic demo data (same --seed, same shop). --reset first deletes "
        "the catalogue, orders, interactions, trained models and demo shoppers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
        parser.add_argument("--products", type=int, default=DEFAULTS.products)
        parser.add_argument("--categories", type=int, default=DEFAULTS.categories)
        parser.add_argument("--users", type=int, default=DEFAULTS.users)
        parser.add_argument("--interactions", type=int, default=DEFAULTS.interactions)
        parser.add_argument("--days", type=int, default=DEFAULTS.days)
        parser.add_argument("--reset", action="store_true", help="delete existing demo data first")

    def handle(self, *args, **opts) -> None:
        options = DemoOptions(
            seed=opts["seed"],
            products=opts["products"],
            categories=opts["categories"],
            users=opts["users"],
            interactions=opts["interactions"],
            days=opts["days"],
        )
        try:
            options.validate()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        verbose = opts["verbosity"] >= 1

        def log(line: str) -> None:
            if verbose:
                self.stdout.write(line)

        bar: Progress | None = None

        def tick(done: int, total: int) -> None:
            nonlocal bar
            if not verbose:
                return
            if bar is None:
                bar = Progress("  interactions written", total, stream=self.stdout)
            bar.update(done)
            if done >= total:
                bar.close()

        try:
            counts = seed_demo_data(options, reset=opts["reset"], log=log, progress=tick)
        except DemoDataExists as exc:
            raise CommandError(f"Refusing to seed: {exc}.") from exc
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {counts['products']:,} products in {counts['categories']} categories, "
                f"{counts['users']:,} shoppers (password {DEMO_SHOPPER_PASSWORD!r}), "
                f"{counts['interactions']:,} interactions and {counts['orders']:,} orders "
                f"in {counts['seconds']}s (peak memory {peak_mb:,.0f} MB)."
            )
        )
