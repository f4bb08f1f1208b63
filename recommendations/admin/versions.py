"""The model-version admin: training runs, their actions and their pages.

Its URLs add the pages beside the version list: "at a glance" (overview.py), "online
results" (online.py) and "A/B test" (abtest.py); its actions are in actions.py.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import path
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .. import registry
from ..models import ModelVersion, UserRecommendations
from .abtest import abtest_view
from .actions import (
    delete_selected,
    force_promote,
    in_service_ids,
    promote,
    retrain,
    rollback,
    start_ab_test,
)
from .mixins import NulSafeChangelistMixin
from .online import online_view
from .overview import overview
from .tables import EMPTY, dict_table

Status = ModelVersion.Status


class ModelVersionAdmin(NulSafeChangelistMixin, admin.ModelAdmin):
    """Training runs. Everything but the notes is written by the pipeline."""

    list_display = (
        "id",
        "algorithm",
        "status",
        "created",
        "n_events",
        "n_users",
        "n_items",
        "primary_metric_value",
        "duration",
    )
    list_filter = ("status", "algorithm")
    search_fields = ("algorithm", "notes")
    date_hierarchy = "created"
    # delete_selected first, where Django's own (which it replaces) would be
    actions = [delete_selected, promote, force_promote, rollback, retrain, start_ab_test]
    fields = (
        ("algorithm", "status"),
        "progress_display",
        ("created", "activated"),
        ("data_start", "data_end"),
        ("n_events", "n_users", "n_items"),
        "parameters_table",
        "metrics_table",
        "timings_table",
        "artifact_path",
        "notes",
    )
    readonly_fields = (
        "algorithm",
        "status",
        "progress_display",
        "created",
        "activated",
        "data_start",
        "data_end",
        "n_events",
        "n_users",
        "n_items",
        "parameters_table",
        "metrics_table",
        "timings_table",
        "artifact_path",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from the pipeline

    def has_delete_permission(self, request: HttpRequest, obj: ModelVersion | None = None) -> bool:
        """Never for a version in service: deleting it would leave shoppers unserved."""
        if obj is not None and obj.pk in in_service_ids():
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self) -> list:
        """The version list's own pages, plus "at a glance", "online results" and "A/B test"."""

        def view(fn):
            return self.admin_site.admin_view(lambda request: fn(request, self.admin_site))

        extra = [
            path(
                "overview/",
                view(overview),
                name="recommendations_modelversion_overview",
            ),
            path("online/", view(online_view), name="recommendations_modelversion_online"),
            path("abtest/", view(abtest_view), name="recommendations_modelversion_abtest"),
        ]
        return extra + super().get_urls()

    @admin.display(description=registry.primary_metric())
    def primary_metric_value(self, obj: ModelVersion) -> str:
        value = (obj.metrics or {}).get(registry.primary_metric())
        return f"{value:.4f}" if isinstance(value, int | float) else EMPTY

    @admin.display(description="duration")
    def duration(self, obj: ModelVersion) -> str:
        timings = obj.timings or {}
        total = timings.get("total")
        if not isinstance(total, int | float):
            numbers = [v for v in timings.values() if isinstance(v, int | float)]
            total = sum(numbers) if numbers else None
        return EMPTY if total is None else f"{total:.1f} s"

    @admin.display(description="progress")
    def progress_display(self, obj: ModelVersion) -> SafeString | str:
        """The running stage with a bar (reload to follow), or the last stage of a run."""
        p = obj.progress or {}
        if not p.get("stage"):
            return EMPTY
        running = obj.status in (Status.TRAINING, Status.PRECOMPUTING)
        done, total = int(p.get("done") or 0), int(p.get("total") or 0)
        detail = format_html(" ({})", p["detail"]) if p.get("detail") else ""
        bar = (
            format_html(
                ' <progress value="{}" max="{}"></progress> {}/{}', done, total, done, total
            )
            if total and running
            else ""
        )
        rows = ""
        if obj.status == Status.PRECOMPUTING and obj.n_users:
            written = UserRecommendations.objects.filter(version=obj).count()
            rows = format_html("; shopper lists written: {} of {}", written, obj.n_users)
        return format_html(
            "{}{}{}{}{} <small>at {}</small>",
            "" if running else "last stage: ",
            p["stage"],
            detail,
            bar,
            rows,
            p.get("at", ""),
        )

    @admin.display(description="parameters")
    def parameters_table(self, obj: ModelVersion) -> SafeString | str:
        return dict_table(obj.parameters)

    @admin.display(description="metrics")
    def metrics_table(self, obj: ModelVersion) -> SafeString | str:
        return dict_table(obj.metrics)

    @admin.display(description="timings")
    def timings_table(self, obj: ModelVersion) -> SafeString | str:
        return dict_table(obj.timings, unit=" s", digits=2)
