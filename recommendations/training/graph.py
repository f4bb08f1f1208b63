"""The training pipeline as a graph of Celery tasks, so N workers share one run.

::

    prepare ──> chord( candidate(name) for each candidate ) ──> finish ──> precompute chord
    extract,     tune + evaluate one algorithm on the split;      hybrid weights, choose,
    split once   save its fitted result to the store               promote?, refit, save

Every step is a plain function of a JSON ``spec`` (version ids, names, parameters,
options); tasks.py wraps them. What one step hands the next goes through the artifact
store, so the steps can run on different hosts: the dataset and split
(``<first id>/run-split.pkl``) and each candidate's tuning result with its fitted model
(``<id>/tuned.pkl``), which the hybrid's weight search scores again and the refit of the
winner reuses. They are deleted when the run ends. The steps themselves are
pipeline.py's (``_extract_and_split``, ``_record``, ``_choose``, ``_decide_promotion``,
``_refit_and_save``, ``_precompute``), so one worker, or ``run(sync=True)`` in one
process, computes what ``pipeline.run_pipeline`` computes; with ``tune=False`` (no
wall-clock budget) the results are identical.

The run holds the pipeline lock (registry.locks) from ``start`` until its last step:
finish when it stops before precompute, otherwise the precompute chord's callback.
Candidate tasks are idempotent (a redelivered one redoes its work or sees it done);
a failing one fails the run (``fail_run``) and releases the lock.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction

from .. import registry
from ..models import ModelVersion
from . import pipeline, tuning
from .algorithms.hybrid import Hybrid

log = logging.getLogger(__name__)
Status = ModelVersion.Status

TASKS = "recommendations.tasks"
SPLIT_FILE = "run-split.pkl"
TUNED_FILE = "tuned.pkl"
STAGE = "tune, train and evaluate"


def start(
    algorithms: list[str] | None = None,
    params: dict[str, dict] | None = None,
    k: int = 10,
    force: bool = False,
    *,
    sync: bool = False,
    protocol: str = "leave-last-out",
    tune: bool = True,
    margin: float | None = None,
    owner: str = "",
) -> pipeline.PipelineResult:
    """Take the lock, create the run's versions and run the graph: here (``sync``) or
    as Celery tasks (eagerly, in this process, when no broker is configured).

    registry.AlreadyRunning while another run holds the lock; ValueError for a request
    that cannot run. Without ``sync`` the result describes what is known on return.
    """
    params = params or {}
    names = pipeline._check_request(algorithms, params, protocol)
    owner = owner or f"run-{uuid.uuid4().hex[:12]}"
    registry.fail_stale()  # a dead run's versions; failing them releases its lock too
    registry.acquire(owner)
    try:
        with transaction.atomic():  # versions and the lock naming them appear together
            run = pipeline._create_versions(names, params, k, protocol)
            registry.attach_versions(owner, run.ids)
    except BaseException:
        registry.release(owner)
        raise
    spec = {
        "ids": run.ids,
        "names": names,
        "params": params,
        "k": k,
        "protocol": protocol,
        "search": tune,
        "force": force,
        "margin": margin,
        "owner": owner,
    }
    try:
        if sync:
            return run_here(spec)
        _send("pipeline_prepare", spec)  # eager (no broker): the whole graph runs here
    except Exception as exc:
        fail_run(spec, f"{type(exc).__name__}: {exc}")
        raise
    return summary(spec)


def run_here(spec: dict) -> pipeline.PipelineResult:
    """The whole graph in this process, one step after another."""
    run = _prepare(spec)
    if run is None:
        return summary(spec)
    for name in fanned_out(spec):
        tune_candidate(spec, name)
    return finish(spec, sync=True)


def _send(task: str, *args: Any) -> None:
    from celery import signature

    signature(f"{TASKS}.{task}", args=args, immutable=True).apply_async()


def _restore(spec: dict) -> pipeline._Run:
    """The run's state as pipeline.py's steps expect it, from the database."""
    by_pk = ModelVersion.objects.in_bulk(spec["ids"])
    versions = [by_pk[pk] for pk in spec["ids"]]
    result = pipeline.PipelineResult(
        versions=versions, primary_metric=registry.primary_metric(spec["k"])
    )
    return pipeline._Run(spec["names"], spec["params"], spec["protocol"], result)


def fanned_out(spec: dict) -> list[str]:
    """Candidates tuned by their own task: all but a hybrid whose weights are searched
    over the others (that search runs in ``finish``, after them)."""
    searched_hybrid = spec["search"] and "hybrid" not in spec["params"]
    return [n for n in spec["names"] if n != "hybrid" or not searched_hybrid]


# ---------------------------------------------------------------- steps


def prepare(spec: dict) -> bool:
    """Extract and split once, for every candidate task; False ends the run."""
    return _prepare(spec) is not None


def _prepare(spec: dict) -> pipeline._Run | None:
    run = _restore(spec)
    if not pipeline._extract_and_split(run) or not pipeline.skip_over_budget(run):
        _end(spec)
        return None
    registry.save_artifact(spec["ids"][0], SPLIT_FILE, (run.data, run.split, run.timings))
    registry.set_progress(run.ids, STAGE, 0, len(spec["names"]))
    return run


def prepare_and_fan_out(spec: dict) -> bool:
    """``prepare``, then a chord of one task per candidate into ``finish``."""
    if not prepare(spec):
        return False
    from celery import chord, signature

    header = [
        signature(f"{TASKS}.pipeline_candidate", args=(spec, name), immutable=True)
        for name in fanned_out(spec)
    ]
    body = signature(f"{TASKS}.pipeline_finish", args=(spec,), immutable=True)
    body = body.on_error(signature(f"{TASKS}.pipeline_fail", args=(spec,), immutable=True))
    chord(header)(body)
    return True


def _budget() -> dict[str, Any]:
    conf = settings.RECOMMENDATIONS
    return {
        "budget_factor": float(conf.get("TUNING_BUDGET_FACTOR", 1.0)),
        "min_budget": float(conf.get("TUNING_MIN_SECONDS", 10.0)),
    }


def _common() -> dict[str, Any]:
    return {"max_users": settings.RECOMMENDATIONS["EVAL_MAX_USERS"], "seed": 0}


def tune_candidate(spec: dict, name: str) -> None:
    """Tune and evaluate one candidate on the stored split, as tuning.tune_candidates
    does; store the result (with its fitted model) and record it on its version."""
    version = ModelVersion.objects.get(pk=spec["ids"][spec["names"].index(name)])
    if version.status != Status.TRAINING:  # done before (a redelivered task) or ended
        return
    _, split, shared = registry.load_artifact(spec["ids"][0], SPLIT_FILE)
    metric = registry.primary_metric(spec["k"])
    params = spec["params"]
    if name == "hybrid":  # fixed weights, or defaults with tune=False: no search
        kwargs = {"search": False, **_common()}
    else:
        kwargs = {"search": spec["search"] and name not in params, **_budget(), **_common()}
    tuned = tuning.tune(name, split, metric, params=params.get(name), **kwargs)
    registry.save_artifact(version.pk, TUNED_FILE, tuned)  # before the status: see above
    pipeline._record(version, tuned, shared, metric, spec["protocol"])
    done = ModelVersion.objects.filter(pk__in=spec["ids"]).exclude(status=Status.TRAINING)
    registry.set_progress(spec["ids"], STAGE, done.count(), len(spec["names"]), name)


def _load_tuned(spec: dict, version: ModelVersion) -> tuning.Tuned:
    """A candidate task's stored result; a failed one when its task never finished."""
    if version.status == Status.SKIPPED:  # over the budget: it had no task to run
        return pipeline.skipped(version.algorithm, version)
    try:
        return registry.load_artifact(version.pk, TUNED_FILE)
    except FileNotFoundError:
        tuned = tuning.Tuned(name=version.algorithm, params=version.parameters)
        tuned.error = "its tuning task did not finish"
        if version.status == Status.TRAINING:
            version.move_to(Status.FAILED, f"Failed: {tuned.error}.")
        return tuned


