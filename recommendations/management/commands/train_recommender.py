"""Train, evaluate and (if better) promote recommenders: `manage.py train_recommender`."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from recommendations import registry, tasks
from recommendations.training import pipeline, summary
from recommendations.training.algorithms import ALGORITHMS
from recommendations.training.verbosity import run_pipeline_for_command


class Command(BaseCommand):
    help = (
        "Run the recommendation pipeline: extract events, train candidates, evaluate, "
        "promote the best if it beats the active version, precompute lists. -v 2 adds "
        "training's log lines and TensorFlow's own logs, -v 3 their debug lines."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--algorithm",
            action="append",
            dest="algorithms",
            metavar="NAME",
            help=f"Candidate to train (repeatable; default all): {', '.join(sorted(ALGORITHMS))}",
        )
        parser.add_argument("--sync", action="store_true", help="Run here instead of enqueuing.")
        parser.add_argument("--force", action="store_true", help="Promote the best regardless.")
        parser.add_argument("--k", type=int, default=10, help="Cut-off for metrics (default 10).")

    def handle(self, *args, algorithms=None, sync=False, force=False, k=10, **options) -> None:
        try:
            names = pipeline.check_algorithms(algorithms)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if k < 1:
            raise CommandError("--k must be at least 1")
        running = registry.holder()
        if running is not None:
            raise CommandError(registry.locks.describe(running))
        if not sync and not settings.CELERY_TASK_ALWAYS_EAGER:
            result = tasks.run_pipeline.delay(algorithms=names, k=k, force=force)
            self.stdout.write(f"Enqueued recommendations.tasks.run_pipeline: task id {result.id}")
            return
        self.stdout.write(f"Training {', '.join(names)} ...")
        try:
            result = run_pipeline_for_command(
                self.stderr, options["verbosity"], algorithms=names, k=k, force=force
            )
        except registry.AlreadyRunning as exc:  # another run started meanwhile
            raise CommandError(str(exc)) from None
        summary.write_run_summary(result, self.stdout, self.style)
