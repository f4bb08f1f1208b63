"""Charts for the admin as server-side SVG: no script, no CDN, nothing fetched.

Each function returns one ``<svg>`` element as a SafeString; every label is escaped.
Colours are presentation attributes (not ``style``), so the strict CSP holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 60, 150, 24, 40
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM  # the line chart's plot area

Point = tuple[float, float]
Label = Callable[[float], str]
TickLabels = Callable[[Sequence[float]], list[str]]  # all of an axis's labels at once
DAY = 86400


def colour(i: int) -> str:
    """The i-th colour of the palette (cycling)."""
    return PALETTE[i % len(PALETTE)]


def _ticks(low: float, high: float, n: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = (high - low) / (n - 1)
    return [low + i * step for i in range(n)]


def _empty(title: str, message: str = "No data yet.") -> SafeString:
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="recs-chart" width="{WIDTH}" '
        f'height="60" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f'<text x="10" y="35" font-size="13" fill="#666">{escape(message)}</text></svg>'
    )


def _svg_open(title: str, height: int) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="recs-chart" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    )


def _legend_key(i: int, name: str, x: int) -> str:
    """The i-th legend entry: a swatch at ``x`` and the name beside it."""
    ly = TOP + 14 + 18 * i
    return (
        f'<rect x="{x}" y="{ly - 9}" width="10" height="10" fill="{colour(i)}"/>'
        f'<text x="{x + 16}" y="{ly}" font-size="12" fill="#222">{escape(name)}</text>'
    )


@dataclass(frozen=True)
class Frame:
    """The data ranges of a line chart, mapped onto its plot area."""

    x0: float
    x1: float
    y0: float
    y1: float

    @classmethod
    def around(cls, points: Sequence[Point], y_from_zero: bool) -> Frame:
        """Ranges holding every point (widened when all x or all y are equal)."""
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        x0, x1 = min(xs), max(xs)
        y0, y1 = (0.0 if y_from_zero else min(ys)), max(ys)
        if x1 == x0:
            x0, x1 = x0 - 1, x1 + 1
        if y1 == y0:
            y1 = y0 + (abs(y0) or 1.0)
        return cls(x0, x1, y0, y1)

    def sx(self, x: float) -> float:
        """The SVG x of data x."""
        return LEFT + (x - self.x0) / (self.x1 - self.x0) * PLOT_W

    def sy(self, y: float) -> float:
        """The SVG y of data y."""
        return TOP + PLOT_H - (y - self.y0) / (self.y1 - self.y0) * PLOT_H


def _date_formats(moments: Sequence[datetime]) -> Iterator[str]:
    """strftime formats for these moments, coarsest first: months, days, minutes, seconds."""
    one_year = len({m.year for m in moments}) == 1
    one_day = len({m.date() for m in moments}) == 1
    if (moments[-1] - moments[0]).days >= 120:
        yield "%b %Y"
    yield "%d %b" if one_year else "%d %b %Y"
    yield "%H:%M" if one_day else "%d %b %H:%M"
    yield "%H:%M:%S" if one_day else "%d %b %H:%M:%S"


def date_ticks(days: Sequence[float]) -> list[str]:
    """Labels of x values in days since 1970 (UTC), as coarse as keeps them all different.

    Versions trained on one day read 09:12, 10:25...; a month of them 02 Dec, 09 Dec...
    """
    moments = [datetime.fromtimestamp(d * DAY, tz=UTC) for d in days]
    labels: list[str] = []
    for fmt in _date_formats(moments):
        labels = [m.strftime(fmt) for m in moments]
        if len(set(labels)) == len(labels):
            break
    return labels


def date_label(days: float) -> str:
    """One x value in days since 1970 (UTC) in full, for a point's tooltip."""
    return datetime.fromtimestamp(days * DAY, tz=UTC).strftime("%Y-%m-%d %H:%M")


def _axes(frame: Frame, labels: tuple[TickLabels, Label]) -> list[str]:
    """Horizontal grid lines with y labels, x labels, and the two axis lines."""
    x_ticks, y_label = labels
    parts = []
    for y in _ticks(frame.y0, frame.y1):
        sy = frame.sy(y)
        parts.append(
            f'<line x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{sy:.1f}" y2="{sy:.1f}" '
            f'stroke="#ddd"/><text x="{LEFT - 6}" y="{sy + 4:.1f}" font-size="11" '
            f'text-anchor="end" fill="#444">{escape(y_label(y))}</text>'
        )
    xs = _ticks(frame.x0, frame.x1)
    for x, label in zip(xs, x_ticks(xs), strict=True):
        parts.append(
            f'<text x="{frame.sx(x):.1f}" y="{TOP + PLOT_H + 18}" font-size="11" '
            f'text-anchor="middle" fill="#444">{escape(label)}</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + PLOT_H}" stroke="#888"/>'
        f'<line x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{TOP + PLOT_H}" y2="{TOP + PLOT_H}" '
        'stroke="#888"/>'
    )
    return parts


