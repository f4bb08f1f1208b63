"""Online results of recommendations: impressions, clicks, orders and revenue per model
version and per widget, each rate with a 95% confidence interval. Web-process safe.

- Impressions are the products in the lists shown (Impression rows, ``size`` each),
  clicks are Interaction rows of kind click; both carry the version that served them
  (model_version) and the widget in ``source`` ("rec:<widget>:v<id>").
  Click-through = clicks / impressions, Wilson interval.
- An order line is attributed to recommendations when the same shopper (the order's
  user, or its anonymous id) clicked that product in a widget within
  RECS_ATTRIBUTION_DAYS before the order was placed; the last such click names the
  version and widget. Cancelled orders count for nothing.
- Orders per 1,000 impressions: Wilson interval on attributed orders / impressions.
- Revenue per 1,000 impressions: normal approximation on the mean revenue per
  impression, where each attributed order is one unit with its attributed revenue and
  every other impression is a zero (variance from the sum of squares per order).
- An interval resting on no observations (no impressions; for revenue, no attributed
  order, whose absence leaves no spread to estimate) reads "no data", never 0.00 [0.00, 0.00].

Every count comes from grouped SQL; Python only combines the groups (one row per
version and source) and the attributed orders (one row per order and source).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.utils import timezone

from shop.models import Order, OrderLine

from .models import Impression, Interaction

Kind = Interaction.Kind
Z95 = 1.959963984540054
_SOURCE = re.compile(r"^rec:(?P<widget>[\w-]+)(?::v(?P<version>\d+))?$")
ALL = "all widgets"


NO_DATA = "no data"


@dataclass(frozen=True)
class Interval:
    """A point estimate with its 95% confidence interval, from ``n`` observations."""

    value: float
    low: float
    high: float
    n: int

    def format(self, scale: float = 1.0, digits: int = 2, unit: str = "") -> str:
        """E.g. "3.10% [2.50, 3.80]"; "no data" when nothing was observed."""
        if self.n <= 0:
            return NO_DATA
        v, lo, hi = (x * scale for x in (self.value, self.low, self.high))
        return f"{v:.{digits}f}{unit} [{lo:.{digits}f}, {hi:.{digits}f}]"


NOTHING_OBSERVED = Interval(0.0, 0.0, 0.0, 0)


def wilson(successes: int, trials: int, z: float = Z95) -> Interval:
    """Wilson score interval of a proportion (sound for small counts and rates near 0)."""
    if trials <= 0:
        return NOTHING_OBSERVED
    p = min(successes / trials, 1.0)
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), trials)


def mean_interval(total: float, sum_squares: float, n: int, z: float = Z95) -> Interval:
    """Mean per unit over ``n`` units (most of them zero), normal approximation."""
    if n <= 0:
        return NOTHING_OBSERVED
    mean = total / n
    variance = max(sum_squares / n - mean * mean, 0.0)
    half = z * math.sqrt(variance / n)
    return Interval(mean, max(0.0, mean - half), mean + half, n)


def widget_of(source: str) -> str:
    """The widget named by a "rec:<widget>:v<id>" source (else the source itself)."""
    match = _SOURCE.match(source or "")
    return match.group("widget") if match else (source or "(none)")


@dataclass
class Arm:
    """Online results of one version (in one widget, or in all of them)."""

    version_id: int | None
    widget: str = ALL
    impressions: int = 0
    clicks: int = 0
    orders: int = 0
    lines: int = 0
    revenue: Decimal = Decimal("0")
    revenue_sq: float = 0.0  # sum over attributed orders of (order revenue)^2
    order_ids: set[int] = field(default_factory=set, repr=False)

    @property
    def label(self) -> str:
        return f"v{self.version_id}" if self.version_id else "no model"

    @property
    def ctr(self) -> Interval:
        return wilson(self.clicks, self.impressions)

    @property
    def order_rate(self) -> Interval:
        """Attributed orders per impression."""
        return wilson(self.orders, self.impressions)

    @property
    def revenue_per_impression(self) -> Interval:
        """Mean revenue per impression; nothing observed without an attributed order."""
        if not self.orders:  # all zeros: no spread, so no honest interval
            return NOTHING_OBSERVED
        return mean_interval(float(self.revenue), self.revenue_sq, self.impressions)


def attribution_window() -> timedelta:
    """RECS_ATTRIBUTION_DAYS as a timedelta."""
    return timedelta(days=float(settings.RECOMMENDATIONS.get("ATTRIBUTION_DAYS", 7)))


def last_click(window: timedelta | None = None):
    """Subquery: the shopper's last click on the line's product before its order, in the window."""
    window = attribution_window() if window is None else window
    return (
        Interaction.objects.filter(
            kind=Kind.CLICK,
            product=OuterRef("product"),
            created__lte=OuterRef("order__created"),
            created__gte=ExpressionWrapper(
                OuterRef("order__created") - Value(window, output_field=DurationField()),
                output_field=Interaction._meta.get_field("created"),
            ),
        )
        .filter(
            Q(user__isnull=False, user=OuterRef("order__user"))
            | Q(
                user__isnull=True, anonymous_id__gt="", anonymous_id=OuterRef("order__anonymous_id")
            )
        )
        .order_by("-created", "-pk")
    )


def attributed_lines(since: datetime, until: datetime | None = None, window=None):
    """Order lines placed in [since, until) with the version and source of their last click."""
    click = last_click(window)
    lines = OrderLine.objects.filter(order__created__gte=since).exclude(
        order__status=Order.Status.CANCELLED
    )
    if until is not None:
        lines = lines.filter(order__created__lt=until)
    return lines.annotate(
        click_id=Subquery(click.values("pk")[:1]),
        click_version=Subquery(click.values("model_version_id")[:1]),
        click_source=Subquery(click.values("source")[:1]),
    ).filter(click_id__isnull=False)


class _Tally:
    """The arms being counted: one per version, one per version and widget."""

    def __init__(self) -> None:
        self.by_version: dict[int | None, Arm] = {}
        self.by_widget: dict[tuple[int | None, str], Arm] = {}

    def arms(self, version_id: int | None, source: str) -> tuple[Arm, Arm]:
        """The version's arm and its arm in the widget named by ``source``."""
        widget = widget_of(source)
        return (
            self.by_version.setdefault(version_id, Arm(version_id)),
            self.by_widget.setdefault((version_id, widget), Arm(version_id, widget)),
        )

    def all(self) -> list[Arm]:
        return [*self.by_version.values(), *self.by_widget.values()]


