"""Admin actions on model versions: promote, force-promote, roll back, retrain, A/B test,
and Django's bulk delete minus the versions in service.

Listed in ModelVersionAdmin.actions (versions.py). Long work goes through Celery tasks
(in-process when no broker is configured).
Each action changes which model serves shoppers, so each needs the change permission on
model versions (``permissions=["change"]``: Django offers and runs it only then);
deleting needs the delete permission, as in Django.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from kombu.exceptions import OperationalError

from .. import registry, tasks
from ..models import ModelVersion

Status = ModelVersion.Status


def in_service_ids() -> set[int]:
    """Versions shoppers are served from: the active one and a live A/B test's two arms."""
    ids = set(ModelVersion.objects.filter(status=Status.ACTIVE).values_list("pk", flat=True))
    test = registry.live_test()
    if test is not None:
        ids |= {pk for pk in (test.challenger_id, test.control_id) if pk is not None}
    return ids


def _one(modeladmin, request: HttpRequest, queryset: QuerySet) -> ModelVersion | None:
    if queryset.count() != 1:
        modeladmin.message_user(request, "Select exactly one version.", messages.ERROR)
        return None
    return queryset.get()


def _queued(result) -> str:
    return "done" if result.ready() else f"queued as task {result.id}"


def _send(modeladmin, request: HttpRequest, what: str, task, *args, **kwargs):
    """Send a task; on failure say so as a message (never a 500) and return None.

    In-process (no broker) the task's own ValueError arrives here; with a broker
    that is down, sending fails and nothing was queued. The caller reports success.
    """
    try:
        return task.delay(*args, **kwargs)
    except ValueError as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
    except OperationalError:
        modeladmin.message_user(
            request,
            f"{what}: broker unavailable, nothing was queued. Try again once the "
            "task queue is reachable.",
            messages.ERROR,
        )
    return None


def _enqueue(modeladmin, request: HttpRequest, what: str, task, *args, **kwargs) -> None:
    """Send a task and report the outcome as one message."""
    result = _send(modeladmin, request, what, task, *args, **kwargs)
    if result is not None:
        modeladmin.message_user(request, f"{what}: {_queued(result)}.")


@admin.action(description="Promote (a retired version with lists)", permissions=["change"])
def promote(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Swap in a version that still has its precomputed lists."""
    version = _one(modeladmin, request, queryset)
    if version is None:
        return
    if version.status != Status.RETIRED or not registry.has_rows(version):
        modeladmin.message_user(
            request,
            f"#{version.pk} has no complete lists to activate; use force-promote.",
            messages.ERROR,
        )
        return
    registry.promote(version, note="Promoted from the admin.")
    modeladmin.message_user(request, f"#{version.pk} is now active.", messages.SUCCESS)


@admin.action(description="Force-promote (precompute; ignore metrics)", permissions=["change"])
def force_promote(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Activate a version whatever its metrics (refit and precompute as needed)."""
    version = _one(modeladmin, request, queryset)
    if version is None:
        return
    if version.status in (Status.TRAINING, Status.SKIPPED, Status.PRECOMPUTING):
        modeladmin.message_user(
            request, f"#{version.pk} is {version.status}; it cannot be promoted.", messages.ERROR
        )
        return
    _enqueue(
        modeladmin, request, f"Force-promote of #{version.pk}", tasks.force_promote, version.pk
    )


@admin.action(description="Roll back to the previous version", permissions=["change"])
def rollback(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Re-activate the most recently retired version (selection is ignored)."""
    was = registry.active_version()
    result = _send(modeladmin, request, "Rollback", tasks.rollback)
    if result is not None:
        modeladmin.message_user(request, _rolled_back(result, was), messages.SUCCESS)


def _name(version: ModelVersion) -> str:
    return f"#{version.pk} {version.algorithm}"


def _rolled_back(result, was: ModelVersion | None) -> str:
    """Which version serves now and which served before, as the one message of a rollback."""
    before = _name(was) if was else "no version"
    if not result.ready():
        return f"Rollback queued as task {result.id}; {before} serves until it runs."
    back = ModelVersion.objects.filter(pk=result.result).first()
    if back is None:  # deleted since: the task's pk names nothing
        return f"Rollback done; version #{result.result} is gone (was {before})."
    if back.status == Status.ACTIVE:
        return f"Rolled back: {_name(back)} is active again (was {before})."
    return (
        f"Rolling back to {_name(back)}: its lists are being precomputed; "
        f"{before} serves until they are written."
    )


@admin.action(description="Retrain these algorithms now", permissions=["change"])
def retrain(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Run the pipeline for the selected versions' algorithms (all if none)."""
    names = sorted(set(queryset.values_list("algorithm", flat=True)))
    running = registry.holder()
    if running is not None:
        modeladmin.message_user(request, registry.locks.describe(running), messages.WARNING)
        return
    _enqueue(
        modeladmin,
        request,
        f"Retrain of {', '.join(names)}",
        tasks.run_pipeline,
        algorithms=names or None,
    )


# Short labels keep the action menu narrow; RECS_AB_SHARE sets the challenger's share.
@admin.action(description="Start an A/B test (as challenger)", permissions=["change"])
def start_ab_test(modeladmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Precompute the version beside the active one; its share is served from it once ready."""
    version = _one(modeladmin, request, queryset)
    if version is None:
        return
    share = float(settings.RECOMMENDATIONS.get("AB_SHARE", 0.5))
    try:
        test = registry.start_ab_test(version.pk, share)
    except ValueError as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return
    what = f"A/B test #{test.pk} of #{version.pk} on {share:.0%} of shoppers"
    result = _send(modeladmin, request, what, tasks.start_ab_test, test.pk)
    test.refresh_from_db()
    if result is None:
        if test.live:  # nothing will precompute it: no test is left starting
            registry.stop_ab_test(test.pk, note="Its start could not be queued.")
        return
    # One message for the action: the test's state once the task ran (or was queued).
    if test.status == test.Status.RUNNING:
        modeladmin.message_user(request, f"{what} is running.", messages.SUCCESS)
    elif not test.live:
        modeladmin.message_user(request, f"{what} ended: {test.notes}", messages.WARNING)
    else:
        modeladmin.message_user(
            request,
            f"{what}: {_queued(result)}; it starts once the challenger's lists are written.",
        )


@admin.action(description=django_delete_selected.short_description, permissions=["delete"])
def delete_selected(
    modeladmin, request: HttpRequest, queryset: QuerySet
) -> TemplateResponse | None:
    """Django's bulk delete (confirmation page included), sparing the versions in service."""
    in_service = in_service_ids()
    spared = sorted(pk for pk in queryset.values_list("pk", flat=True) if pk in in_service)
    if spared:
        modeladmin.message_user(
            request,
            f"Not deleted, still serving shoppers (the active version or a live A/B test's "
            f"arm): {', '.join(f'#{pk}' for pk in spared)}. Promote another version or "
            "stop the test first.",
            messages.WARNING,
        )
    rest = queryset.exclude(pk__in=spared)
    if not rest.exists():
        return None
    return django_delete_selected(modeladmin, request, rest)
