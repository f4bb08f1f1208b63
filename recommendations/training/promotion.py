"""Promotion that needs training: force-promote and rollback refit or precompute as needed.

The registry below only swaps versions whose lists exist; these functions first make
those lists (refit on the current log, precompute) when a version has none.
"""

from __future__ import annotations

from .. import registry
from ..models import ModelVersion
from . import pipeline, precompute

Status = ModelVersion.Status


def force_promote(version_id: int, *, sync: bool = False) -> ModelVersion:
    """Activate a version whatever its metrics: reuse its lists or precompute them.

    A version without an artifact (a candidate that lost) is first refitted on the
    current event log. Activation happens when its lists are complete.
    """
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is None:
        raise ValueError(f"no model version #{version_id}")
    if version.status == Status.ACTIVE:
        return version
    if version.status in (Status.TRAINING, Status.SKIPPED, Status.PRECOMPUTING):
        raise ValueError(f"version #{version_id} is {version.status}; it cannot be promoted")
    if version.status == Status.RETIRED and registry.has_rows(version):
        return registry.promote(version, note="Force-promoted (re-activated its lists).")
    if not registry.has_artifact(version):
        pipeline.refit_for_serving(version)
    return precompute.start_precompute(version.pk, sync=sync, note="Force-promoted.")


def rollback(*, sync: bool = False) -> ModelVersion:
    """Re-activate the most recently retired version (precomputing it again if needed)."""
    retired = ModelVersion.objects.filter(status=Status.RETIRED).order_by("-activated", "-pk")
    for version in retired:
        if registry.has_rows(version):
            return registry.promote(version, note="Rolled back to this version.")
    for version in retired:
        if registry.has_artifact(version):
            return precompute.start_precompute(version.pk, sync=sync, note="Rolled back.")
    raise ValueError("there is no retired version to roll back to")
