"""Build a believable demo shop: catalogue, shoppers, sessions, carts and orders."""

from __future__ import annotations

import resource

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.progress import Progress
from demo.generator import (
    DEMO_SHOPPER_PASSWORD,
    DemoDataExists,
    DemoDataInUse,
    DemoOptions,
    seed_demo_data,
)
from demo.passwords import PublishedPassword, demo_password

DEFAULTS = DemoOptions()


class Command(BaseCommand):
    help = (
        "Generate deterministic demo data (same --seed, same shop). --reset first deletes "
        "what an earlier seed made (demo products, categories, shoppers with their orders "
        "and events) and keeps every other row; trained models go only when no product is "
        "left."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
        parser.add_argument("--products", type=int, default=DEFAULTS.products)
        parser.add_argument("--categories", type=int, default=DEFAULTS.categories)
        parser.add_argument("--users", type=int, default=DEFAULTS.users)
        parser.add_argument("--interactions", type=int, default=DEFAULTS.interactions)
        parser.add_argument("--days", type=int, default=DEFAULTS.days)
        parser.add_argument(
            "--reset",
            action="store_true",
            help="delete earlier demo data first (other rows are kept)",
        )

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
        try:
            password, made_up = demo_password(DEMO_SHOPPER_PASSWORD, "DEMO_SHOPPER_PASSWORD")
        except PublishedPassword as exc:
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
            counts = seed_demo_data(
                options,
                reset=opts["reset"],
                log=log,
                progress=tick,
                shopper_password=password,
            )
        except (DemoDataExists, DemoDataInUse) as exc:
            raise CommandError(f"Refusing to seed: {exc}.") from exc
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        secret = made_up or password == DEMO_SHOPPER_PASSWORD  # shown; else the user's own
        shown = f"password {password!r}" if secret else "password from DEMO_SHOPPER_PASSWORD"
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {counts['products']:,} products in {counts['categories']} categories, "
                f"{counts['users']:,} shoppers ({shown}), "
                f"{counts['interactions']:,} interactions and {counts['orders']:,} orders "
                f"in {counts['seconds']}s (peak memory {peak_mb:,.0f} MB)."
            )
        )
