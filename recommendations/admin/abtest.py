"""The "A/B test" page: both arms of the live (or last) test side by side; promote the
challenger or stop the test."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from .. import online, registry
from ..models import ABTest
from .pages import check_view_permission, page_context

TESTS_SHOWN = 20  # past A/B tests listed


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
    check_view_permission(request)
    can_change = request.user.has_perm("recommendations.change_modelversion")
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        return _end_test(request)
    test = registry.live_test() or ABTest.objects.select_related("challenger", "control").first()
    context = {
        **page_context(request, admin_site, "A/B test of model versions"),
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
