"""What `make demo` runs after migrate: demo data, the staff account, a first model."""

from __future__ import annotations

import importlib
import inspect

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from recommendations.models import ModelVersion
from shop.models import Product

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-demo-pass"  # stated in the README and printed by `make demo`
ADMIN_EMAIL = "admin@example.com"


class Command(BaseCommand):
    help = (
        "Idempotent demo setup: seed demo data if the catalogue is empty, create or update "
        f"the staff superuser {ADMIN_USERNAME!r}, and train once if no model is active."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--skip-training", action="store_true", help="do not run the training pipeline"
        )

    def handle(self, *args, **opts) -> None:
        if Product.objects.exists():
            self.stdout.write("Catalogue present, not seeding.")
        else:
            self.stdout.write("Empty catalogue: seeding demo data.")
            # reset=True only clears strays (demo shoppers, old models) when no products exist.
            call_command("seed_demo", reset=True, stdout=self.stdout, verbosity=opts["verbosity"])
        self._ensure_admin()
        if opts["skip_training"]:
            self.stdout.write("Training skipped (--skip-training).")
        else:
            self._train_once()

    def _ensure_admin(self) -> None:
        """Create the staff superuser, or fix its flags/password; no write if already right."""
        User = get_user_model()
        user = User.objects.filter(username=ADMIN_USERNAME).first()
        if user is None:
            User.objects.create_superuser(ADMIN_USERNAME, ADMIN_EMAIL, ADMIN_PASSWORD)
            self.stdout.write(f"Created staff user {ADMIN_USERNAME!r}.")
            return
        changed = []
        if not (user.is_staff and user.is_superuser and user.is_active):
            user.is_staff = user.is_superuser = user.is_active = True
            changed += ["is_staff", "is_superuser", "is_active"]
        if not user.check_password(ADMIN_PASSWORD):
            user.set_password(ADMIN_PASSWORD)
            changed.append("password")
        if changed:
            user.save(update_fields=changed)
            self.stdout.write(f"Updated staff user {ADMIN_USERNAME!r}: {', '.join(changed)}.")
        else:
            self.stdout.write(f"Staff user {ADMIN_USERNAME!r} is up to date.")

    def _train_once(self) -> None:
        """Train and activate a first model unless one is active (pipeline is optional)."""
        if ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).exists():
            self.stdout.write("An active model exists, not training.")
            return
        try:
            pipeline = importlib.import_module("recommendations.pipeline")
        except ModuleNotFoundError as exc:
            if exc.name != "recommendations.pipeline":
                raise  # the pipeline exists but something it imports is missing
            pipeline = None
        run_pipeline = getattr(pipeline, "run_pipeline", None)
        if run_pipeline is None:
            self.stdout.write("pipeline not available, skipping training")
            return
        self.stdout.write("Training a first model (recommendations.pipeline.run_pipeline)...")
        # Precompute in this process when the pipeline offers it: the demo server starts
        # next and should show recommendations straight away.
        takes_sync = "sync" in inspect.signature(run_pipeline).parameters
        result = run_pipeline(sync=True) if takes_sync else run_pipeline()
        winner = getattr(result, "winner", None)
        summary = f"{winner.algorithm} #{winner.pk} is {winner.status}" if winner else "none active"
        self.stdout.write(f"Training finished: {summary}. {getattr(result, 'note', '')}".strip())
