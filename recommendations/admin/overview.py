"""The "at a glance" page: offline metrics, stage timings and decisions across versions,
events per day (SVG charts from charts.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.safestring import SafeString

from .. import registry
from ..models import Impression, Interaction, ModelVersion
from .charts import date_label, date_ticks, line_chart, stacked_bars
from .pages import check_view_permission, page_context
from .tables import stage_seconds

VERSIONS_SHOWN = 200  # newest versions in the metric chart
TIMINGS_SHOWN = 15  # newest versions in the timings chart and the table
EVENT_DAYS = (30, 90)


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
    """Events per day and kind over the last ``days`` days, and the products shown
    ("impression"), one GROUP BY each."""
    since = timezone.now() - timedelta(days=days)
    per_day = (
        Interaction.objects.filter(created__gte=since)
        .order_by()
        .annotate(day=TruncDate("created"))
        .values("day", "kind")
        .annotate(n=Count("pk"))
    )
    shown = (
        Impression.objects.filter(created__gte=since)
        .order_by()
        .annotate(day=TruncDate("created"))
        .values("day")
        .annotate(n=Sum("size"))
    )
    series: dict[str, list[tuple[float, float]]] = {}
    for kind, row in [*((r["kind"], r) for r in per_day), *(("impression", r) for r in shown)]:
        x = datetime(row["day"].year, row["day"].month, row["day"].day, tzinfo=UTC)
        series.setdefault(kind, []).append((x.timestamp() / 86400, float(row["n"])))
    return dict(sorted(series.items()))


Version = dict[str, Any]  # a row of ModelVersion.objects.values(), the fields shown here


def newest_versions() -> list[Version]:
    """The newest VERSIONS_SHOWN versions, newest first."""
    return list(
        ModelVersion.objects.order_by("-created").values(
            "pk", "algorithm", "status", "created", "metrics", "timings", "parameters", "notes"
        )[:VERSIONS_SHOWN]
    )


def metric_chart(versions: list[Version], metric: str) -> SafeString:
    """The offline ``metric`` of each version over time, one line per algorithm."""
    by_algorithm: dict[str, list[tuple[float, float]]] = {}
    for v in reversed(versions):
        value = (v["metrics"] or {}).get(metric)
        if isinstance(value, int | float):
            x = v["created"].timestamp() / 86400
            by_algorithm.setdefault(v["algorithm"], []).append((x, float(value)))
    return line_chart(
        by_algorithm,
        title=f"Offline {metric} per version, by algorithm",
        x_label=date_label,
        x_ticks=date_ticks,
        y_label=lambda y: f"{y:.3f}",
    )


def timings_chart(versions: list[Version]) -> SafeString:
    """Seconds per pipeline stage of each version, one stacked bar each."""
    timings = [
        (
            f"#{v['pk']} {v['algorithm']}",
            stage_seconds(v["timings"]),
        )
        for v in versions
    ]
    return stacked_bars(timings, title="Seconds per pipeline stage, newest versions")


def events_chart(days: int) -> SafeString:
    """Events per day of the last ``days`` days, one line per kind."""
    return line_chart(
        events_per_day(days),
        title=f"Events per day by kind, last {days} days",
        x_label=lambda x: date_label(x)[:10],  # a day's count
        x_ticks=date_ticks,
        y_label=lambda y: f"{y:,.0f}",
        dots=False,
    )


def _days(request: HttpRequest) -> int:
    """?days= when it is one of EVENT_DAYS, else the first of them."""
    try:
        days = int(request.GET.get("days", EVENT_DAYS[0]))
    except ValueError:
        days = EVENT_DAYS[0]
    return days if days in EVENT_DAYS else EVENT_DAYS[0]


def _table_row(v: Version, metric: str) -> dict[str, Any]:
    return {
        "pk": v["pk"],
        "algorithm": v["algorithm"],
        "status": v["status"],
        "created": v["created"],
        "metric": (v["metrics"] or {}).get(metric),
        "parameters": v["parameters"] or {},
        "decision": decision(v["metrics"] or {}),
        "notes": (v["notes"] or "").strip().splitlines()[-2:],
    }


def overview(request: HttpRequest, admin_site: Any) -> HttpResponse:
    """Offline metrics across versions, stage timings, tuning, decisions; events per day."""
    check_view_permission(request)
    metric = registry.primary_metric()
    versions = newest_versions()
    recent = versions[:TIMINGS_SHOWN]
    days = _days(request)
    context = {
        **page_context(request, admin_site, "Model versions at a glance"),
        "metric": metric,
        "metric_chart": metric_chart(versions, metric),
        "timings_chart": timings_chart(recent),
        "events_chart": events_chart(days),
        "days": days,
        "day_choices": EVENT_DAYS,
        "versions": [_table_row(v, metric) for v in recent],
    }
    return TemplateResponse(request, "admin/recommendations/overview.html", context)
