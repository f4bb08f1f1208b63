"""The "online results" page: results per version and widget (computed in
recommendations/online.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from .. import online
from .pages import check_view_permission, page_context


def online_view(request: HttpRequest, admin_site: Any) -> HttpResponse:
    """Online results per version and widget since ?since= (7d, 24h, 30m)."""
    check_view_permission(request)
    since = request.GET.get("since", "7d")
    error = ""
    try:
        span = online.parse_span(since)
    except ValueError as exc:
        error, since, span = str(exc), "7d", timedelta(days=7)
    start = timezone.now() - span
    versions, widgets = online.online_results(start)
    context = {
        **page_context(request, admin_site, "Online results of recommendations"),
        "since": since,
        "start": start,
        "error": error,
        "columns": online.COLUMNS,
        "per_version": online.table_rows(versions),
        "per_widget": online.table_rows(widgets),
        "attribution_days": online.attribution_window().total_seconds() / 86400,
    }
    return TemplateResponse(request, "admin/recommendations/online.html", context)
