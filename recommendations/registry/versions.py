"""Versions: the active one, a run's progress, promote, stale and retired cleanup.

``_end_tests`` lives here, not in abtests.py: promoting or abandoning a challenger
closes its tests in the same transaction, and abtests.py builds on this module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import ABTest, ModelVersion, RelatedProducts, UserRecommendations
from .artifacts import delete_artifacts
from .locks import release_for_version

log = logging.getLogger(__name__)
# One line per stage boundary of a run, with stage/done/total/detail as extra fields
# (commands show them as a progress bar: config.progress.StageHandler).
progress_log = logging.getLogger("recommendations.progress")
Status = ModelVersion.Status
TestStatus = ABTest.Status
LIVE = (TestStatus.STARTING, TestStatus.RUNNING)


def has_rows(version: ModelVersion) -> bool:
    """Whether precomputed lists of the version exist."""
    return (
        UserRecommendations.objects.filter(version=version).exists()
        or RelatedProducts.objects.filter(version=version).exists()
    )


# Rows per DELETE when a version's lists go: millions in one statement would hold
# locks and bloat the write-ahead log for minutes while the shop is serving.
DELETE_BATCH = 10_000


def delete_rows(version_id: int, batch: int | None = None) -> int:
    """Delete every precomputed list of a version, in statements over id ranges of at
    most ``batch`` (DELETE_BATCH) ids each; returns the rows deleted."""
    batch = batch or DELETE_BATCH
    return sum(
        _delete_in_ranges(model.objects.filter(version_id=version_id), batch)
        for model in (UserRecommendations, RelatedProducts)
    )


def _delete_in_ranges(rows, batch: int) -> int:
    """Delete ``rows`` range by range of primary keys, skipping gaps between ranges."""
    deleted = 0
    start = rows.order_by("pk").values_list("pk", flat=True).first()
    while start is not None:
        deleted += rows.filter(pk__gte=start, pk__lt=start + batch).delete()[0]
        start = rows.filter(pk__gte=start + batch).order_by("pk").values_list("pk", flat=True)
        start = start.first()
    return deleted


def primary_metric(k: int | None = None) -> str:
    """The metric that decides promotion (RECS_PRIMARY_METRIC), optionally at cut-off ``k``."""
    name = settings.RECOMMENDATIONS["PRIMARY_METRIC"]
    if k is None or "@" not in name:
        return name
    return f"{name.split('@')[0]}@{k}"


def active_version() -> ModelVersion | None:
    """The version whose lists are served, or None (serving falls back to popularity)."""
    return ModelVersion.objects.filter(status=Status.ACTIVE).first()


def set_progress(
    version_ids: Iterable[int], stage: str, done: int = 0, total: int = 0, detail: str = ""
) -> None:
    """Record where a run is on its versions (one UPDATE) and log it as a progress line."""
    ids = list(version_ids)
    value = {
        "stage": stage,
        "done": done,
        "total": total,
        "detail": detail,
        "at": timezone.now().isoformat(timespec="seconds"),
    }
    ModelVersion.objects.filter(pk__in=ids).update(progress=value)
    progress_log.info(
        "versions %s: %s %s/%s %s",
        ids,
        stage,
        done,
        total,
        detail,
        extra={"versions": ids, "stage": stage, "done": done, "total": total, "detail": detail},
    )


def promote(version: ModelVersion, note: str = "") -> ModelVersion:
    """Make ``version`` active in one transaction; the previous active one is retired.

    The caller makes sure the version's lists are written (finalize, rollback).
    """
    unusable = (Status.TRAINING, Status.SKIPPED, Status.FAILED)
    with transaction.atomic():
        locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if locked.status in unusable:  # re-read under the lock: a chunk may have failed it
            raise ValueError(f"version #{locked.pk} is {locked.status}; it cannot be activated")
        if locked.status == Status.ACTIVE:
            return locked
        # Retire first: the one-active constraint is checked per statement.
        ModelVersion.objects.filter(status=Status.ACTIVE).update(status=Status.RETIRED)
        locked.activated = timezone.now()
        locked.refreshed = None
        locked.move_to(Status.ACTIVE, note, fields=["activated", "refreshed"])
        _end_tests(locked.pk, TestStatus.PROMOTED, "The challenger became the active version.")
    log.info("activated %s", locked)
    return locked


def _discard(version: ModelVersion) -> None:
    """Delete a version's lists and artifact folder (the row stays, for the record)."""
    delete_rows(version.pk)
    delete_artifacts(version.pk)
    if version.artifact_path:
        version.artifact_path = ""
        version.save(update_fields=["artifact_path"])


