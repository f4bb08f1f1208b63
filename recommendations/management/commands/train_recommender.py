"""Train, evaluate and (if better) promote recommenders: `manage.py train_recommender`."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.progress import StageHandler
from recommendations import registry, tasks
from recommendations.training import pipeline
from recommendations.training.algorithms import ALGORITHMS


class Command(BaseCommand):
    help = (
        "Run the recommendation pipeline: extract events, train candidates, evaluate, "
        "promote the best if it beats the active version, precompute lists."
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
        if not sync and not settings.CELERY_TASK_ALWAYS_EAGER:
            result = tasks.run_pipeline.delay(algorithms=names, k=k, force=force)
            self.stdout.write(f"Enqueued recommendations.tasks.run_pipeline: task id {result.id}")
            return
        self.stdout.write(f"Training {', '.join(names)} ...")
        handler = StageHandler(self.stderr)  # a bar per stage, off stdout's summary
        registry.progress_log.addHandler(handler)
        level = registry.progress_log.level
        registry.progress_log.setLevel(logging.INFO)  # shown even when LOG_LEVEL is higher
        try:
            result = pipeline.run_pipeline(algorithms=names, k=k, force=force, sync=True)
        finally:
            registry.progress_log.removeHandler(handler)
            registry.progress_log.setLevel(level)
            handler.finish()
        rows = pipeline.summary_rows(result)
        metric = result.primary_metric
        self.stdout.write(f"{'id':>5}  {'algorithm':<14} {'status':<13} {metric:>9}  {'fit s':>7}")
        for row in rows:
            fit = "-" if row["fit_s"] is None else f"{row['fit_s']:.2f}"
            mark = "  <- winner" if row["winner"] else ""
            self.stdout.write(
                f"{row['id']:>5}  {row['algorithm']:<14} {row['status']:<13} "
                f"{pipeline.metric_value(row[metric]):>9}  {fit:>7}{mark}"
            )
        if result.promoted and result.winner:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Promoted #{result.winner.pk} ({result.winner.algorithm}): {result.note}"
                )
            )
        else:
            self.stdout.write(self.style.WARNING(f"Nothing promoted: {result.note}"))
