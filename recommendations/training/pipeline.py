"""Training pipeline: extract -> split -> fit and evaluate candidates -> promote -> precompute.

Plain functions (``tasks.py`` wraps them for Celery). Every candidate becomes a
ModelVersion row with its parameters, data window, metrics, timings and a note, so
the admin can see what was tried and why a version was or was not promoted.

Choices:
- Candidates are tuned and compared on one split of today's log (each shopper's last
  interaction held out; training/tuning.py): key parameters by a coordinate search in
  a budget proportional to the cost of the defaults, the hybrid's weights from its
  components' cached scores. The tuned parameters are stored on each version.
- The run's winner is the best candidate unless a simpler one is within noise of it
  (paired bootstrap over the same shoppers): then the simplest such one.
- The active version is compared on the same split and the same shoppers by
  refitting *its algorithm and parameters* on today's training part (or reusing a
  candidate with the same configuration): its stored artifact was trained on events
  that are now held out, which would flatter it. The winner replaces it only when
  the paired bootstrap says it is better with 95% (one-sided) confidence (or by at least
  RECOMMENDATIONS["PROMOTION_MARGIN"] when that is set); the decision, the
  difference and its interval go into the winner's notes and metrics ("vs_active").
  Stored metrics are the last resort.
- A winner with the same configuration as the active version is promoted as a
  refresh (same model, fresher data).
- The winner is refitted on the full log before serving: the held-out last
  events are the most telling ones for what a shopper wants next. After a
  leave-last-out split, TensorFlow models (alone or in the hybrid) keep the weights
  trained on the split and score the full histories instead of training again
  (``_refit``). Only the winner gets an artifact (losers can still be force-promoted:
  they are refitted from scratch).
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.db import transaction

from .. import registry
from ..models import ModelVersion
from . import budget, precompute, tuning
from .algorithms import ALGORITHMS, make_algorithm
from .algorithms.base import Recommender
from .algorithms.hybrid import Hybrid
from .dataset import Dataset
from .extract import load_dataset

if TYPE_CHECKING:
    from .evaluation import Split

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
    # The version that was active when the winner was judged (None: there was none, or
    # the run ended before the decision); summaries say what it became.
    active_before: ModelVersion | None = None


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


def _champion_scores(
    champion: ModelVersion, tuned: list[tuning.Tuned], split, metric: str, max_users
) -> tuple[np.ndarray | None, str]:
    """The active version's per-shopper metric on today's split (the shoppers the
    candidates were judged on), and how it was obtained; None if it cannot be refitted."""
    for t in tuned:
        same = (t.name, t.params) == (champion.algorithm, champion.parameters)
        if same and not t.error and t.per_user is not None:
            return t.per_user, "refitted on today's split"
    if champion.algorithm in ALGORITHMS:
        t = tuning.tune(
            champion.algorithm,
            split,
            metric,
            params=champion.parameters,
            search=False,
            max_users=max_users,
        )
        if not t.error and t.per_user is not None:
            return t.per_user, "refitted on today's split"
    return None, "stored metrics"


def _record(version: ModelVersion, t: tuning.Tuned, shared: dict, metric: str, protocol: str):
    """Store a tuned candidate on its version: parameters, metrics, timings, status."""
    version.parameters = t.params
    version.timings = {**shared, "fit": t.timings.get("tune", 0.0), **t.timings}
    version.metrics = {
        **{k: (float(v) if np.isfinite(v) else None) for k, v in t.metrics.items()},
        "protocol": protocol,
        "tuned": t.tuned,
        "tuning_trials": len(t.trials),
    }
    fields = ["parameters", "timings", "metrics"]
    if t.error or version.metrics.get(metric) is None:
        version.move_to(
            Status.FAILED, t.error or f"Evaluation reported no {metric}.", fields=fields
        )
        return
    if getattr(t.model, "scale_note", ""):  # what the model left out at this scale
        version.add_note(t.model.scale_note)
    if t.tuned:
        version.add_note(
            f"Tuned on this log's split: {len(t.trials)} configurations tried in "
            f"{t.timings.get('tune', 0.0):.1f} s; chosen parameters: {t.params or 'defaults'}."
        )
    version.move_to(Status.EVALUATED, fields=fields)


@dataclass
class _Run:
    """One run's state, handed from step to step."""

    names: list[str]
    params: dict[str, dict]
    protocol: str
    result: PipelineResult
    timings: dict[str, float] = field(default_factory=dict)  # shared by every candidate
    data: Dataset | None = None
    split: Split | None = None
    tuned: list[tuning.Tuned] = field(default_factory=list)
    chosen: tuning.Tuned | None = None
    fitted: Recommender | None = None  # the chosen model, for Recommender.refit

    @property
    def versions(self) -> list[ModelVersion]:
        return self.result.versions

    @property
    def ids(self) -> list[int]:
        return [v.pk for v in self.result.versions]

    @property
    def metric(self) -> str:
        return self.result.primary_metric


