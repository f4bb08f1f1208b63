"""Model registry, the bottom of the stack: artifacts, the active version, promote, cleanup,
and A/B tests (which version serves which shopper; start, stop, promote the challenger).

Serving reads only the *active* version's rows (and, during an A/B test, the challenger's
for its share of shoppers), so swapping versions is one small transaction (old active ->
retired, new -> active) and nothing half-written is visible.
Imports only models: promotion that refits or precomputes lives in training.promotion.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import ABTest, ModelVersion, RelatedProducts, UserRecommendations

log = logging.getLogger(__name__)
# One line per stage boundary of a run, with stage/done/total/detail as extra fields
# (commands show them as a progress bar: config.progress.StageHandler).
progress_log = logging.getLogger("recommendations.progress")
Status = ModelVersion.Status
TestStatus = ABTest.Status
LIVE = (TestStatus.STARTING, TestStatus.RUNNING)

# Loaded artifacts per process: path -> (mtime_ns, object). Precompute chunks of one
# version run many times in the same worker; reading a large pickle once is enough.
_ARTIFACT_CACHE: dict[str, tuple[int, Any]] = {}
_ARTIFACT_CACHE_SIZE = 4


def version_dir(version_id: int) -> Path:
    """MODEL_DIR/<version id>/ (created on save)."""
    return Path(settings.MODEL_DIR) / str(version_id)


def model_path(version_id: int) -> Path:
    """Where a version's fitted model is pickled."""
    return version_dir(version_id) / "model.pkl"


def save_artifact(version_id: int, name: str, obj: Any) -> Path:
    """Pickle ``obj`` as MODEL_DIR/<version id>/<name>, atomically (write then rename)."""
    path = version_dir(version_id) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return path


def load_artifact(path: Path) -> Any:
    """Unpickle ``path``, reusing this process's copy while the file is unchanged."""
    path = Path(path)
    mtime = path.stat().st_mtime_ns
    hit = _ARTIFACT_CACHE.get(str(path))
    if hit is not None and hit[0] == mtime:
        return hit[1]
    with open(path, "rb") as fh:
        obj = pickle.load(fh)
    while len(_ARTIFACT_CACHE) >= _ARTIFACT_CACHE_SIZE:
        _ARTIFACT_CACHE.pop(next(iter(_ARTIFACT_CACHE)))
    _ARTIFACT_CACHE[str(path)] = (mtime, obj)
    return obj


def has_artifact(version: ModelVersion) -> bool:
    """Whether the version's model file exists."""
    return bool(version.artifact_path) and Path(version.artifact_path).is_file()


def has_rows(version: ModelVersion) -> bool:
    """Whether precomputed lists of the version exist."""
    return (
        UserRecommendations.objects.filter(version=version).exists()
        or RelatedProducts.objects.filter(version=version).exists()
    )


def delete_rows(version_id: int) -> None:
    """Delete every precomputed list of a version (one DELETE per table)."""
    UserRecommendations.objects.filter(version_id=version_id).delete()
    RelatedProducts.objects.filter(version_id=version_id).delete()


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
    shutil.rmtree(version_dir(version.pk), ignore_errors=True)
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


# ---------------------------------------------------------------- A/B tests


def live_test() -> ABTest | None:
    """The A/B test starting or running, if any (there is one at a time)."""
    return ABTest.objects.filter(status__in=LIVE).select_related("challenger", "control").first()


def running_test() -> ABTest | None:
    """The A/B test whose challenger serves its share of shoppers now, if any."""
    return (
        ABTest.objects.filter(status=TestStatus.RUNNING, challenger__status=Status.CHALLENGER)
        .select_related("challenger")
        .first()
    )


