"""Operator pages beside the ModelVersion admin: versions at a glance, online results,
the A/B test (both arms side by side; promote the challenger or stop the test).

Hooked into ModelVersionAdmin.get_urls (admin.py); each view is wrapped by
``admin_site.admin_view`` (staff only) and also needs the view permission on model
versions. Imports no training code: charts are SVG built here (admin_charts).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from .. import online, registry
from ..models import ABTest, Interaction, ModelVersion
from ..registry import primary_metric
from .charts import line_chart, stacked_bars

VERSIONS_SHOWN = 200  # newest versions in the metric chart
TIMINGS_SHOWN = 15  # newest versions in the timings chart and the table
TESTS_SHOWN = 20  # past A/B tests listed
EVENT_DAYS = (30, 90)
NOT_STAGES = {"precompute_started_at", "total"}


def _check(request: HttpRequest) -> None:
    if not request.user.has_perm("recommendations.view_modelversion"):
        raise PermissionDenied


def _context(request: HttpRequest, admin_site: Any, title: str) -> dict[str, Any]:
    return {
        **admin_site.each_context(request),
        "title": title,
        "opts": ModelVersion._meta,
        "app_label": ModelVersion._meta.app_label,
    }


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts * 86400, tz=UTC).strftime("%d %b")


def decision(metrics: dict) -> str:
    """The promotion decision stored by the pipeline (metrics["vs_active"]), as text."""
    d = metrics.get("vs_active") if isinstance(metrics, dict) else None
    if not isinstance(d, dict):
        return ""
    try:
        return (
            f"{'promoted' if d.get('promoted') else 'not promoted'} vs #{d.get('active')}: "
            f"difference {float(d['diff']):+.4f}, 90% CI [{float(d['ci_low']):+.4f}, "
            f"{float(d['ci_high']):+.4f}] (one-sided 95%) over {d.get('shoppers', '?')} shoppers"
        )
    except (KeyError, TypeError, ValueError):
        return ""


def events_per_day(days: int) -> dict[str, list[tuple[float, float]]]:
    """Interaction count per day and kind over the last ``days`` days (one GROUP BY)."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        Interaction.objects.filter(created__gte=since)
        .order_by()
        .annotate(day=TruncDate("created"))
        .values("day", "kind")
        .annotate(n=Count("pk"))
    )
    series: dict[str, list[tuple[float, float]]] = {}
    for row in rows:  # one row per day and kind
        x = datetime(row["day"].year, row["day"].month, row["day"].day, tzinfo=UTC)
        series.setdefault(row["kind"], []).append((x.timestamp() / 86400, float(row["n"])))
    return dict(sorted(series.items()))


def overview(request: HttpRequest, admin_site: Any) -> HttpResponse:
    """Offline metrics across versions, stage timings, tuning, decisions; events per day."""
    _check(request)
    metric = primary_metric()
    versions = list(
        ModelVersion.objects.order_by("-created").values(
            "pk", "algorithm", "status", "created", "metrics", "timings", "parameters", "notes"
        )[:VERSIONS_SHOWN]
    )
    by_algorithm: dict[str, list[tuple[float, float]]] = {}
    for v in reversed(versions):
        value = (v["metrics"] or {}).get(metric)
        if isinstance(value, int | float):
            x = v["created"].timestamp() / 86400
            by_algorithm.setdefault(v["algorithm"], []).append((x, float(value)))
    recent = versions[:TIMINGS_SHOWN]
    timings = [
        (
            f"#{v['pk']} {v['algorithm']}",
            {
                k: float(s)
                for k, s in (v["timings"] or {}).items()
                if k not in NOT_STAGES and isinstance(s, int | float)
            },
        )
        for v in recent
    ]
    try:
        days = int(request.GET.get("days", EVENT_DAYS[0]))
    except ValueError:
        days = EVENT_DAYS[0]
    days = days if days in EVENT_DAYS else EVENT_DAYS[0]
    table = [
        {
            "pk": v["pk"],
            "algorithm": v["algorithm"],
            "status": v["status"],
            "created": v["created"],
            "metric": (v["metrics"] or {}).get(metric),
            "parameters": v["parameters"] or {},
            "decision": decision(v["metrics"] or {}),
            "notes": (v["notes"] or "").strip().splitlines()[-2:],
        }
        for v in recent
    ]
    context = {
        **_context(request, admin_site, "Model versions at a glance"),
        "metric": metric,
        "metric_chart": line_chart(
            by_algorithm,
            title=f"Offline {metric} per version, by algorithm",
            x_label=_day,
            y_label=lambda y: f"{y:.3f}",
        ),
        "timings_chart": stacked_bars(timings, title="Seconds per pipeline stage, newest versions"),
        "events_chart": line_chart(
            events_per_day(days),
            title=f"Events per day by kind, last {days} days",
            x_label=_day,
            y_label=lambda y: f"{y:,.0f}",
            dots=False,
        ),
        "days": days,
        "day_choices": EVENT_DAYS,
        "versions": table,
    }
    return TemplateResponse(request, "admin/recommendations/overview.html", context)