def run_pipeline(
    algorithms: list[str] | None = None,
    params: dict[str, dict] | None = None,
    k: int = 10,
    force: bool = False,
    sync: bool = False,
    protocol: str = "leave-last-out",
    tune: bool = True,
    margin: float | None = None,
    owner: str = "",
) -> PipelineResult:
    """Tune, evaluate, choose and (if better beyond noise, or ``force``) promote; never
    raises on data issues. registry.AlreadyRunning while another run holds the lock
    (``owner`` names this one: a redelivered task with the same id takes it again).

    Candidates without explicit ``params`` are tuned on the split (``tune=False``: their
    defaults). ``margin`` (default RECOMMENDATIONS["PROMOTION_MARGIN"], 0 = off) also
    promotes a challenger ahead of the active version by at least that much.

    ``sync`` precomputes in this process; otherwise a Celery chord does (eagerly
    when no broker is configured) and activation happens when it completes.

    Each step records what it did on the versions; one that returns False has said
    why (result.note, the versions' notes and status) and ends the run.
    """
    params = params or {}
    names = _check_request(algorithms, params, protocol)
    owner = owner or f"run-{uuid.uuid4().hex[:12]}"
    registry.fail_stale()  # a dead run's versions; failing them releases its lock too
    registry.acquire(owner)
    try:
        result = _run_steps(names, params, k, force, sync, protocol, tune, margin, owner)
    except BaseException:
        registry.release(owner)
        raise
    if result.winner is None or result.winner.status != Status.PRECOMPUTING:
        registry.release(owner)  # otherwise the precompute chord's last callback does
    return result


def _run_steps(
    names: list[str],
    params: dict[str, dict],
    k: int,
    force: bool,
    sync: bool,
    protocol: str,
    tune: bool,
    margin: float | None,
    owner: str,
) -> PipelineResult:
    """run_pipeline's steps, under its lock."""
    with transaction.atomic():  # versions and the lock naming them appear together
        run = _create_versions(names, params, k, protocol)
        registry.attach_versions(owner, run.ids)
    if not _extract_and_split(run) or not skip_over_budget(run):
        return run.result
    if not _tune_and_evaluate(run, search=tune):
        return run.result
    _choose(run)
    if not _decide_promotion(run, force, margin):
        return run.result
    if not _refit_and_save(run):
        return run.result
    _precompute(run, sync)
    return run.result


def _check_request(
    algorithms: list[str] | None, params: dict[str, dict], protocol: str
) -> list[str]:
    """The algorithms to train, or ValueError for a request that cannot run."""
    names = check_algorithms(algorithms)
    stray = set(params) - set(names)
    if stray:
        raise ValueError(f"parameters given for algorithms not trained: {sorted(stray)}")
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {', '.join(PROTOCOLS)}")
    return names