def in_challenger_arm(
    test_id: int, share: float, user_id: int | None, anonymous_id: str = ""
) -> bool:
    """Whether a shopper is in test ``test_id``'s challenger share: the same on every call.

    SHA-256 of the test id and the shopper key ("u:<user id>" or "a:<anonymous id>") read
    as a fraction of 2**64, below ``share``. A guest who signs in is hashed anew as the
    user; a shopper with no identity is always in the control arm.
    """
    if user_id is not None:
        key = f"u:{user_id}"
    elif anonymous_id:
        key = f"a:{anonymous_id}"
    else:
        return False
    digest = hashlib.sha256(f"{test_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def serving_version_for(user_id: int | None = None, anonymous_id: str = "") -> ModelVersion | None:
    """The version that serves this shopper now: a running test's challenger, else the active.

    Uncached (admin, reports, tests); serving.cache keeps a short per-process copy.
    """
    test = running_test()
    if test is not None and in_challenger_arm(test.pk, test.share, user_id, anonymous_id):
        return test.challenger
    return active_version()


def start_ab_test(version_id: int, share: float) -> ABTest:
    """Record a starting test of ``version_id`` against the active version.

    Nobody is served from it until its lists are precomputed beside the active ones
    (training.promotion.start_challenger, then ``challenger_ready``). ValueError when
    there is no active version, the version cannot be a challenger, or a test is live.
    """
    if not 0.0 < share <= 1.0:
        raise ValueError(f"the challenger's share must be above 0 and at most 1, not {share}")
    with transaction.atomic():  # the active row is the lock: one start at a time
        control = ModelVersion.objects.select_for_update().filter(status=Status.ACTIVE).first()
        if control is None:
            raise ValueError("there is no active version to test a challenger against")
        version = ModelVersion.objects.select_for_update().get(pk=version_id)
        if version.pk == control.pk:
            raise ValueError(f"#{version.pk} is the active version; choose another challenger")
        if version.status not in (Status.EVALUATED, Status.RETIRED):
            raise ValueError(
                f"#{version.pk} is {version.status}; only an evaluated or retired version "
                "can be a challenger"
            )
        live = live_test()
        if live is not None:
            raise ValueError(f"A/B test #{live.pk} is {live.status}; stop it first")
        test = ABTest.objects.create(challenger=version, control=control, share=share)
    log.info("A/B test #%s started: #%s vs #%s", test.pk, version.pk, control.pk)
    return test


def challenger_ready(version: ModelVersion) -> ModelVersion:
    """The challenger's lists are complete: its test runs from now on.

    If its test was stopped meanwhile, the lists are deleted and the version goes back
    to evaluated (precompute.finalize_version calls this instead of activating).
    """
    with transaction.atomic():
        test = (
            ABTest.objects.select_for_update()
            .filter(challenger_id=version.pk, status=TestStatus.STARTING)
            .first()
        )
        if test is None:
            delete_rows(version.pk)
            version.move_to(
                Status.EVALUATED,
                "Precomputed as an A/B challenger after its test ended; its lists were deleted.",
            )
            return version
        version.refreshed = None  # the refresh watermark restarts with these lists
        version.move_to(
            Status.CHALLENGER,
            f"A/B challenger of test #{test.pk}: serves {test.share:.0%} of shoppers.",
            fields=["refreshed"],
        )
        test.status = TestStatus.RUNNING
        test.running_since = timezone.now()
        test.save(update_fields=["status", "running_since"])
    log.info("A/B test #%s running", test.pk)
    return version


def stop_ab_test(test_id: int, note: str = "Stopped from the admin.") -> ABTest:
    """End a live test: the challenger's lists are deleted, the version stays (evaluated).

    A challenger still precomputing is cleaned up when its precompute finishes
    (``challenger_ready``) or fails.
    """
    with transaction.atomic():
        test = ABTest.objects.select_for_update().get(pk=test_id)
        if not test.live:
            raise ValueError(f"A/B test #{test.pk} is {test.status}; there is nothing to stop")
        challenger = ModelVersion.objects.select_for_update().get(pk=test.challenger_id)
        if challenger.status == Status.CHALLENGER:
            delete_rows(challenger.pk)
            challenger.move_to(
                Status.EVALUATED, f"A/B test #{test.pk} stopped; its lists were deleted."
            )
        _end_tests(challenger.pk, TestStatus.STOPPED, note)
        test.refresh_from_db()
    log.info("A/B test #%s stopped", test.pk)
    return test


def promote_challenger(test_id: int, note: str = "") -> ModelVersion:
    """Make a running test's challenger the active version (``promote`` ends the test)."""
    test = ABTest.objects.select_related("challenger").get(pk=test_id)
    if test.status != TestStatus.RUNNING:
        raise ValueError(
            f"A/B test #{test.pk} is {test.status}; only a running test's "
            "challenger can be promoted"
        )
    version = promote(test.challenger, note or f"Promoted from A/B test #{test.pk}.")
    cleanup_retired()
    return version


def end_tests_of(version_id: int, note: str) -> int:
    """Stop the live tests of a challenger that failed; returns how many."""
    with transaction.atomic():
        return _end_tests(version_id, TestStatus.STOPPED, note)


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