def _hybrid(spec: dict, run: pipeline._Run, by_name: dict[str, tuning.Tuned]) -> tuning.Tuned:
    """The hybrid's weight search over the tuned candidates (tuning.tune_candidates)."""
    split, metric = run.split, run.metric
    pool = [t for n, t in by_name.items() if n in tuning.COMPLEXITY and t.model is not None]
    if not pool:
        pool = [
            tuning.tune(n, split, metric, **_budget(), **_common())
            for n in Hybrid.defaults["components"]
        ]
    return tuning.tune_hybrid(pool, split, metric, **_common())


def finish(spec: dict, sync: bool = False) -> pipeline.PipelineResult:
    """Hybrid weights, then choose, decide, refit and precompute (pipeline.py's steps)."""
    run = _restore(spec)
    if any("Chosen:" in v.notes for v in run.versions):  # a redelivered finish
        return summary(spec)
    run.data, run.split, run.timings = registry.load_artifact(spec["ids"][0], SPLIT_FILE)
    versions = dict(zip(spec["names"], run.versions, strict=True))
    by_name = {n: _load_tuned(spec, versions[n]) for n in fanned_out(spec)}
    if "hybrid" in spec["names"] and versions["hybrid"].status == Status.SKIPPED:
        by_name["hybrid"] = pipeline.skipped("hybrid", versions["hybrid"])
    elif "hybrid" in spec["names"] and "hybrid" not in by_name:
        by_name["hybrid"] = _hybrid(spec, run, by_name)
        pipeline._record(versions["hybrid"], by_name["hybrid"], run.timings, run.metric,
                         run.protocol)  # fmt: skip
    run.tuned = [by_name[n] for n in spec["names"]]
    registry.set_progress(run.ids, STAGE, len(spec["names"]), len(spec["names"]))
    if not pipeline._evaluated(run):
        run.result.note = f"Every candidate failed. {pipeline.FALLBACK_NOTE}"
        _end(spec)
        return run.result
    pipeline._choose(run)
    if not pipeline._decide_promotion(run, spec["force"], spec["margin"]):
        _end(spec)
        return run.result
    if not pipeline._refit_and_save(run):
        _end(spec)
        return run.result
    _drop_intermediates(spec)
    run.data = run.split = None
    pipeline._precompute(run, sync)
    if run.result.winner.status != Status.PRECOMPUTING:
        registry.release(spec["owner"])  # otherwise the precompute chord's callback does
    return run.result