def _create_versions(names: list[str], params: dict[str, dict], k: int, protocol: str) -> _Run:
    """One version per candidate, in training, after failing those a dead run left."""
    metric = registry.primary_metric(k)
    registry.fail_stale()  # a run killed earlier must not leave versions in limbo
    versions = [
        ModelVersion.objects.create(
            algorithm=n, parameters=params.get(n, {}), status=Status.TRAINING
        )
        for n in names
    ]
    run = _Run(names, params, protocol, PipelineResult(versions=versions, primary_metric=metric))
    registry.set_progress(run.ids, "extract", 0, 1)
    return run


def _extract_and_split(run: _Run) -> bool:
    """Load the log, store its window on the versions and hold out the test part."""
    t0 = time.perf_counter()
    try:
        run.data = load_dataset()
    except Exception as exc:
        log.exception("extract failed")
        for v in run.versions:
            v.move_to(Status.FAILED, f"Extract failed: {exc!r}")
        run.result.note = f"Extract failed. {FALLBACK_NOTE}"
        return False
    t1 = time.perf_counter()
    run.timings = {"extract": round(t1 - t0, 3)}
    _update(run.versions, timings=dict(run.timings), **_window(run.data))
    reason = too_small(run.data)
    if reason:
        return _skip(run, reason)
    try:
        run.split = make_split(run.data, run.protocol)
    except ValueError as exc:  # e.g. nobody has enough distinct items to hold one out
        return _skip(run, f"No evaluation split ({run.protocol}): {exc}.")
    run.timings["split"] = round(time.perf_counter() - t1, 3)
    if not len(run.split.test_users):
        return _skip(run, f"No shopper has enough events to hold some out ({run.protocol}).")
    return True


def _skip(run: _Run, reason: str) -> bool:
    """Mark every version skipped for ``reason``; the run ends."""
    for v in run.versions:
        v.move_to(Status.SKIPPED, f"{reason} {FALLBACK_NOTE}")
    run.result.note = f"{reason} {FALLBACK_NOTE}"
    log.warning("pipeline skipped: %s", reason)
    return False


def skip_over_budget(run: _Run) -> bool:
    """Skip, with a note, each candidate whose estimated cost on this log (budget.py)
    breaks the per-candidate budget; False when none is left to train."""
    size, limit = budget.LogSize.of(run.data), budget.budget_seconds()
    eval_users = settings.RECOMMENDATIONS["EVAL_MAX_USERS"]
    for version, name in zip(run.versions, run.names, strict=True):
        est = budget.estimate(name, run.params.get(name), size, eval_users)
        log.info("candidate %s: estimated %.1f s (%s)", name, est.seconds, est.why)
        note = budget.over_budget(est, limit)
        if note:
            log.warning("candidate %s: %s", name, note)
            version.move_to(Status.SKIPPED, note)
    if any(v.status == Status.TRAINING for v in run.versions):
        return True
    run.result.note = f"Every candidate is over the budget of {limit:,.0f} s. {FALLBACK_NOTE}"
    return False


def skipped(name: str, version: ModelVersion) -> tuning.Tuned:
    """A stand-in result for a candidate that did not train (its version says why)."""
    return tuning.Tuned(name=name, params=version.parameters, error=version.status)


def _tune_and_evaluate(run: _Run, search: bool) -> bool:
    """Tune and score every candidate on the split; False when every one failed."""
    conf = settings.RECOMMENDATIONS
    total = len(run.names)
    registry.set_progress(run.ids, "tune, train and evaluate", 0, total)
    training = [n for v, n in zip(run.versions, run.names, strict=True) if _training(v)]
    by_name = tuning.tune_candidates(
        training,
        run.split,
        run.metric,
        params=run.params,
        search=search,
        budget_factor=float(conf.get("TUNING_BUDGET_FACTOR", 1.0)),
        min_budget=float(conf.get("TUNING_MIN_SECONDS", 10.0)),
        max_users=conf["EVAL_MAX_USERS"],
    )
    for version, name in zip(run.versions, run.names, strict=True):
        if name in by_name:
            _record(version, by_name[name], run.timings, run.metric, run.protocol)
        else:
            by_name[name] = skipped(name, version)
    run.tuned = [by_name[n] for n in run.names]
    registry.set_progress(run.ids, "tune, train and evaluate", total, total)
    if not _evaluated(run):
        run.result.note = f"Every candidate failed. {FALLBACK_NOTE}"
        return False
    return True


