"""Compare every recommender on the current event log: `manage.py evaluate_recommenders`.

Writes nothing to the registry.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from recommendations import registry
from recommendations.training import pipeline, summary
from recommendations.training.algorithms import ALGORITHMS
from recommendations.training.verbosity import command_logging


class Command(BaseCommand):
    help = (
        "Evaluate algorithms side by side, each with its default parameters, on a fresh "
        "split of the current event log (no registry writes). -v 2 adds training's log "
        "lines and TensorFlow's own logs, -v 3 their debug lines (metrics per algorithm)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--protocol",
            choices=pipeline.PROTOCOLS,
            default="leave-last-out",
            help="How the log is split (default leave-last-out, as the pipeline does).",
        )
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
            with command_logging(options["verbosity"]):
                data, results = pipeline.evaluate_all(algorithms, k=k, protocol=protocol)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        tested = next((int(r.metrics["users"]) for r in results if "users" in r.metrics), 0)
        split = {
            "protocol": protocol,
            "held_out": summary.PROTOCOL_SPLITS[protocol],
            "shoppers_tested": tested,
            "parameters": "defaults",
        }
        report = {
            "protocol": protocol,
            "k": k,
            "primary_metric": registry.primary_metric(k),
            "split": split,
            "differs_from_pipeline": differs_from_pipeline(protocol, k),
            "n_users": data.n_users,
            "n_items": data.n_items,
            "n_events": data.n_events,
            "algorithms": {
                r.name: {
                    "metrics": summary.rate_metrics(r.metrics),
                    "timings": r.timings,
                    "error": r.error,
                }
                for r in results
            },
        }
        if as_json:
            self.stdout.write(json.dumps(report, indent=2, sort_keys=True))
            return
        self._write_table(report, results)

    def _write_table(self, report: dict, results: list) -> None:
        split = report["split"]
        self.stdout.write(
            f"{split['protocol']}, k={report['k']}: {report['n_users']:,} shoppers, "
            f"{report['n_items']:,} products, {report['n_events']:,} events; "
            f"{split['held_out']}; {split['shoppers_tested']:,} shoppers tested"
        )
        self.stdout.write(report["differs_from_pipeline"])
        metrics = sorted({m for r in results for m in summary.rate_metrics(r.metrics)})
        self.stdout.write(f"{'algorithm':<14}" + "".join(f"{m:>14}" for m in metrics) + "  fit s")
        for r in results:
            if r.error:
                self.stdout.write(f"{r.name:<14}  failed: {r.error}")
                continue
            cells = "".join(f"{summary.metric_value(r.metrics.get(m)):>14}" for m in metrics)
            self.stdout.write(f"{r.name:<14}{cells}  {r.timings.get('fit', 0):.2f}")


def differs_from_pipeline(protocol: str, k: int) -> str:
    """Why these figures are not the ones train_recommender and the admin show."""
    reasons = [
        "every algorithm with its default parameters (the pipeline tunes each on its split)",
        "the log as it is now (a version was judged on the log at its training time)",
    ]
    if protocol != "leave-last-out":
        reasons.append(f"a {protocol} split (the pipeline holds out each shopper's last event)")
    if k != 10:
        reasons.append(f"k={k} (the pipeline's primary metric is at k=10 unless --k was given)")
    return (
        "Differs from the pipeline's figures (train_recommender, admin): "
        + "; ".join(reasons)
        + "."
    )
