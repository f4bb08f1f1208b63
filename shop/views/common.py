"""Small helpers shared by the shop views."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest

PER_PAGE = 24

# ?sort= value -> (label, ordering). The first entry is the default.
SORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "name": ("Name A–Z", ("name", "pk")),
    "price": ("Price: low to high", ("price", "name", "pk")),
    "-price": ("Price: high to low", ("-price", "name", "pk")),
    "newest": ("Newest first", ("-created", "-pk")),
}


def sorted_by(request: HttpRequest, queryset: QuerySet) -> tuple[QuerySet, str]:
    """Apply the ?sort= ordering (unknown values fall back to the default)."""
    key = request.GET.get("sort", "")
    if key not in SORTS:
        key = next(iter(SORTS))
    return queryset.order_by(*SORTS[key][1]), key


def paginate(request: HttpRequest, queryset: QuerySet) -> Page:
    """One page of ``queryset``; bad or out-of-range ?page= values give a valid page."""
    return Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
