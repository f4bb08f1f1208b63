"""Product search over name, brand, category name and description.

On PostgreSQL this is full-text search (stemmed, websearch syntax, ranked: the name
weighs most, then brand and category, then the description) on the ``search_vector``
column that triggers keep (migration 0005) and a GIN index serves; elsewhere every
word must appear in one of those fields, ranked by where the words matched. Both
return active products, best match first.
"""

from __future__ import annotations

import unicodedata

from django.db import connection
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.db.models.expressions import RawSQL

from .models import Product, ProductQuerySet

MAX_QUERY_LENGTH = 200
# Points per query word by the field it is found in (the substring fallback's rank).
WORD_POINTS = (("name", 4), ("brand", 2), ("category__name", 2), ("description", 1))


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
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField

    # The column is the database's (triggers fill it), not a model field: rows are
    # never loaded with it, and every writer (bulk_create, COPY) keeps it right.
    vector = RawSQL(
        f'"{Product._meta.db_table}"."search_vector"', [], output_field=SearchVectorField()
    )
    search_query = SearchQuery(query, search_type="websearch", config="english")
    return (
        base.annotate(search=vector)
        .filter(search=search_query)
        .annotate(rank=SearchRank(F("search"), search_query))
        .order_by("-rank", "name", "pk")
    )


def _substring_search(base: ProductQuerySet, query: str) -> ProductQuerySet:
    # Every word must appear in some field; a word counts most where it weighs most.
    words = query.split()
    matches = Q()
    for word in words:
        in_a_field = (Q(**{f"{field}__icontains": word}) for field, _ in WORD_POINTS)
        matches &= Q(*in_a_field, _connector=Q.OR)
    rank = Value(0)
    for word in words:
        rank += Case(
            *(When(**{f"{field}__icontains": word}, then=Value(p)) for field, p in WORD_POINTS),
            default=Value(0),
            output_field=IntegerField(),
        )
    phrase = Case(When(name__icontains=query, then=Value(1)), default=Value(0))
    return (
        base.filter(matches)
        .annotate(rank=rank, phrase=phrase)
        .order_by("-phrase", "-rank", "name", "pk")
    )
