"""One pipeline run at a time: a lock row in the database with an owner and an expiry.

Beat's nightly run, the admin's Retrain and ``train_recommender`` may all ask at once,
and a Redis broker may hand a long task to a second worker; only the holder of the
lock runs. The row's primary key makes taking it one atomic INSERT on every database.
The lock lasts RECS_STALE_AFTER_MINUTES, as long as fail_stale lets a run's versions
train: when its holder dies, the row expires together with the versions it left, and
failing those versions as stale releases it at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import RunLock

PIPELINE = "pipeline"


class AlreadyRunning(RuntimeError):
    """Another holder has the lock; ``lock`` says who and until when."""

    def __init__(self, lock: RunLock) -> None:
        self.lock = lock
        super().__init__(describe(lock))


def describe(lock: RunLock) -> str:
    """A sentence for the admin and the command."""
    ids = ", ".join(f"#{pk}" for pk in lock.versions) or "none yet"
    return (
        f"A pipeline run is already running (started {lock.acquired:%Y-%m-%d %H:%M} UTC by "
        f"{lock.owner}; versions {ids}); it is given up at {lock.expires:%H:%M} UTC if its "
        "worker died."
    )


def lock_ttl() -> timedelta:
    """How long a run may hold the lock: the stale cutoff of its versions."""
    return timedelta(minutes=settings.RECOMMENDATIONS["STALE_AFTER_MINUTES"])


def holder(name: str = PIPELINE) -> RunLock | None:
    """The unexpired lock, or None when a run may start."""
    return RunLock.objects.filter(name=name, expires__gt=timezone.now()).first()


def acquire(owner: str, name: str = PIPELINE, ttl: timedelta | None = None) -> RunLock:
    """Take the lock for ``owner`` (again, if it holds it already); AlreadyRunning if
    another unexpired holder has it. An expired row is replaced."""
    now = timezone.now()
    expires = now + (ttl or lock_ttl())
    with transaction.atomic():
        RunLock.objects.filter(name=name, expires__lte=now).delete()
        mine = RunLock.objects.filter(name=name, owner=owner)
        if mine.update(expires=expires):
            return RunLock.objects.get(name=name)
        try:
            with transaction.atomic():
                return RunLock.objects.create(name=name, owner=owner, acquired=now, expires=expires)
        except IntegrityError:
            pass
    current = RunLock.objects.filter(name=name).first()
    if current is None:  # released between the INSERT and this read: try once more
        return acquire(owner, name, ttl)
    raise AlreadyRunning(current)


def attach_versions(owner: str, version_ids: Iterable[int], name: str = PIPELINE) -> None:
    """Record the run's versions on its lock (finishing or failing them releases it)."""
    RunLock.objects.filter(name=name, owner=owner).update(versions=list(version_ids))


def release(owner: str, name: str = PIPELINE) -> bool:
    """Drop the lock if ``owner`` holds it; whether it did."""
    return RunLock.objects.filter(name=name, owner=owner).delete()[0] > 0


def release_for_version(version_id: int, name: str = PIPELINE) -> bool:
    """Drop the lock of the run that produced ``version_id`` (its end: activated or failed)."""
    lock = RunLock.objects.filter(name=name).first()
    if lock is None or int(version_id) not in lock.versions:
        return False
    return release(lock.owner, name)
