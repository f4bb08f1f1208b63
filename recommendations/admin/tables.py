"""HTML tables of the admin's read-only fields: JSON objects and ranked product lists."""

from __future__ import annotations

import json
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from shop.models import Product

EMPTY = "—"
NOT_STAGES = {"precompute_started_at", "total"}  # timings keys that are no stage


def _cell(value: Any, digits: int = 4) -> Any:
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def dict_table(data: dict | None, unit: str = "", digits: int = 4) -> SafeString | str:
    """A JSON object as a two-column HTML table (nested objects become nested tables)."""
    if not data:
        return EMPTY
    if not isinstance(data, dict):
        return format_html("<code>{}</code>", json.dumps(data))

    def cell(value: Any) -> SafeString | str:
        if isinstance(value, dict):
            return dict_table(value, unit, digits)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return format_html("{}{}", _cell(value, digits), unit if number else "")

    rows = format_html_join(
        "",
        "<tr><th>{}</th><td>{}</td></tr>",
        ((key, cell(value)) for key, value in sorted(data.items())),
    )
    return format_html('<table class="recs-json">{}</table>', rows)


def product_link(product: Product | None, product_id: int) -> SafeString | str:
    """Link to the product's admin page (or its shop page), by name."""
    if product is None:
        return f"#{product_id} (deleted)"
    for name, args in (("admin:shop_product_change", [product.pk]), (None, None)):
        try:
            url = reverse(name, args=args) if name else product.get_absolute_url()
        except NoReverseMatch:
            continue
        return format_html('<a href="{}">{}</a> <small>{}</small>', url, product.name, product.sku)
    return format_html("{} <small>{}</small>", product.name, product.sku)


def ranked_table(product_ids: list, scores: list, reasons: list | None = None) -> SafeString | str:
    """A precomputed list as a table: rank, product, score, reason (one product query)."""
    if not product_ids:
        return EMPTY
    products = Product.objects.only("id", "name", "sku", "slug").in_bulk(product_ids)
    reasons = reasons or []
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                rank,
                product_link(products.get(pid), pid),
                _cell(scores[rank - 1]) if rank <= len(scores) else EMPTY,
                (reasons[rank - 1] if rank <= len(reasons) else "") or EMPTY,
            )
            for rank, pid in enumerate(product_ids, 1)
        ),
    )
    return format_html(
        "<table><thead><tr><th>Rank</th><th>Product</th><th>Score</th><th>Reason</th></tr>"
        "</thead><tbody>{}</tbody></table>",
        rows,
    )


def short_count(n: int) -> str:
    """A count in at most four characters and a suffix: 999, 23k, 1.2M."""
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if n >= size * 0.9995:  # 999,999 is "1.0M", not "1000k"
            value = n / size
            return f"{value:.1f}{suffix}" if value < 9.95 else f"{value:.0f}{suffix}"
    return str(n)


def short_duration(seconds: float) -> str:
    """Seconds as the two largest units: 12.3 s, 3m 25s, 1h 09m."""
    if seconds < 59.95:  # else "60.0 s"
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def numbers_title(data: dict | None, unit: str = "", digits: int = 4) -> str:
    """The number entries of a JSON object on one line each, for a title tooltip."""
    return "\n".join(
        f"{key}: {_cell(value, digits)}{unit}"
        for key, value in sorted((data or {}).items())
        if isinstance(value, int | float) and not isinstance(value, bool)
    )


def stage_seconds(timings: dict | None) -> dict[str, float]:
    """Seconds per pipeline stage of a version's timings (not the running precompute's start)."""
    return {
        key: float(value)
        for key, value in (timings or {}).items()
        if key not in NOT_STAGES and isinstance(value, int | float) and not isinstance(value, bool)
    }
