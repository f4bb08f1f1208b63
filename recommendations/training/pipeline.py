"""Training pipeline: extract -> split -> fit and evaluate candidates -> promote -> precompute.

Plain functions (``tasks.py`` wraps them for Celery). Every candidate becomes a
ModelVersion row with its parameters, data window, metrics, timings and a note, so
the admin can see what was tried and why a version was or was not promoted.

Choices:
- Candidates are compared on one split of today's log. The active version is
  compared on the same split by refitting *its algorithm and parameters* on today's
  training part (or reusing a candidate with the same configuration): its stored
  artifact was trained on events that are now in the test part, which would
  flatter it. Stored metrics are the last resort.
- A winner with the same configuration as the active version is promoted as a
  refresh (same model, fresher data).
- The winner is refitted on the full log before serving: the held-out last
  events are the most telling ones for what a shopper wants next. Only the
  winner gets an artifact (losers can still be force-promoted: they are refitted).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from django.conf import settings

from .. import registry
from ..models import ModelVersion
from . import precompute
from .algorithms import ALGORITHMS, make_algorithm
from .algorithms.base import Recommender
from .dataset import Dataset
from .extract import load_dataset

log = logging.getLogger(__name__)
Status = ModelVersion.Status

PROTOCOLS = ("leave-last-out", "time-cut")
TIME_CUT_FRACTION = 0.8  # share of events (by time) trained on in the time-cut protocol
MIN_USERS = 2
MIN_ITEMS = 2
FALLBACK_NOTE = "The shop keeps serving the active version, or popularity if there is none."


@dataclass
class CandidateResult:
    """Outcome of fitting and evaluating one algorithm on the split."""

    name: str
    params: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    error: str = ""
    model: Recommender | None = None


@dataclass
class PipelineResult:
    """What one run did: the versions it recorded and which one (if any) it promoted."""

    versions: list[ModelVersion]
    primary_metric: str
    winner: ModelVersion | None = None
    promoted: bool = False
    note: str = ""


def default_algorithms() -> list[str]:
    """Algorithms a run trains when none are named (settings RECOMMENDATIONS["ALGORITHMS"])."""
    return list(settings.RECOMMENDATIONS.get("ALGORITHMS") or ALGORITHMS)


def check_algorithms(names: list[str] | None) -> list[str]:
    """The names, de-duplicated, or ValueError listing the valid choices."""
    names = list(dict.fromkeys(names or default_algorithms()))
    unknown = [n for n in names if n not in ALGORITHMS]
    if unknown:
        choices = ", ".join(sorted(ALGORITHMS))
        raise ValueError(f"unknown algorithm(s) {', '.join(unknown)}; choose from {choices}")
    return names


def too_small(data: Dataset) -> str:
    """Why ``data`` cannot train a model, or "" if it can."""
    items_with_events = int((data.matrix.getnnz(axis=0) > 0).sum())
    if data.n_users < MIN_USERS or items_with_events < MIN_ITEMS:
        return (
            f"Not enough events: {data.n_users} shopper(s) and {items_with_events} product(s) "
            f"with views, carts or purchases (need {MIN_USERS} and {MIN_ITEMS})."
        )
    return ""


def make_split(data: Dataset, protocol: str = "leave-last-out"):
    """Hold-out split of ``data`` by the named protocol (see evaluation.py)."""
    from . import evaluation

    if protocol == "leave-last-out":
        return evaluation.split_leave_last_out(data, n=1, min_items=3)
    if protocol == "time-cut":
        return evaluation.split_time_cut(data, fraction=TIME_CUT_FRACTION)
    raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")


def fit_and_evaluate(name: str, params: dict, split, k: int = 10) -> CandidateResult:
    """Fit one algorithm on the split's training part and score it on its test part."""
    from .evaluation import evaluate

    result = CandidateResult(name=name, params=params)
    try:
        model = make_algorithm(name, **params)
        metrics = evaluate(model, split, k=k, max_users=settings.RECOMMENDATIONS["EVAL_MAX_USERS"])
    except Exception as exc:  # one broken candidate must not stop the others
        log.exception("candidate %s failed", name)
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    result.model = model
    fit_s, score_s = metrics.pop("fit_seconds", 0.0), metrics.pop("score_seconds", 0.0)
    # JSON (and PostgreSQL jsonb) has no NaN/inf: store those as null.
    result.metrics = {
        key: float(value) if np.isfinite(value) else None for key, value in metrics.items()
    }
    result.timings = {"fit": round(fit_s, 3), "evaluate": round(score_s, 3)}
    return result


