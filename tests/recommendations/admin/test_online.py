"""Online results: click-through and attributed orders per version and widget, with intervals."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from recommendations import online
from recommendations.models import Impression, Interaction, ModelVersion
from shop.models import Order
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db
Kind = Interaction.Kind
NOW = timezone.now()


def test_wilson_interval_known_values():
    assert online.wilson(0, 0).format(100) == "no data"
    iv = online.wilson(5, 10)
    assert iv.value == 0.5 and round(iv.low, 4) == 0.2366 and round(iv.high, 4) == 0.7634
    iv = online.wilson(0, 10)
    assert iv.low == 0.0 and round(iv.high, 4) == 0.2775


def test_mean_interval_of_mostly_zero_units():
    iv = online.mean_interval(total=30.0, sum_squares=500.0, n=100)  # orders of 10 and 20
    assert iv.value == 0.3
    half = 1.959963984540054 * ((500 / 100 - 0.09) / 100) ** 0.5
    assert iv.low == 0.0 and iv.high == pytest.approx(0.3 + half)  # clipped at zero
    iv = online.mean_interval(total=3000.0, sum_squares=50000.0, n=10000)
    half = 1.959963984540054 * ((5 - 0.09) / 10000) ** 0.5
    assert iv.low == pytest.approx(0.3 - half) and iv.high == pytest.approx(0.3 + half)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7d", timedelta(days=7)), ("24h", timedelta(hours=24)), (" 30m ", timedelta(minutes=30))],
)
def test_parse_span(text, expected):
    assert online.parse_span(text) == expected


@pytest.mark.parametrize("text", ["7", "7w", "-1d", "0d", "d", "", "1.5d"])
def test_parse_span_refuses_other_forms(text):
    with pytest.raises(ValueError, match="like 7d, 24h or 30m"):
        online.parse_span(text)


@pytest.mark.parametrize("text", ["99999999d", "3651d", "87649h", "5256001m", "9" * 5000 + "d"])
def test_parse_span_refuses_spans_beyond_ten_years(text):
    with pytest.raises(ValueError, match="at most 3650d"):
        online.parse_span(text)
    assert online.parse_span("3650d") == online.parse_span("87600h") == timedelta(days=3650)


def event(kind, product, version, widget, days_ago, user=None, anonymous_id=""):
    return Interaction.objects.create(
        kind=kind,
        product=product,
        model_version=version,
        source=f"rec:{widget}:v{version.pk if version else 0}",
        created=NOW - timedelta(days=days_ago),
        user=user,
        anonymous_id=anonymous_id,
    )


def shown(products, version, widget, days_ago, user=None, anonymous_id=""):
    """One list shown: it counts as len(products) impressions."""
    return Impression.objects.create(
        product_ids=[p.pk for p in products],
        size=len(products),
        model_version=version,
        source=f"rec:{widget}:v{version.pk}",
        created=NOW - timedelta(days=days_ago),
        user=user,
        anonymous_id=anonymous_id,
    )


def order(lines, days_ago=0.0, user=None, anonymous_id="", status=Order.Status.PLACED):
    o = OrderFactory(user=user, anonymous_id=anonymous_id, status=status)
    for product, qty, price in lines:
        OrderLineFactory(order=o, product=product, quantity=qty, unit_price=Decimal(price))
    Order.objects.filter(pk=o.pk).update(created=NOW - timedelta(days=days_ago))
    return o


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def traffic():
    """Constructed traffic of two versions in two widgets; see the assertions for the story."""
    v1 = ModelVersion.objects.create(algorithm="ease", status=ModelVersion.Status.ACTIVE)
    v2 = ModelVersion.objects.create(algorithm="popularity", status=ModelVersion.Status.RETIRED)
    p = ProductFactory.create_batch(6)
    alice, carol, dave = UserFactory(), UserFactory(), UserFactory()
    for _ in range(2):  # 4 products shown
        shown([p[0], p[1]], v1, "for-you", 3, user=alice)
    for _ in range(2):  # 6 products shown
        shown([p[3], p[4], p[5]], v2, "similar", 1, anonymous_id="guest1")
    # Alice clicked p0 through v2 (3 days ago), then through v1 (2 days ago): last click wins.
    event(Kind.CLICK, p[0], v2, "for-you", 3, user=alice)
    event(Kind.CLICK, p[0], v1, "for-you", 2, user=alice)
    order([(p[0], 2, "10.00"), (p[1], 1, "99.00")], user=alice)  # p1 never clicked
    # A guest clicked p2 ten days ago (outside the 7-day window) and p3 a day ago.
    event(Kind.CLICK, p[2], v2, "similar", 10, anonymous_id="guest1")
    event(Kind.CLICK, p[3], v2, "similar", 1, anonymous_id="guest1")
    order([(p[2], 1, "5.00"), (p[3], 3, "7.00")], anonymous_id="guest1")
    # Carol clicked p4 but Dave bought it; Carol clicked p5 after her order; a cancelled order.
    event(Kind.CLICK, p[4], v1, "for-you", 1, user=carol)
    order([(p[4], 1, "50.00")], user=dave)
    order([(p[5], 1, "40.00")], days_ago=1, user=carol)
    event(Kind.CLICK, p[5], v1, "for-you", 0.5, user=carol)
    event(Kind.CLICK, p[0], v1, "for-you", 1, user=dave)
    order([(p[0], 1, "10.00")], user=dave, status=Order.Status.CANCELLED)
    return v1, v2


def test_clicks_and_orders_are_attributed_to_the_version_and_widget_that_served_them(traffic):
    v1, v2 = traffic
    versions, widgets = online.online_results(NOW - timedelta(days=30), NOW + timedelta(hours=1))
    by = {a.version_id: a for a in versions}
    assert (by[v1.pk].impressions, by[v1.pk].clicks) == (4, 4)
    assert (by[v1.pk].orders, by[v1.pk].lines, by[v1.pk].revenue) == (1, 1, Decimal("20.00"))
    assert (by[v2.pk].impressions, by[v2.pk].clicks) == (6, 3)
    assert (by[v2.pk].orders, by[v2.pk].lines, by[v2.pk].revenue) == (1, 1, Decimal("21.00"))
    assert by[v2.pk].ctr == online.wilson(3, 6)
    assert by[v2.pk].order_rate == online.wilson(1, 6)
    assert by[v2.pk].revenue_per_impression == online.mean_interval(21.0, 441.0, 6)
    cells = {(a.version_id, a.widget): (a.clicks, a.orders) for a in widgets}
    assert cells == {
        (v1.pk, "for-you"): (4, 1),
        (v2.pk, "for-you"): (1, 0),
        (v2.pk, "similar"): (2, 1),
    }


def test_the_attribution_window_is_a_setting(traffic, settings):
    v1, v2 = traffic
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "ATTRIBUTION_DAYS": 14}
    versions, _ = online.online_results(NOW - timedelta(days=30), NOW + timedelta(hours=1))
    by = {a.version_id: a for a in versions}
    assert (by[v2.pk].lines, by[v2.pk].revenue) == (2, Decimal("26.00"))  # the 10-day-old click
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "ATTRIBUTION_DAYS": 1.5}
    versions, _ = online.online_results(NOW - timedelta(days=30), NOW + timedelta(hours=1))
    assert {a.version_id: a.orders for a in versions} == {v1.pk: 0, v2.pk: 1}


def test_results_take_a_fixed_number_of_queries(traffic, django_assert_num_queries):
    with django_assert_num_queries(3):  # products shown, clicks, attributed orders
        online.online_results(NOW - timedelta(days=30))


def test_report_command_prints_both_tables(traffic):
    v1, v2 = traffic
    out = io.StringIO()
    call_command("recommendation_report", "--since", "30d", stdout=out)
    text = out.getvalue()
    assert "Per model version\n" in text and "Per model version and widget\n" in text
    assert "within 7 days before the order" in text
    row = next(
        line for line in text.splitlines() if line.startswith(f"v{v2.pk} ") and "all" in line
    )
    assert row.split()[3:6] == ["6", "3", "50.00"]  # impressions, clicks, CTR %
    assert "21.00" in row


def row_of(text: str, version: ModelVersion, widget: str) -> list[str]:
    """The cells of a text table's row (cells hold single spaces, columns two or more)."""
    line = next(x for x in text.splitlines() if x.startswith(f"v{version.pk} ") and widget in x)
    return re.split(r"\s{2,}", line)