def fail_run(spec: dict, reason: str = "a pipeline task failed") -> None:
    """The graph's error callback: fail what is still training; release the lock."""
    for version in ModelVersion.objects.filter(pk__in=spec["ids"], status=Status.TRAINING):
        version.move_to(Status.FAILED, f"Failed: {reason}. {pipeline.FALLBACK_NOTE}")
    _end(spec)


def _drop_intermediates(spec: dict) -> None:
    """Delete what the steps handed each other through the store."""
    if spec["ids"]:
        registry.delete_artifact(spec["ids"][0], SPLIT_FILE)
    for pk in spec["ids"]:
        registry.delete_artifact(pk, TUNED_FILE)


def _end(spec: dict) -> None:
    """The run stops here: drop its intermediates and release the lock."""
    _drop_intermediates(spec)
    registry.release(spec["owner"])


def summary(spec: dict) -> pipeline.PipelineResult:
    """What the database says about the run now (its winner carries the "Chosen" note)."""
    run = _restore(spec)
    winner = next((v for v in run.versions if "Chosen:" in v.notes), None)
    run.result.winner = winner
    run.result.promoted = winner is not None and winner.status in (
        Status.ACTIVE,
        Status.PRECOMPUTING,
    )
    said = [v.notes.splitlines()[-1] for v in ([winner] if winner else run.versions) if v.notes]
    run.result.note = said[0] if said else ""  # the decision, or why the run stopped
    return run.result