def evaluate_all(
    algorithms: list[str] | None = None,
    params: dict[str, dict] | None = None,
    k: int = 10,
    protocol: str = "leave-last-out",
) -> tuple[Dataset, list[CandidateResult]]:
    """Compare algorithms on the current log, writing nothing (evaluate_recommenders)."""
    names = check_algorithms(algorithms)
    data = load_dataset()
    reason = too_small(data)
    if reason:
        raise ValueError(reason)
    split = make_split(data, protocol)  # ValueError when nobody can be tested
    return data, [fit_and_evaluate(n, (params or {}).get(n, {}), split, k) for n in names]


def _window(data: Dataset) -> dict[str, Any]:
    """Data window and counts of a dataset, as ModelVersion fields."""
    times = data.seq_times
    return {
        "data_start": datetime.fromtimestamp(float(times.min()), tz=UTC) if len(times) else None,
        "data_end": datetime.fromtimestamp(float(times.max()), tz=UTC) if len(times) else None,
        "n_events": data.n_events,
        "n_users": data.n_users,
        "n_items": data.n_items,
    }


def _update(versions: list[ModelVersion], **fields: Any) -> None:
    for version in versions:
        for name, value in fields.items():
            setattr(version, name, value)
        version.save(update_fields=list(fields))


def _champion_metric(
    champion: ModelVersion, results: list[CandidateResult], split, k: int, metric: str
) -> tuple[float | None, str]:
    """The active version's metric on today's split, and how it was obtained."""
    for r in results:
        if r.name == champion.algorithm and r.params == champion.parameters and not r.error:
            return r.metrics.get(metric), "refitted on today's split"
    if champion.algorithm in ALGORITHMS:
        r = fit_and_evaluate(champion.algorithm, champion.parameters, split, k)
        if not r.error and metric in r.metrics:
            return r.metrics[metric], "refitted on today's split"
    stored = champion.metrics.get(metric)
    return (float(stored) if stored is not None else None), "stored metrics"


