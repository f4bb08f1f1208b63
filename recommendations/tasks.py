"""Celery tasks: thin wrappers taking ids and plain values.

Each body imports training code when it runs, so loading this module (the web
process does, through the admin's actions) loads only Celery. Names are referenced
by CELERY_BEAT_SCHEDULE and by the precompute chord (training.precompute.TASKS).
"""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, name="recommendations.tasks.run_pipeline")
def run_pipeline(
    self,
    algorithms: list[str] | None = None,
    params: dict | None = None,
    k: int = 10,
    force: bool = False,
) -> dict:
    """Start the pipeline's task graph (training.graph); returns what is known when the
    graph is dispatched (everything, when tasks run eagerly).

    Runs only while holding the pipeline lock (owner: this task's id); another run
    holding it makes this one return at once with ``already_running``.
    """
    from . import registry
    from .training import graph

    owner = f"task:{self.request.id}" if self.request.id else ""
    try:
        result = graph.start(algorithms=algorithms, params=params, k=k, force=force, owner=owner)
    except registry.AlreadyRunning as exc:
        return {
            "versions": [],
            "winner": None,
            "promoted": False,
            "note": str(exc),
            "already_running": True,
        }
    return {
        "versions": [v.pk for v in result.versions],
        "winner": result.winner.pk if result.winner else None,
        "promoted": result.promoted,
        "note": result.note,
    }


# The pipeline's graph (training/graph.py). Each step is safe to run twice, so a step
# whose worker died is handed to another worker (acks_late + reject_on_worker_lost).
GRAPH_STEP = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(name="recommendations.tasks.pipeline_prepare", **GRAPH_STEP)
def pipeline_prepare(spec: dict) -> bool:
    """Extract and split once, then fan the candidates out as a chord."""
    from .training import graph

    return graph.prepare_and_fan_out(spec)


@shared_task(name="recommendations.tasks.pipeline_candidate", **GRAPH_STEP)
def pipeline_candidate(spec: dict, name: str) -> str:
    """Tune and evaluate one candidate on the stored split."""
    from .training import graph

    graph.tune_candidate(spec, name)
    return name


@shared_task(name="recommendations.tasks.pipeline_finish", **GRAPH_STEP)
def pipeline_finish(spec: dict) -> int | None:
    """Hybrid weights, choose, promote or not, refit, then the precompute chord."""
    from .training import graph

    winner = graph.finish(spec).winner
    return winner.pk if winner is not None else None


@shared_task(name="recommendations.tasks.pipeline_fail")
def pipeline_fail(spec: dict) -> None:
    """The graph's error callback: fail the run's unfinished versions, release the lock."""
    from .training import graph

    graph.fail_run(spec)


@shared_task(
    name="recommendations.tasks.precompute_chunk",
    # Idempotent: a chunk whose worker died mid-way is handed to another worker.
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    max_retries=2,
    default_retry_delay=2,
    retry_backoff=False,
)
def precompute_chunk(version_id: int, part: str, start: int, stop: int) -> int:
    """Write one chunk of a version's lists (idempotent); retried twice on failure."""
    from .training import precompute

    return precompute.precompute_chunk(version_id, part, start, stop)


@shared_task(name="recommendations.tasks.finalize_version")
def finalize_version(version_id: int, activate: bool = True) -> int:
    """Chord callback: activate the version (or start its A/B test) once every chunk succeeded."""
    from .training import precompute

    return precompute.finalize_version(version_id, activate=activate).pk


@shared_task(name="recommendations.tasks.fail_version")
def fail_version(version_id: int, reason: str = "a precompute chunk failed") -> int:
    """Chord error callback: mark the version failed and delete its rows."""
    from .training import precompute

    return precompute.fail_version(version_id, reason).pk


@shared_task(name="recommendations.tasks.refresh_recent_users")
def refresh_recent_users() -> int:
    """Fold shoppers' events since the last refresh into the active lists."""
    from .training import precompute

    return precompute.refresh_recent_users()


@shared_task(name="recommendations.tasks.fail_stale_versions")
def fail_stale_versions() -> list[int]:
    """Fail versions abandoned by a killed process; remove their rows and artifacts."""
    from . import registry

    return registry.fail_stale()


@shared_task(name="recommendations.tasks.force_promote")
def force_promote(version_id: int) -> int:
    """Activate a version regardless of its metrics (admin action)."""
    from .training import promotion

    return promotion.force_promote(version_id).pk


@shared_task(name="recommendations.tasks.rollback")
def rollback() -> int:
    """Re-activate the previous version (admin action)."""
    from .training import promotion

    return promotion.rollback().pk


@shared_task(name="recommendations.tasks.start_ab_test")
def start_ab_test(test_id: int) -> int:
    """Precompute an A/B test's challenger beside the active version (admin action)."""
    from .training import promotion

    return promotion.start_challenger(test_id).pk
