"""Product search over name, brand and description.

On PostgreSQL this is full-text search (stemmed, ranked: name and brand weigh more
than the description); elsewhere a case-insensitive substring match ranked by where
the words matched. Both return active products, best match first.
"""

from __future__ import annotations

import unicodedata

from django.db import connection
from django.db.models import Case, IntegerField, Q, Value, When

from .models import Product, ProductQuerySet

MAX_QUERY_LENGTH = 200


def normalise_query(raw: str | None) -> str:
    """Drop control and other invisible characters, collapse whitespace, bound the length.

    A NUL byte cannot even be sent to PostgreSQL in a query parameter, and no control
    character helps a search, so they become spaces.
    """
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in raw or "")
    return " ".join(text.split())[:MAX_QUERY_LENGTH]


def search_products(query: str) -> ProductQuerySet:
    """Active products matching ``query``, best first (empty query -> none)."""
    query = normalise_query(query)
    base = Product.objects.available().select_related("category")
    if not query:
        return base.none()
    if connection.vendor == "postgresql":
        return _postgres_search(base, query)
    return _substring_search(base, query)


def _postgres_search(base: ProductQuerySet, query: str) -> ProductQuerySet:
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    vector = (
        SearchVector("name", weight="A", config="english")
        + SearchVector("brand", weight="B", config="english")
        + SearchVector("description", weight="C", config="english")
    )
    search_query = SearchQuery(query, search_type="websearch", config="english")
    return (
        base.annotate(search=vector, rank=SearchRank(vector, search_query))
        .filter(search=search_query)
        .order_by("-rank", "name", "pk")
    )


def _substring_search(base: ProductQuerySet, query: str) -> ProductQuerySet:
    # Every word must appear somewhere; rank name hits above brand above description.
    words = query.split()
    matches = Q()
    for word in words:
        matches &= (
            Q(name__icontains=word) | Q(brand__icontains=word) | Q(description__icontains=word)
        )
    rank = Case(
        When(name__icontains=query, then=Value(3)),
        When(brand__icontains=query, then=Value(2)),
        When(Q(*(Q(name__icontains=w) for w in words)), then=Value(2)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return base.filter(matches).annotate(rank=rank).order_by("-rank", "name", "pk")