def run_pipeline(
    algorithms: list[str] | None = None,
    params: dict[str, dict] | None = None,
    k: int = 10,
    force: bool = False,
    sync: bool = False,
    protocol: str = "leave-last-out",
) -> PipelineResult:
    """Train, evaluate and (if better, or ``force``) promote; never raises on data issues.

    ``sync`` precomputes in this process; otherwise a Celery chord does (eagerly
    when no broker is configured) and activation happens when it completes.
    """
    names = check_algorithms(algorithms)
    params = params or {}
    stray = set(params) - set(names)
    if stray:
        raise ValueError(f"parameters given for algorithms not trained: {sorted(stray)}")
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
    metric = registry.primary_metric(k)
    registry.fail_stale()  # a run killed earlier must not leave versions in limbo
    versions = [
        ModelVersion.objects.create(
            algorithm=n, parameters=params.get(n, {}), status=Status.TRAINING
        )
        for n in names
    ]
    result = PipelineResult(versions=versions, primary_metric=metric)
    ids = [v.pk for v in versions]
    registry.set_progress(ids, "extract", 0, 1)

    def skip(reason: str) -> PipelineResult:
        for v in versions:
            v.move_to(Status.SKIPPED, f"{reason} {FALLBACK_NOTE}")
        result.note = f"{reason} {FALLBACK_NOTE}"
        log.warning("pipeline skipped: %s", reason)
        return result

    t0 = time.perf_counter()
    try:
        data = load_dataset()
    except Exception as exc:
        log.exception("extract failed")
        for v in versions:
            v.move_to(Status.FAILED, f"Extract failed: {exc!r}")
        result.note = f"Extract failed. {FALLBACK_NOTE}"
        return result
    t1 = time.perf_counter()
    shared = {"extract": round(t1 - t0, 3)}
    _update(versions, timings=dict(shared), **_window(data))
    reason = too_small(data)
    if reason:
        return skip(reason)
    try:
        split = make_split(data, protocol)
    except ValueError as exc:  # e.g. nobody has enough distinct items to hold one out
        return skip(f"No evaluation split ({protocol}): {exc}.")
    shared["split"] = round(time.perf_counter() - t1, 3)
    if not len(split.test_users):
        return skip(f"No shopper has enough events to hold some out ({protocol}).")

    results = []
    for i, (version, name) in enumerate(zip(versions, names, strict=True)):
        registry.set_progress(ids, "train and evaluate", i, len(names), name)
        r = fit_and_evaluate(name, params.get(name, {}), split, k)
        results.append(r)
        version.timings = {**shared, **r.timings}
        version.metrics = {**r.metrics, "protocol": protocol}
        if r.error or r.metrics.get(metric) is None:
            note = r.error or f"Evaluation reported no {metric}."
            version.move_to(Status.FAILED, note, fields=["timings", "metrics"])
        else:
            version.move_to(Status.EVALUATED, fields=["timings", "metrics"])
        r.model = None  # free memory; the winner is refitted on the full log
    registry.set_progress(ids, "train and evaluate", len(names), len(names))

    ok = [(v, r) for v, r in zip(versions, results, strict=True) if v.status == Status.EVALUATED]
    if not ok:
        result.note = f"Every candidate failed. {FALLBACK_NOTE}"
        return result
    champion = registry.active_version()

    def same_config(v: ModelVersion) -> bool:
        return bool(
            champion and (v.algorithm, v.parameters) == (champion.algorithm, champion.parameters)
        )

    # Best first; on a tie prefer the active configuration, then the order given.
    ok.sort(key=lambda vr: (-vr[1].metrics[metric], not same_config(vr[0])))
    winner, best = ok[0]
    result.winner = winner
    for v, r in ok[1:]:
        v.add_note(
            f"Not the best candidate: {metric} {r.metrics[metric]:.4f} < "
            f"{best.metrics[metric]:.4f} ({winner.algorithm} #{winner.pk}).",
        )
        v.save(update_fields=["notes"])

    promote, why = True, "no version was active"
    if force:
        why = "forced"
    elif champion is not None and same_config(winner):
        why = f"refresh of active #{champion.pk} ({champion.algorithm}) on fresher data"
    elif champion is not None:
        value, how = _champion_metric(champion, results, split, k, metric)
        if value is not None and best.metrics[metric] <= value:
            promote = False
            why = (
                f"did not beat active #{champion.pk} ({champion.algorithm}): {metric} "
                f"{best.metrics[metric]:.4f} <= {value:.4f} ({how})"
            )
        else:
            shown = "n/a" if value is None else f"{value:.4f}"
            why = (
                f"beat active #{champion.pk} ({champion.algorithm}): {metric} "
                f"{best.metrics[metric]:.4f} > {shown} ({how})"
            )
    winner.add_note(f"Best candidate; {'promoted' if promote else 'not promoted'}: {why}.")
    winner.save(update_fields=["notes"])
    result.note = why
    if not promote:
        return result

    registry.set_progress(ids, "refit winner", 0, 1, winner.algorithm)
    t2 = time.perf_counter()
    try:
        model = make_algorithm(winner.algorithm, **winner.parameters).fit(data)
        t3 = time.perf_counter()
        path = registry.save_artifact(winner.pk, "model.pkl", model)
    except Exception as exc:
        log.exception("refit of the winner failed")
        precompute.fail_version(winner.pk, f"Refit on the full log failed: {exc!r}")
        result.note = f"Refit failed. {FALLBACK_NOTE}"
        return result
    del model
    winner.artifact_path = str(path)
    winner.timings = {
        **winner.timings,
        "refit": round(t3 - t2, 3),
        "save": round(time.perf_counter() - t3, 3),
    }
    winner.save(update_fields=["artifact_path", "timings"])
    final = precompute.start_precompute(winner.pk, sync=sync)
    result.winner = final
    result.promoted = final.status in (Status.ACTIVE, Status.PRECOMPUTING)
    if final.status == Status.FAILED:
        result.note = f"{why}; precompute failed. {FALLBACK_NOTE}"
    return result


def refit_for_serving(version: ModelVersion) -> ModelVersion:
    """Fit a version's algorithm on the full current log and save its artifact."""
    t0 = time.perf_counter()
    data = load_dataset()
    reason = too_small(data)
    if reason:
        raise ValueError(reason)
    t1 = time.perf_counter()
    model = make_algorithm(version.algorithm, **version.parameters).fit(data)
    t2 = time.perf_counter()
    path = registry.save_artifact(version.pk, "model.pkl", model)
    for name, value in _window(data).items():
        setattr(version, name, value)
    version.artifact_path = str(path)
    version.timings = {
        **version.timings,
        "extract": round(t1 - t0, 3),
        "refit": round(t2 - t1, 3),
        "save": round(time.perf_counter() - t2, 3),
    }
    version.save()
    return version


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
                "fit_s": v.timings.get("fit"),
                "winner": bool(result.winner and v.pk == result.winner.pk),
            }
        )
    return rows


def metric_value(value: Any) -> str:
    """A metric for display."""
    return (
        "-" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.4f}"
    )