def _training(version: ModelVersion) -> bool:
    return version.status == Status.TRAINING


def _evaluated(run: _Run) -> list[tuple[ModelVersion, tuning.Tuned]]:
    """The candidates that were evaluated, with their versions."""
    pairs = zip(run.versions, run.tuned, strict=True)
    return [(v, t) for v, t in pairs if v.status == Status.EVALUATED]


def _choose(run: _Run) -> None:
    """Pick the winner: the best unless a simpler candidate is within noise of it
    (paired bootstrap); note on the others why they lost."""
    ok = _evaluated(run)
    run.chosen, notes = tuning.choose([t for _, t in ok], run.metric)
    run.fitted = run.chosen.model  # kept for the refit on the full log (Recommender.refit)
    for t in run.tuned:
        t.model = None  # free memory
    run.result.winner = next(v for v, t in ok if t is run.chosen)
    for v, t in ok:
        if t is not run.chosen:
            v.add_note(f"Not chosen: {notes.get(t.name, '')}.")
            v.save(update_fields=["notes"])
    # Saved with the promotion decision, which follows it in the notes.
    run.result.winner.add_note(f"Chosen: {notes.get(run.chosen.name, '')}.")


def _decide_promotion(run: _Run, force: bool, margin: float | None) -> bool:
    """Whether the winner replaces the active version; the reason goes into its notes."""
    margin = float(
        settings.RECOMMENDATIONS.get("PROMOTION_MARGIN", 0.0) if margin is None else margin
    )
    winner, champion = run.result.winner, registry.active_version()
    run.result.active_before = champion
    promote, why = True, "no version was active"
    if force:
        why = "forced"
    elif champion is not None and _same_config(winner, champion):
        why = f"refresh of active #{champion.pk} ({champion.algorithm}) on fresher data"
    elif champion is not None:
        promote, why = _against_champion(run, champion, margin)
    winner.add_note(f"{'Promoted' if promote else 'Not promoted'}: {why}.")
    winner.save(update_fields=["notes"])
    run.result.note = why
    return promote


def _same_config(version: ModelVersion, other: ModelVersion) -> bool:
    return (version.algorithm, version.parameters) == (other.algorithm, other.parameters)


def _against_champion(run: _Run, champion: ModelVersion, margin: float) -> tuple[bool, str]:
    """Compare the winner with the active version shopper by shopper on today's split
    (stored metrics when it cannot be refitted): promote or not, and why."""
    max_users = settings.RECOMMENDATIONS["EVAL_MAX_USERS"]
    scores, how = _champion_scores(champion, run.tuned, run.split, run.metric, max_users)
    if scores is None or len(scores) != len(run.chosen.per_user):
        return _against_stored(run.chosen.metrics[run.metric], champion, run.metric, margin)
    judging = tuning.judging_mask(run.tuned, run.chosen)
    mine = run.chosen.per_user if judging is None else run.chosen.per_user[judging]
    scores = scores if judging is None else scores[judging]
    decision = tuning.promotion_decision(mine, scores, run.metric, margin)
    winner = run.result.winner
    winner.metrics = {
        **winner.metrics,
        "vs_active": {
            "active": champion.pk,
            "diff": round(decision.diff, 6),
            "ci_low": round(decision.low, 6),
            "ci_high": round(decision.high, 6),
            "shoppers": decision.n,
            "promoted": decision.promote,
        },
    }
    winner.save(update_fields=["metrics"])
    verb = "replaces" if decision.promote else "does not replace"
    why = f"{verb} active #{champion.pk} ({champion.algorithm}, {how}): {decision.note}"
    return decision.promote, why


