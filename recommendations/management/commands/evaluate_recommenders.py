"""Compare every recommender on the current event log: `manage.py evaluate_recommenders`.

Writes nothing to the registry.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from recommendations import registry
from recommendations.training import pipeline
from recommendations.training.algorithms import ALGORITHMS


class Command(BaseCommand):
    help = "Evaluate algorithms side by side on the current event log (no registry writes)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--protocol", choices=pipeline.PROTOCOLS, default="leave-last-out")
        parser.add_argument("--k", type=int, default=10, help="Cut-off (default 10).")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print JSON instead of a table."
        )
        parser.add_argument(
            "--algorithm",
            action="append",
            dest="algorithms",
            metavar="NAME",
            help=f"Algorithm to include (repeatable; default all): {', '.join(sorted(ALGORITHMS))}",
        )

    def handle(self, *args, protocol, k, as_json=False, algorithms=None, **options) -> None:
        if k < 1:
            raise CommandError("--k must be at least 1")
        try:
            data, results = pipeline.evaluate_all(algorithms, k=k, protocol=protocol)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        report = {
            "protocol": protocol,
            "k": k,
            "primary_metric": registry.primary_metric(k),
            "n_users": data.n_users,
            "n_items": data.n_items,
            "n_events": data.n_events,
            "algorithms": {
                r.name: {"metrics": r.metrics, "timings": r.timings, "error": r.error}
                for r in results
            },
        }
        if as_json:
            self.stdout.write(json.dumps(report, indent=2, sort_keys=True))
            return
        metrics = sorted({m for r in results for m in r.metrics})
        self.stdout.write(
            f"{protocol}, k={k}: {data.n_users} shoppers, {data.n_items} products, "
            f"{data.n_events} events"
        )
        self.stdout.write(f"{'algorithm':<14}" + "".join(f"{m:>14}" for m in metrics) + "  fit s")
        for r in results:
            if r.error:
                self.stdout.write(f"{r.name:<14}  failed: {r.error}")
                continue
            cells = "".join(f"{pipeline.metric_value(r.metrics.get(m)):>14}" for m in metrics)
            self.stdout.write(f"{r.name:<14}{cells}  {r.timings.get('fit', 0):.2f}")