def online_view(request: HttpRequest, admin_site: Any) -> HttpResponse:
    """Online results per version and widget since ?since= (7d, 24h, 30m)."""
    _check(request)
    since = request.GET.get("since", "7d")
    error = ""
    try:
        span = online.parse_span(since)
    except ValueError as exc:
        error, since, span = str(exc), "7d", timedelta(days=7)
    start = timezone.now() - span
    versions, widgets = online.online_results(start)
    context = {
        **_context(request, admin_site, "Online results of recommendations"),
        "since": since,
        "start": start,
        "error": error,
        "columns": online.COLUMNS,
        "per_version": online.table_rows(versions),
        "per_widget": online.table_rows(widgets),
        "attribution_days": online.attribution_window().total_seconds() / 86400,
    }
    return TemplateResponse(request, "admin/recommendations/online.html", context)


def ab_arms(test: ABTest) -> tuple[list[tuple[str, online.Arm]], list[online.Arm]]:
    """([(arm name, results)] control then challenger, per version and widget) of a test.

    Events and orders from when the challenger started serving (or the test was
    created) until it ended (or now); an order line counts for the version of the
    shopper's last widget click on its product (online.py), so the arms separate.
    """
    since = test.running_since or test.started
    ids = [pk for pk in (test.control_id, test.challenger_id) if pk is not None]
    versions, widgets = online.online_results(since, test.stopped, versions=ids)
    found = {arm.version_id: arm for arm in versions}
    arms = [
        (name, found.get(pk) or online.Arm(pk))
        for name, pk in (("control", test.control_id), ("challenger", test.challenger_id))
        if pk is not None
    ]
    return arms, widgets


def abtest_view(request: HttpRequest, admin_site: Any) -> HttpResponse:
    """The live (or last) A/B test: both arms side by side with intervals; POST ends it."""
    _check(request)
    can_change = request.user.has_perm("recommendations.change_modelversion")
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        return _end_test(request)
    test = registry.live_test() or ABTest.objects.select_related("challenger", "control").first()
    context = {
        **_context(request, admin_site, "A/B test of model versions"),
        "test": test,
        "can_change": can_change,
        "share_setting": settings.RECOMMENDATIONS.get("AB_SHARE", 0.5),
        "history": ABTest.objects.select_related("challenger", "control")[:TESTS_SHOWN],
        "columns": online.COLUMNS,
        "attribution_days": online.attribution_window().total_seconds() / 86400,
    }
    if test is not None:
        arms, widgets = ab_arms(test)
        cells = [online.table_rows([arm])[0] for _, arm in arms]
        context.update(
            arms=[(name, arm.version_id) for name, arm in arms],
            metrics=[
                (label, [row[i] for row in cells])
                for i, label in enumerate(online.COLUMNS)
                if i >= 2  # version and widget head the columns instead
            ],
            per_widget=online.table_rows(widgets),
            active=registry.active_version(),
        )
    return TemplateResponse(request, "admin/recommendations/abtest.html", context)


def _end_test(request: HttpRequest) -> HttpResponse:
    """POST action=promote|stop test=<id>: end the test, report it as a message."""
    action, raw = request.POST.get("action"), request.POST.get("test", "")
    try:
        if not raw.isdecimal():  # isdigit() passes "²", which int() refuses
            raise ValueError("no A/B test given")
        if action == "promote":
            version = registry.promote_challenger(int(raw))
            messages.success(request, f"#{version.pk} is now active; A/B test #{raw} ended.")
        elif action == "stop":
            registry.stop_ab_test(int(raw))
            messages.success(
                request, f"A/B test #{raw} stopped; the challenger's lists were deleted."
            )
        else:
            raise ValueError(f"unknown action {action!r}")
    except (ValueError, ABTest.DoesNotExist) as exc:
        messages.error(request, str(exc))
    return redirect(reverse("admin:recommendations_modelversion_abtest"))