def _line(
    frame: Frame, i: int, name: str, pts: Sequence[Point], labels: tuple[Label, Label], dots: bool
) -> list[str]:
    """One series: its polyline and, if asked (or a lone point), a dot per point."""
    c, (x_label, y_label) = colour(i), labels
    parts = []
    if len(pts) > 1:
        path = " ".join(f"{frame.sx(x):.1f},{frame.sy(y):.1f}" for x, y in pts)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
    if dots or len(pts) == 1:
        parts.extend(
            f'<circle cx="{frame.sx(x):.1f}" cy="{frame.sy(y):.1f}" r="3.5" fill="{c}">'
            f"<title>{escape(name)}: {escape(y_label(y))} ({escape(x_label(x))})"
            "</title></circle>"
            for x, y in pts
        )
    return parts


def line_chart(
    series: dict[str, Sequence[Point]],
    *,
    title: str,
    x_label: Label = lambda x: f"{x:g}",
    x_ticks: TickLabels | None = None,
    y_label: Label = lambda y: f"{y:.3g}",
    y_from_zero: bool = True,
    dots: bool = True,
) -> SafeString:
    """Lines (with dots) per series over a shared x axis, and a legend on the right.

    ``x_label`` names a point's x (tooltips); ``x_ticks``, if given, names the axis's
    ticks all at once (date_ticks picks one format for all), else ``x_label`` does.
    """
    points = [p for pts in series.values() for p in pts]
    if not points:
        return _empty(title)
    frame = Frame.around(points, y_from_zero)
    ticks = x_ticks or (lambda xs: [x_label(x) for x in xs])
    parts = [_svg_open(title, HEIGHT), *_axes(frame, (ticks, y_label))]
    for i, (name, pts) in enumerate(series.items()):
        parts.extend(_line(frame, i, name, sorted(pts), (x_label, y_label), dots))
        parts.append(_legend_key(i, name, WIDTH - RIGHT + 12))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every label above is escaped


def stacked_bars(
    rows: Sequence[tuple[str, dict[str, float]]],
    *,
    title: str,
    unit: str = " s",
) -> SafeString:
    """One horizontal bar per row, split into segments per key, with a legend."""
    rows = [(label, {k: v for k, v in parts.items() if v and v > 0}) for label, parts in rows]
    rows = [(label, parts) for label, parts in rows if parts]
    if not rows:
        return _empty(title)
    keys = list(dict.fromkeys(k for _, parts in rows for k in parts))
    longest = max(sum(parts.values()) for _, parts in rows)
    bar_h, gap, left = 16, 6, 110
    height = TOP + len(rows) * (bar_h + gap) + BOTTOM
    height = max(height, TOP + 18 * len(keys) + 10)
    plot_w = WIDTH - left - RIGHT
    parts_svg = [_svg_open(title, height)]
    for r, (label, parts) in enumerate(rows):
        y = TOP + r * (bar_h + gap)
        parts_svg.append(
            f'<text x="{left - 6}" y="{y + 12}" font-size="11" text-anchor="end" '
            f'fill="#222">{escape(label)}</text>'
        )
        x = float(left)
        for k in keys:
            value = parts.get(k)
            if not value:
                continue
            w = value / longest * plot_w
            parts_svg.append(
                f'<rect x="{x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{bar_h}" '
                f'fill="{colour(keys.index(k))}"><title>{escape(label)} {escape(k)}: '
                f"{value:.2f}{escape(unit)}</title></rect>"
            )
            x += w
        parts_svg.append(
            f'<text x="{x + 4:.1f}" y="{y + 12}" font-size="11" fill="#444">'
            f"{sum(parts.values()):.1f}{escape(unit)}</text>"
        )
    parts_svg.extend(_legend_key(i, k, WIDTH - RIGHT + 40) for i, k in enumerate(keys))
    parts_svg.append("</svg>")
    return mark_safe("".join(parts_svg))  # noqa: S308 - every label above is escaped
