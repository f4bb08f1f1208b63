"""What training and evaluation commands print: one table per run and one last line
that says what the run did (read from its result, its versions' notes and metrics).

Used by ``train_recommender``, ``setup_demo`` and ``evaluate_recommenders``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import registry
from ..models import ModelVersion

if TYPE_CHECKING:
    from .pipeline import PipelineResult

Status = ModelVersion.Status
# Keys of a metrics dict that count shoppers rather than measure quality.
COUNT_KEYS = frozenset({"users", "tuning_trials"})
# What each protocol holds out (pipeline.make_split).
PROTOCOL_SPLITS = {
    "leave-last-out": (
        "each shopper's last interaction held out, shoppers with at least 3 distinct products"
    ),
    "time-cut": "the newest 20% of events held out, shoppers with a new product after the cut",
}


def metric_value(value: Any) -> str:
    """A metric (a rate) for display."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    return f"{value:.4f}"


def count_value(value: Any) -> str:
    """A count (shoppers, events) for display."""
    return "-" if value is None else f"{int(value):,}"


def rate_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """The quality metrics of a metrics dict, without its counts and nested records."""
    return {
        k: v
        for k, v in metrics.items()
        if k not in COUNT_KEYS and (v is None or isinstance(v, int | float))
    }


def summary_rows(result: PipelineResult) -> list[dict[str, Any]]:
    """One row per version of a run, for tables (command output, admin messages)."""
    rows = []
    for v in result.versions:
        v.refresh_from_db()
        rows.append(
            {
                "id": v.pk,
                "algorithm": v.algorithm,
                "status": v.status,
                result.primary_metric: v.metrics.get(result.primary_metric),
                "shoppers": v.metrics.get("users"),
                "protocol": v.metrics.get("protocol"),
                "fit_s": v.timings.get("fit"),
                "winner": bool(result.winner and v.pk == result.winner.pk),
            }
        )
    return rows


def run_table(result: PipelineResult) -> list[str]:
    """The run's versions as a table: status, primary metric, tuning seconds."""
    rows = summary_rows(result)
    metric = result.primary_metric
    lines = []
    judged = [r for r in rows if r["shoppers"] is not None]
    if judged:
        split = PROTOCOL_SPLITS.get(judged[0]["protocol"], judged[0]["protocol"])
        lines.append(
            f"{metric} of each tuned candidate on this run's split ({split}; "
            f"{count_value(judged[0]['shoppers'])} shoppers tested)"
        )
    lines.append(f"{'id':>5}  {'algorithm':<14} {'status':<13} {metric:>9}  {'fit s':>7}")
    for row in rows:
        fit = "-" if row["fit_s"] is None else f"{row['fit_s']:.2f}"
        mark = "  <- this run's best" if row["winner"] else ""
        lines.append(
            f"{row['id']:>5}  {row['algorithm']:<14} {row['status']:<13} "
            f"{metric_value(row[metric]):>9}  {fit:>7}{mark}"
        )
    return lines


@dataclass
class Outcome:
    """The last line of a run's summary and how it went: success, kept or failed."""

    text: str
    kind: str  # "promoted" | "kept" | "failed"


def _name(version: ModelVersion) -> str:
    return f"#{version.pk} ({version.algorithm})"


def _reason(note: str) -> str:
    """A run note without the fallback sentence the summary states itself."""
    from .pipeline import FALLBACK_NOTE

    return note.replace(FALLBACK_NOTE, "").strip().rstrip(".") or "no reason recorded"


def _versus(winner: ModelVersion, before: ModelVersion) -> dict | None:
    """The paired comparison of the winner with ``before`` on this run's split, if made."""
    vs = winner.metrics.get("vs_active")
    return vs if isinstance(vs, dict) and vs.get("active") == before.pk else None


def _difference(vs: dict, metric: str) -> str:
    return f"{vs['diff']:+.3f} {metric.upper()} [95% lower bound {vs['ci_low']:+.3f}]"


def _why_promoted(result: PipelineResult, winner: ModelVersion, before: ModelVersion) -> str:
    if result.note == "forced":
        return "forced (--force), not compared"
    if result.note.startswith("refresh of active"):
        return "the same configuration, refitted on fresher data"
    vs = _versus(winner, before)
    if vs is None:
        return _reason(result.note)  # judged on stored metrics: the note has the figures
    margin = "" if vs["ci_low"] > 0 else " (within noise, ahead by the promotion margin)"
    return _difference(vs, result.primary_metric) + margin


def _promoted(result: PipelineResult, winner: ModelVersion) -> Outcome:
    before = result.active_before
    pending = winner.status == Status.PRECOMPUTING
    if before is None:
        state = "is precomputing (active when its lists are complete)" if pending else "is active"
        return Outcome(f"{winner.algorithm} #{winner.pk} {state} (first version)", "promoted")
    text = f"promoted {_name(winner)} over {_name(before)}: {_why_promoted(result, winner, before)}"
    return Outcome(text + ("; active when its lists are complete" if pending else ""), "promoted")


def _last_note(version: ModelVersion) -> str:
    return (version.notes.strip().splitlines() or [""])[-1].rstrip(".")


def _not_promoted(result: PipelineResult, winner: ModelVersion | None) -> Outcome:
    serving = registry.active_version()
    kept = (
        f"kept {_name(serving)}"
        if serving
        else "no version is active (the shop shows popular products)"
    )
    if winner is None:  # ended before a winner was chosen
        return Outcome(f"{kept}: {_reason(result.note)}", "failed")
    if winner.status == Status.FAILED:  # refit or precompute
        return Outcome(f"{kept}: the winner {_name(winner)} failed: {_last_note(winner)}", "failed")
    before = result.active_before or serving
    vs = _versus(winner, before) if before else None
    if vs is not None:
        why = f"was not better with 95% confidence ({_difference(vs, result.primary_metric)})"
    else:
        why = _reason(result.note)  # stored metrics: "did not beat active #N ...: figures"
    return Outcome(f"{kept}: the winner {_name(winner)} {why}", "kept")


def outcome(result: PipelineResult) -> Outcome:
    """What the run did, in one line that agrees with the versions it left behind."""
    winner = result.winner
    if winner is not None:
        winner.refresh_from_db()
    if result.promoted and winner is not None:
        return _promoted(result, winner)
    return _not_promoted(result, winner)


def write_run_summary(result: PipelineResult, stdout, style) -> None:
    """Print the run's table and its outcome on a command's stdout."""
    for line in run_table(result):
        stdout.write(line)
    done = outcome(result)
    styles = {"promoted": style.SUCCESS, "kept": style.WARNING, "failed": style.ERROR}
    stdout.write(styles[done.kind](done.text))
