"""Operator pages: versions at a glance (SVG charts) and online results; staff only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from recommendations.admin import charts
from recommendations.models import Impression, Interaction, ModelVersion
from tests.factories import InteractionFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db
PAGES = ("overview", "online")


def url(name: str) -> str:
    return reverse(f"admin:recommendations_modelversion_{name}")


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def history():
    """Versions with metrics, timings, tuning and a decision; a few days of events."""
    now = timezone.now()
    for i, (algo, value) in enumerate([("ease", 0.21), ("ease", 0.25), ("popularity", 0.1)]):
        v = ModelVersion.objects.create(
            algorithm=algo,
            status=ModelVersion.Status.RETIRED,
            metrics={"ndcg@10": value},
            timings={"extract": 1.5, "fit": 4.0 + i, "evaluate": 2.0, "precompute_started_at": 1e9},
            parameters={"l2": 100 * (i + 1)},
        )
        ModelVersion.objects.filter(pk=v.pk).update(created=now - timedelta(days=10 - i))
    ModelVersion.objects.create(
        algorithm="<b>x</b>",
        status=ModelVersion.Status.ACTIVE,
        metrics={
            "ndcg@10": 0.3,
            "vs_active": {
                "active": 1,
                "diff": 0.05,
                "ci_low": 0.01,
                "ci_high": 0.09,
                "shoppers": 812,
                "promoted": True,
            },
        },
        notes="Chosen: simplest within noise.\nPromoted: beat active #1.",
    )
    product = ProductFactory()
    for days, kind in [(1, "view"), (1, "view"), (2, "cart"), (40, "purchase")]:
        InteractionFactory(product=product, kind=kind, created=now - timedelta(days=days))


@pytest.mark.parametrize("page", PAGES)
def test_pages_are_refused_to_shoppers_and_visitors(client, page):
    assert client.get(url(page)).status_code == 302  # to the admin login
    client.force_login(UserFactory())
    response = client.get(url(page))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("page", PAGES)
def test_staff_without_the_view_permission_is_refused(client, page):
    client.force_login(UserFactory(is_staff=True))
    assert client.get(url(page)).status_code == 403


def test_changelist_links_to_both_pages(staff):
    html = staff.get(reverse("admin:recommendations_modelversion_changelist")).content.decode()
    assert url("overview") in html and url("online") in html


def test_overview_draws_charts_and_lists_tuning_and_decisions(staff, history):
    response = staff.get(url("overview"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="recs-chart"') == 3
    assert "Offline ndcg@10 per version, by algorithm" in html
    assert ">ease</text>" in html and ">popularity</text>" in html  # legend
    assert "fit: 6.00 s" in html and "precompute_started_at" not in html  # stages only
    assert "<code>l2=300</code>" in html
    assert (
        "promoted vs #1: difference +0.0500, 90% CI [+0.0100, +0.0900] (one-sided 95%) over 812"
        in html
    )
    assert "Promoted: beat active #1." in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html  # escaped everywhere
    assert not re.search(r"(src|href)=\"https?://", html)  # nothing fetched from elsewhere
    assert "Events per day by kind, last 30 days" in html
    assert ">view</text>" in html and ">purchase</text>" not in html  # 40 days ago
    html = staff.get(url("overview"), {"days": "90"}).content.decode()
    assert ">purchase</text>" in html


def test_overview_queries_do_not_grow_with_events(staff, history, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        staff.get(url("overview"))
    product = ProductFactory()
    Interaction.objects.bulk_create(
        Interaction(product=product, kind="view", created=timezone.now() - timedelta(hours=h))
        for h in range(200)
    )
    with django_assert_max_num_queries(8):
        staff.get(url("overview"))


def test_overview_of_an_empty_shop(staff):
    html = staff.get(url("overview")).content.decode()
    assert "No data yet." in html and "No model versions yet." in html


def test_online_page_shows_tables_and_refuses_bad_spans(staff):
    version = ModelVersion.objects.create(algorithm="ease", status=ModelVersion.Status.ACTIVE)
    product, other = ProductFactory(), ProductFactory()
    source = f"rec:for-you:v{version.pk}"
    Impression.objects.create(
        product_ids=[product.pk, other.pk],
        size=2,
        model_version=version,
        source=source,
        created=timezone.now(),
    )
    InteractionFactory(product=product, kind="click", model_version=version, source=source)
    html = staff.get(url("online"), {"since": "24h"}).content.decode()
    assert "Per model version" in html and "Per model version and widget" in html
    assert f"<td>v{version.pk}</td><td>all widgets</td><td>2</td><td>1</td>" in html
    assert f"<td>v{version.pk}</td><td>for-you</td>" in html
    html = staff.get(url("online"), {"since": "yesterday"}).content.decode()
    assert "is not a span like 7d, 24h or 30m" in html


def test_online_page_refuses_a_span_too_long_for_a_date(staff):
    response = staff.get(url("online"), {"since": "99999999d"})
    assert response.status_code == 200
    assert "at most 3650d" in response.content.decode()
    assert response.context["since"] == "7d"  # the tables show the default span instead


def test_svg_labels_are_escaped():
    svg = charts.line_chart({'<script>"': [(0, 1), (1, 2)]}, title="a & b")
    assert "<script>" not in svg and "&lt;script&gt;&quot;" in svg and "a &amp; b" in svg
    svg = charts.stacked_bars([("<i>", {"fit": 1.0})], title="t")
    assert "<i>" not in svg and "&lt;i&gt;" in svg


def x_ticks(svg: str) -> list[str]:
    """The x-axis labels of a line chart: the texts on the line below its plot."""
    y = charts.TOP + charts.PLOT_H + 18
    return re.findall(rf'<text [^>]*y="{y}"[^>]*text-anchor="middle"[^>]*>([^<]*)</text>', svg)


def test_metric_chart_of_versions_from_one_day_labels_times_of_day(staff):
    """Every version trained on 2 Dec: the axis reads hours, not "02 Dec" five times."""
    day = timezone.now().replace(month=12, day=2, hour=0, minute=0, second=0, microsecond=0)
    for hours, value in ((9, 0.2), (11.5, 0.25), (16.75, 0.22)):
        v = ModelVersion.objects.create(
            algorithm="ease", status=ModelVersion.Status.RETIRED, metrics={"ndcg@10": value}
        )
        ModelVersion.objects.filter(pk=v.pk).update(created=day + timedelta(hours=hours))
    html = staff.get(url("overview")).content.decode()
    metric_svg = html[html.index("Offline ndcg@10 per version") :]
    labels = x_ticks(metric_svg[: metric_svg.index("</svg>")])
    assert labels == ["09:00", "10:56", "12:52", "14:48", "16:45"], labels


def at(*args) -> float:
    """Days since 1970 of a UTC moment, the charts' x."""
    return datetime(*args, tzinfo=UTC).timestamp() / 86400


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ((2026, 12, 2, 9), (2026, 12, 2, 17), ["09:00", "11:00", "13:00", "15:00", "17:00"]),
        ((2026, 12, 2, 9), (2026, 12, 2, 9, 2), ["09:00:00", "09:00:30", "09:01:00"]),
        ((2026, 11, 2), (2026, 12, 2), ["02 Nov", "09 Nov", "17 Nov", "24 Nov", "02 Dec"]),
        ((2026, 12, 1, 12), (2026, 12, 2, 12), ["01 Dec 12:00", "01 Dec 18:00", "02 Dec 00:00"]),
        ((2025, 12, 20), (2026, 1, 9), ["20 Dec 2025", "25 Dec 2025", "30 Dec 2025"]),
        ((2025, 6, 1), (2026, 6, 1), ["Jun 2025", "Aug 2025", "Nov 2025", "Mar 2026", "Jun 2026"]),
    ],
)
def test_date_ticks_are_as_coarse_as_keeps_them_different(start, end, expected):
    ticks = charts._ticks(at(*start), at(*end))
    labels = charts.date_ticks(ticks)
    assert labels[: len(expected)] == expected
    assert len(set(labels)) == len(labels)


def test_a_lone_version_still_gets_different_axis_labels():
    svg = charts.line_chart(
        {"ease": [(at(2026, 12, 2, 9), 0.2)]}, title="t", x_ticks=charts.date_ticks
    )
    labels = x_ticks(svg)
    assert len(labels) == 5 and len(set(labels)) == 5, labels


def test_events_per_day_count_the_products_shown_as_impressions():
    from recommendations.admin.overview import events_per_day

    product = ProductFactory()
    now = timezone.now()
    Interaction.objects.create(product=product, kind="view", created=now)
    for ids in ([product.pk] * 3, [product.pk] * 2):
        Impression.objects.create(product_ids=ids, size=len(ids), created=now)
    Impression.objects.create(product_ids=[1], size=1, created=now - timedelta(days=40))
    series = events_per_day(30)
    assert [n for _, n in series["impression"]] == [5.0]  # two lists, five products
    assert [n for _, n in series["view"]] == [1.0]