def fail_stale(older_than: timedelta | None = None) -> list[int]:
    """Fail versions left in training or precomputing by a process that died.

    A killed worker cannot update its version, so one that has been training (since
    it was created) or precomputing (since precompute started) for longer than any
    real run takes is abandoned: it is marked failed and its rows and artifacts are
    removed. Returns the ids failed.
    """
    if older_than is None:
        older_than = timedelta(minutes=settings.RECOMMENDATIONS["STALE_AFTER_MINUTES"])
    cutoff = timezone.now() - older_than
    failed = []
    for version in ModelVersion.objects.filter(status__in=(Status.TRAINING, Status.PRECOMPUTING)):
        started = version.timings.get("precompute_started_at")
        if version.status == Status.PRECOMPUTING and started is not None:
            since = datetime.fromtimestamp(float(started), tz=UTC)
        else:
            since = version.created
        if since >= cutoff:
            continue
        with transaction.atomic():
            locked = ModelVersion.objects.select_for_update().get(pk=version.pk)
            if locked.status != version.status:  # it moved on meanwhile: alive after all
                continue
            locked.timings.pop("precompute_started_at", None)
            locked.move_to(
                Status.FAILED,
                f"Abandoned: still {version.status} after {older_than} (the process running "
                "it stopped); its lists and artifacts were removed.",
                fields=["timings"],
            )
            # In the same transaction: the test rows are locked too (autocommit would refuse).
            _end_tests(locked.pk, TestStatus.STOPPED, "The challenger's precompute was abandoned.")
        _discard(locked)
        release_for_version(locked.pk)  # the lock expires with the run it belonged to
        failed.append(locked.pk)
        log.warning("version #%s was stale and is now failed", locked.pk)
    return failed


def cleanup_retired(keep: int = 2) -> list[int]:
    """Delete lists and artifacts of old versions; keep the last ``keep`` retired ones.

    Also drops artifacts of failed versions and of unpromoted winners beyond the
    newest ``keep``. Returns the ids whose data was deleted.
    """
    cleaned: list[int] = []
    retired = ModelVersion.objects.filter(status=Status.RETIRED).order_by("-activated", "-pk")
    evaluated = ModelVersion.objects.filter(status=Status.EVALUATED).exclude(artifact_path="")
    old = (
        list(retired[keep:])
        + list(evaluated.order_by("-created", "-pk")[keep:])
        + list(ModelVersion.objects.filter(status=Status.FAILED).exclude(artifact_path=""))
    )
    for version in old:
        if not version.artifact_path:  # cleaned before (lists and artifact go together)
            continue
        _discard(version)
        cleaned.append(version.pk)
    return cleaned


def _end_tests(version_id: int, status: str, note: str) -> int:
    """Close the live tests of challenger ``version_id`` with ``status`` and ``note``.

    Locks the test rows: call it inside ``transaction.atomic``.
    """
    ended = 0
    now = timezone.now()
    for test in ABTest.objects.select_for_update().filter(
        challenger_id=version_id, status__in=LIVE
    ):
        test.status = status
        test.stopped = now
        test.notes = f"{test.notes}\n{note}".strip()
        test.save(update_fields=["status", "stopped", "notes"])
        ended += 1
    return ended