def _count_events(
    tally: _Tally, since: datetime, until: datetime, versions: list[int] | None
) -> None:
    """Products shown and clicks in [since, until), one grouped row per version and source."""
    window = Q(created__gte=since, created__lt=until)
    if versions is not None:
        window &= Q(model_version_id__in=versions)
    shown = Impression.objects.filter(window).values("model_version_id", "source")
    for row in shown.order_by().annotate(n=Sum("size")):
        for arm in tally.arms(row["model_version_id"], row["source"]):
            arm.impressions += row["n"]
    clicks = Interaction.objects.filter(window, kind=Kind.CLICK)
    for row in clicks.values("model_version_id", "source").order_by().annotate(n=Count("pk")):
        for arm in tally.arms(row["model_version_id"], row["source"]):
            arm.clicks += row["n"]


def _count_orders(
    tally: _Tally,
    since: datetime,
    until: datetime,
    versions: list[int] | None,
    window: timedelta | None,
) -> None:
    """Attributed orders, lines and revenue (and its sum of squares per order) per arm."""
    lines = attributed_lines(since, until, window)
    if versions is not None:
        lines = lines.filter(click_version__in=versions)
    money = DecimalField(max_digits=14, decimal_places=2)
    per_order = (
        lines.order_by()
        .values("order_id", "click_version", "click_source")
        .annotate(
            n_lines=Count("pk"),
            revenue=Sum(ExpressionWrapper(F("quantity") * F("unit_price"), output_field=money)),
        )
    )
    order_revenue: dict[tuple[int | None, str, int], Decimal] = defaultdict(Decimal)
    for row in per_order:  # one row per attributed order and source
        for arm in tally.arms(row["click_version"], row["click_source"]):
            arm.lines += row["n_lines"]
            arm.revenue += row["revenue"] or Decimal("0")
            arm.order_ids.add(row["order_id"])
            key = (arm.version_id, arm.widget, row["order_id"])
            order_revenue[key] += row["revenue"] or Decimal("0")
    for arm in tally.all():
        arm.orders = len(arm.order_ids)
        arm.revenue_sq = sum(
            float(order_revenue[(arm.version_id, arm.widget, oid)]) ** 2 for oid in arm.order_ids
        )


def _display_order(arm: Arm) -> tuple:
    return (-(arm.version_id or 0), arm.widget)


def online_results(
    since: datetime,
    until: datetime | None = None,
    *,
    versions: list[int] | None = None,
    window: timedelta | None = None,
) -> tuple[list[Arm], list[Arm]]:
    """(per version, per version and widget) results of events and orders in [since, until)."""
    until = until or timezone.now()
    tally = _Tally()
    _count_events(tally, since, until, versions)
    _count_orders(tally, since, until, versions, window)
    return (
        sorted(tally.by_version.values(), key=_display_order),
        sorted(tally.by_widget.values(), key=_display_order),
    )


COLUMNS = (
    "version",
    "widget",
    "impressions",
    "clicks",
    "CTR % [95% CI]",
    "orders",
    "orders/1k impr. [95% CI]",
    "revenue",
    "revenue/1k impr. [95% CI]",
)


def table_rows(arms: list[Arm]) -> list[list[str]]:
    """Display cells per arm, in COLUMNS order."""
    return [
        [
            arm.label,
            arm.widget,
            f"{arm.impressions:,}",
            f"{arm.clicks:,}",
            arm.ctr.format(100, 2),
            f"{arm.orders:,}",
            arm.order_rate.format(1000, 2),
            f"{arm.revenue:,.2f}",
            arm.revenue_per_impression.format(1000, 2),
        ]
        for arm in arms
    ]


def text_table(arms: list[Arm]) -> str:
    """A plain-text table of ``arms`` (management command, logs)."""
    rows = [list(COLUMNS), *table_rows(arms)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    out = []
    for n, row in enumerate(rows):
        pairs = enumerate(zip(row, widths, strict=True))
        cells = [c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in pairs]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


_SPAN = re.compile(r"^\s*(\d+)\s*([dhm])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
MAX_SPAN_DAYS = 3650  # ten years; unbounded, "now - span" could fall before year 1


def parse_span(text: str) -> timedelta:
    """ "7d", "24h" or "30m" (at most MAX_SPAN_DAYS) as a timedelta; ValueError otherwise."""
    text = text or ""
    match = _SPAN.match(text)
    digits = match.group(1).lstrip("0") if match else ""
    if not digits:
        raise ValueError(f"{text[:20]!r} is not a span like 7d, 24h or 30m")
    unit = _UNITS[match.group(2)]
    # Nine digits at most: timedelta itself stops short of 10**9 days.
    if len(digits) > 9 or timedelta(**{unit: int(digits)}) > timedelta(days=MAX_SPAN_DAYS):
        raise ValueError(f"{text[:20]!r} is too long a span: at most {MAX_SPAN_DAYS}d")
    return timedelta(**{unit: int(digits)})
