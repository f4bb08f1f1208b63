"""Promotion that needs training: force-promote, rollback and an A/B test's challenger
refit or precompute as needed.

The registry below only swaps versions whose lists exist; these functions first make
those lists (refit on the current log, precompute) when a version has none.
"""

from __future__ import annotations

from .. import registry
from ..models import ABTest, ModelVersion
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
    if version.status in (Status.RETIRED, Status.CHALLENGER) and registry.has_rows(version):
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


def start_challenger(test_id: int, *, sync: bool = False) -> ModelVersion:
    """Precompute an A/B test's challenger beside the active version (never replacing it).

    A challenger without an artifact is first refitted on the current log. Its test
    runs once every list is written (registry.challenger_ready); if it cannot be
    prepared, the test is stopped. A test no longer starting is left alone.
    """
    test = ABTest.objects.select_related("challenger").filter(pk=test_id).first()
    if test is None:
        raise ValueError(f"no A/B test #{test_id}")
    version = test.challenger
    if test.status != ABTest.Status.STARTING:
        return version
    try:
        if version.status not in (Status.EVALUATED, Status.RETIRED):
            raise ValueError(
                f"version #{version.pk} is {version.status}; it cannot be a challenger"
            )
        if not registry.has_artifact(version):
            pipeline.refit_for_serving(version)
    except Exception as exc:
        registry.end_tests_of(version.pk, f"The challenger could not be prepared: {exc}")
        raise
    return precompute.start_precompute(
        version.pk,
        sync=sync,
        activate=False,
        note=f"A/B challenger of test #{test.pk}: precomputed beside the active version.",
    )
