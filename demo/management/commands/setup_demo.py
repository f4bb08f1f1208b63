"""What `make demo` runs after migrate: demo data, the staff account, a first model."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.passwords import PublishedPassword, demo_password
from recommendations.models import ModelVersion
from recommendations.training import summary
from recommendations.training.verbosity import run_pipeline_for_command
from shop.models import Product

ADMIN_USERNAME = "admin"
# Stated in the README and printed by `make demo`: used only with DEBUG on (passwords.py).
ADMIN_PASSWORD = "admin-demo-pass"
ADMIN_EMAIL = "admin@example.com"


class Command(BaseCommand):
    help = (
        "Idempotent demo setup: seed demo data if the catalogue is empty, create the staff "
        f"superuser {ADMIN_USERNAME!r} if missing (never changing an existing one), and train "
        "once if no model is active. With DEBUG off new accounts get $DEMO_ADMIN_PASSWORD / "
        "$DEMO_SHOPPER_PASSWORD or a random password (printed), never the README's."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--skip-training", action="store_true", help="do not run the training pipeline"
        )

    def handle(self, *args, **opts) -> None:
        try:  # before any change: a refused password leaves the database as it was
            admin_password = demo_password(ADMIN_PASSWORD, "DEMO_ADMIN_PASSWORD")
        except PublishedPassword as exc:
            raise CommandError(str(exc)) from exc
        if Product.objects.exists():
            self.stdout.write("Catalogue present, not seeding.")
        else:
            self.stdout.write("Empty catalogue: seeding demo data.")
            # reset=True only clears strays (demo shoppers, old models) when no products exist.
            # Its step-by-step lines only at -v 2: a first run needs its summary line.
            detail = max(opts["verbosity"] - 1, 0)
            call_command("seed_demo", reset=True, stdout=self.stdout, verbosity=detail)
        self._ensure_admin(*admin_password)
        if opts["skip_training"]:
            self.stdout.write("Training skipped (--skip-training).")
        else:
            self._train_once(opts["verbosity"])

    def _ensure_admin(self, password: str, made_up: bool) -> None:
        """Create the staff superuser if missing; never touch an existing account.

        Resetting an existing password to the README's would reopen any deployment
        that ran this command, so an existing ``admin`` is left exactly as it is.
        """
        User = get_user_model()
        if User.objects.filter(username=ADMIN_USERNAME).exists():
            self.stdout.write(f"User {ADMIN_USERNAME!r} exists; left unchanged.")
            return
        User.objects.create_superuser(ADMIN_USERNAME, ADMIN_EMAIL, password)
        how = f" with the random password {password!r} (shown once)" if made_up else ""
        self.stdout.write(f"Created staff user {ADMIN_USERNAME!r}{how}.")

    def _train_once(self, verbosity: int) -> None:
        """Train and activate a first model unless one is active."""
        if ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exists():
            self.stdout.write("An active model exists, not training.")
            return
        self.stdout.write("Training a first model...")
        # Precompute in this process (sync): the demo server starts next and should
        # show recommendations straight away.
        result = run_pipeline_for_command(self.stderr, verbosity)
        summary.write_run_summary(result, self.stdout, self.style)
