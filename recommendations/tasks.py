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
    """Train, evaluate, promote and fan out precompute; returns the run's summary.

    Runs only while holding the pipeline lock (owner: this task's id); another run
    holding it makes this one return at once with ``already_running``.
    """
    from . import registry
    from .training import pipeline

    owner = f"task:{self.request.id}" if self.request.id else ""
    try:
        result = pipeline.run_pipeline(
            algorithms=algorithms, params=params, k=k, force=force, owner=owner
        )
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