def test_intervals_without_observations_read_no_data(traffic, staff):
    """v2 in for-you: a click, no impression and no order; v1 in for-you: no order left."""
    v1, v2 = traffic
    Order.objects.filter(user__isnull=False, status=Order.Status.PLACED).delete()
    out = io.StringIO()
    call_command("recommendation_report", "--since", "30d", stdout=out)
    text = out.getvalue()
    # version, widget, impressions, clicks, CTR, orders, orders/1k, revenue, revenue/1k
    v2_cells = row_of(text, v2, "for-you")
    assert v2_cells[2:] == ["0", "1", "no data", "0", "no data", "0.00", "no data"], v2_cells
    v1_cells = row_of(text, v1, "for-you")
    assert v1_cells[5:] == ["0", "0.00 [0.00, 489.89]", "0.00", "no data"], v1_cells
    assert "0.00 [0.00, 0.00]" not in text
    html = staff.get(reverse("admin:recommendations_modelversion_online"), {"since": "30d"})
    row = f"<td>v{v2.pk}</td><td>for-you</td><td>0</td><td>1</td><td>no data</td><td>0</td>"
    assert row in html.content.decode()
    assert "0.00 [0.00, 0.00]" not in html.content.decode()


def test_report_command_refuses_a_bad_span():
    with pytest.raises(CommandError, match="like 7d, 24h or 30m"):
        call_command("recommendation_report", "--since", "a week", stdout=io.StringIO())


def test_report_command_refuses_a_span_too_long_for_a_date():
    with pytest.raises(CommandError, match="at most 3650d"):
        call_command("recommendation_report", "--since", "99999999d", stdout=io.StringIO())


def test_report_on_no_traffic():
    out = io.StringIO()
    call_command("recommendation_report", "--since", "24h", stdout=out)
    assert "No impressions, clicks or attributed orders" in out.getvalue()
