"""Product pictures drawn locally as SVG, deterministic from category and name.

The colour comes from a hash of the category (so a category's products look like a
family), the shape from the category too, and the product's initials and name are
written on it. No files, no network: the same product always gets the same bytes.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from xml.sax.saxutils import escape

from .models import Product

SIZE = 480
_CX, _CY = SIZE // 2, 200


def _digest(text: str) -> int:
    """A stable integer hash (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "big")


def _attr(text: str) -> str:
    """Escape text for a double-quoted XML attribute."""
    return escape(text, {'"': "&quot;"})


def initials(name: str) -> str:
    """Up to two initials from the product's words (letters or digits)."""
    words = re.findall(r"[^\W_]+", name)
    if not words:
        return "?"
    if words[0].isdigit():  # "10 Colour Pen" -> "10C", not "1C"
        return (words[0][:2] + (words[1][0] if len(words) > 1 else "")).upper()
    picked = [words[0][0]] + ([words[1][0]] if len(words) > 1 else [])
    return "".join(picked).upper()


def _shape(kind: int, fill: str) -> str:
    r = 104
    cx, cy = _CX, _CY
    if kind == 0:
        return f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{fill}"/>'
    if kind == 1:
        return (
            f'<rect x="{cx - r}" y="{cy - r}" width="{2 * r}" height="{2 * r}" rx="36" '
            f'fill="{fill}"/>'
        )
    if kind == 2:  # hexagon
        corners = ((1, 0), (0.5, 0.866), (-0.5, 0.866), (-1, 0), (-0.5, -0.866), (0.5, -0.866))
        pts = " ".join(f"{cx + r * c:.1f},{cy + r * s:.1f}" for c, s in corners)
        return f'<polygon points="{pts}" fill="{fill}"/>'
    if kind == 3:  # rounded diamond
        return (
            f'<rect x="{cx - 80}" y="{cy - 80}" width="160" height="160" rx="28" fill="{fill}" '
            f'transform="rotate(45 {cx} {cy})"/>'
        )
    if kind == 4:  # shopping bag
        return (
            f'<path d="M{cx - 62} {cy - 58} v-14 a62 62 0 0 1 124 0 v14" fill="none" '
            f'stroke="{fill}" stroke-width="16" stroke-linecap="round"/>'
            f'<rect x="{cx - 100}" y="{cy - 66}" width="200" height="170" rx="22" fill="{fill}"/>'
        )
    # two overlapping circles
    return (
        f'<circle cx="{cx - 38}" cy="{cy}" r="86" fill="{fill}" opacity="0.85"/>'
        f'<circle cx="{cx + 38}" cy="{cy}" r="86" fill="{fill}"/>'
    )


SHAPES = 6


def category_hue(slug: str) -> int:
    """The hue (0-359) that colours a category's pictures and tiles."""
    return _digest(slug) % 360


def product_svg(product: Product) -> str:
    """The SVG document for ``product``."""
    category = product.category.slug if product.category_id else ""
    cat_hash = _digest(category)
    hue = category_hue(category)
    shade = _digest(product.name) % 24 - 12  # products vary a little within a family
    kind = (cat_hash >> 9) % SHAPES
    bg_top = f"hsl({hue}, 60%, {93 + shade // 6}%)"
    bg_bottom = f"hsl({(hue + 24) % 360}, 55%, {84 + shade // 4}%)"
    shape = f"hsl({hue}, 52%, {42 + shade // 2}%)"
    text = f"hsl({hue}, 45%, 22%)"

    label = textwrap.wrap(product.name, width=26)[:2] or [""]
    if len(textwrap.wrap(product.name, width=26)) > 2:
        label[1] = label[1][:24].rstrip() + "…"
    lines = "".join(
        f'<text x="{_CX}" y="{372 + i * 32}" font-size="24" fill="{text}" '
        f'text-anchor="middle" font-weight="600">{escape(line)}</text>'
        for i, line in enumerate(label)
    )
    font = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" '
        f'width="{SIZE}" height="{SIZE}" role="img" aria-label="{_attr(product.name)}">'
        f'<defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1">'
        f'<stop offset="0" stop-color="{bg_top}"/><stop offset="1" stop-color="{bg_bottom}"/>'
        f"</linearGradient></defs>"
        f'<rect width="{SIZE}" height="{SIZE}" fill="url(#bg)"/>'
        f'<g font-family="{font}">'
        f"{_shape(kind, shape)}"
        f'<text x="{_CX}" y="{_CY + 26}" font-size="76" font-weight="700" fill="#fff" '
        f'text-anchor="middle" letter-spacing="2">{escape(initials(product.name))}</text>'
        f"{lines}</g></svg>"
    )


def image_version(product: Product) -> str:
    """A short token that changes when the picture would change (for cache busting)."""
    category = product.category.slug if product.category_id else ""
    return f"{_digest(category + '|' + product.name):x}"[:10]
