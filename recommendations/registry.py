"""Model registry: where artifacts live, which version serves, and how that changes.

Serving reads only the *active* version's rows, so swapping versions is one small
transaction (old active -> retired, new -> active) and nothing half-written is visible.
"""

from __future__ import annotations

import logging
import pickle
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import ModelVersion, RelatedProducts, UserRecommendations

log = logging.getLogger(__name__)
Status = ModelVersion.Status

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


def active_version() -> ModelVersion | None:
    """The version whose lists are served, or None (serving falls back to popularity)."""
    return ModelVersion.objects.filter(status=Status.ACTIVE).first()


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
        locked.status = Status.ACTIVE
        locked.activated = timezone.now()
        locked.refreshed = None
        if note:
            locked.notes = f"{locked.notes}\n{note}".strip()
        locked.save(update_fields=["status", "activated", "refreshed", "notes"])
    log.info("activated %s", locked)
    return locked


def force_promote(version_id: int, *, sync: bool = False) -> ModelVersion:
    """Activate a version whatever its metrics: reuse its lists or precompute them.

    A version without an artifact (a candidate that lost) is first refitted on the
    current event log. Activation happens when its lists are complete.
    """
    from . import pipeline, precompute

    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is None:
        raise ValueError(f"no model version #{version_id}")
    if version.status == Status.ACTIVE:
        return version
    if version.status in (Status.TRAINING, Status.SKIPPED, Status.PRECOMPUTING):
        raise ValueError(f"version #{version_id} is {version.status}; it cannot be promoted")
    if version.status == Status.RETIRED and has_rows(version):
        return promote(version, note="Force-promoted (re-activated its lists).")
    if not has_artifact(version):
        pipeline.refit_for_serving(version)
    return precompute.start_precompute(version.pk, sync=sync, note="Force-promoted.")


def rollback(*, sync: bool = False) -> ModelVersion:
    """Re-activate the most recently retired version (precomputing it again if needed)."""
    from . import precompute

    retired = ModelVersion.objects.filter(status=Status.RETIRED).order_by("-activated", "-pk")
    for version in retired:
        if has_rows(version):
            return promote(version, note="Rolled back to this version.")
    for version in retired:
        if has_artifact(version):
            return precompute.start_precompute(version.pk, sync=sync, note="Rolled back.")
    raise ValueError("there is no retired version to roll back to")


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
        delete_rows(version.pk)
        shutil.rmtree(version_dir(version.pk), ignore_errors=True)
        if version.artifact_path:
            version.artifact_path = ""
            version.save(update_fields=["artifact_path"])
        cleaned.append(version.pk)
    return cleaned
