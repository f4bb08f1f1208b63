"""The model-version admin: training runs, their actions and their pages.

Its URLs add the pages beside the version list: "at a glance" (overview.py), "online
results" (online.py) and "A/B test" (abtest.py); its actions are in actions.py.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
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
from .tables import EMPTY, dict_table, numbers_title, short_count, short_duration, stage_seconds

Status = ModelVersion.Status


class ModelVersionAdmin(NulSafeChangelistMixin, admin.ModelAdmin):
    """Training runs. Everything but the notes is written by the pipeline."""

    # Short cells, so the list fits a 1280-pixel screen beside the admin's sidebars;
    # each cell's tooltip and the version's page hold the details.
    list_display = (
        "version",
        "status",
        "created_short",
        "data",
        "primary_metric_value",
        "duration",
    )
    list_display_links = ("version",)
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

    @admin.display(description="version", ordering="pk")
    def version(self, obj: ModelVersion) -> str:
        """Number and algorithm in one cell (the algorithm filter is in the sidebar)."""
        return f"#{obj.pk} {obj.algorithm}"

    @admin.display(description="created", ordering="created")
    def created_short(self, obj: ModelVersion) -> SafeString:
        """Day and time (the year only when it is not this one); the full date on hover."""
        created = timezone.localtime(obj.created)
        short = "j M H:i" if created.year == timezone.localtime().year else "j M Y"
        return format_html(
            '<span title="{}">{}</span>',
            date_format(created, "DATETIME_FORMAT"),
            date_format(created, short),
        )

    @admin.display(description="events", ordering="n_events")
    def data(self, obj: ModelVersion) -> SafeString:
        """Events trained on; shoppers and products on hover."""
        return format_html(
            '<span title="{} events, {} shoppers, {} products">{}</span>',
            f"{obj.n_events:,}",
            f"{obj.n_users:,}",
            f"{obj.n_items:,}",
            short_count(obj.n_events),
        )

    @admin.display(description=registry.primary_metric())
    def primary_metric_value(self, obj: ModelVersion) -> SafeString | str:
        """The primary metric; every offline metric on hover."""
        value = (obj.metrics or {}).get(registry.primary_metric())
        if not isinstance(value, int | float):
            return EMPTY
        return format_html('<span title="{}">{}</span>', numbers_title(obj.metrics), f"{value:.4f}")

    @admin.display(description="time")
    def duration(self, obj: ModelVersion) -> SafeString | str:
        """The run's total time; seconds per stage on hover."""
        timings = obj.timings or {}
        stages = stage_seconds(timings)
        total = timings.get("total")
        if not isinstance(total, int | float):
            total = sum(stages.values()) if stages else None
        if total is None:
            return EMPTY
        title = numbers_title(stages, unit=" s", digits=1)
        return format_html('<span title="{}">{}</span>', title, short_duration(total))

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