def _against_stored(
    mine: float, champion: ModelVersion, metric: str, margin: float
) -> tuple[bool, str]:
    """Compare with the active version's stored figure, with no noise test."""
    stored = champion.metrics.get(metric)
    value = float(stored) if stored is not None else None
    if value is not None and mine <= value + margin:
        return False, (
            f"did not beat active #{champion.pk} ({champion.algorithm}): {metric} "
            f"{mine:.4f} <= {value:.4f} + margin {margin:.4f} (stored metrics)"
        )
    shown = "n/a" if value is None else f"{value:.4f}"
    return True, (
        f"beat active #{champion.pk} ({champion.algorithm}): {metric} "
        f"{mine:.4f} > {shown} (stored metrics; no per-shopper comparison)"
    )


def _refit_and_save(run: _Run) -> bool:
    """Refit the winner on the full log and save its artifact; on failure it is failed."""
    winner = run.result.winner
    registry.set_progress(run.ids, "refit winner", 0, 1, winner.algorithm)
    t2 = time.perf_counter()
    try:
        # Weights are reused only when the split held out at most one event per shopper;
        # a time cut holds out the newest fifth of the log, which a refit must learn.
        fitted = run.fitted if run.protocol == "leave-last-out" else None
        run.fitted = None
        model, reused = _refit(winner, fitted, run.data)
        del fitted
        t3 = time.perf_counter()
        path = registry.save_artifact(winner.pk, registry.MODEL_FILE, model)
    except Exception as exc:
        log.exception("refit of the winner failed")
        precompute.fail_version(winner.pk, f"Refit on the full log failed: {exc!r}")
        run.result.note = f"Refit failed. {FALLBACK_NOTE}"
        return False
    del model
    winner.artifact_path = path
    winner.timings = {
        **winner.timings,
        "refit": round(t3 - t2, 3),
        "save": round(time.perf_counter() - t3, 3),
    }
    if reused:
        winner.add_note(
            f"Refitted on the full log; {', '.join(reused)} kept the weights trained on the "
            "split (not retrained) and score every shopper's full history."
        )
    winner.save(update_fields=["artifact_path", "timings", "notes"])
    return True


def _precompute(run: _Run, sync: bool) -> None:
    """Precompute the winner's lists (activation follows when they are complete)."""
    final = precompute.start_precompute(run.result.winner.pk, sync=sync)
    run.result.winner = final
    run.result.promoted = final.status in (Status.ACTIVE, Status.PRECOMPUTING)
    if final.status == Status.FAILED:
        run.result.note = f"{run.result.note}; precompute failed. {FALLBACK_NOTE}"


def _refit(
    winner: ModelVersion, fitted: Recommender | None, data: Dataset
) -> tuple[Recommender, list[str]]:
    """The winner for serving, fitted on the full log, and the components that reused
    their trained weights instead (see ``Recommender.refit``); ``fitted`` None: all
    from scratch.

    The TensorFlow models keep the weights trained on the split and score full
    histories: retraining them would cost as much as their training again (minutes at
    1M events) for the held-out last event per shopper. Everything else refits.
    """
    if fitted is None:
        return make_algorithm(winner.algorithm, **winner.parameters).fit(data), []
    model = fitted.refit(data)
    if isinstance(model, Hybrid):
        return model, model.reused_components()
    return model, [winner.algorithm] if fitted.refit_reuses_weights else []


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
    path = registry.save_artifact(version.pk, registry.MODEL_FILE, model)
    for name, value in _window(data).items():
        setattr(version, name, value)
    version.artifact_path = path
    version.timings = {
        **version.timings,
        "extract": round(t1 - t0, 3),
        "refit": round(t2 - t1, 3),
        "save": round(time.perf_counter() - t2, 3),
    }
    version.save()
    return version
