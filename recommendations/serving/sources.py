"""Where candidates come from: the shopper's cached state, related lists, trending.

Each reader is a fixed number of queries however long the lists are, and caches only
ids and scores (see cache.py); product rows are read fresh by core.recommend.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import uuid4

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Case, CharField, F, FloatField, Max, Q, Sum, Value, When
from django.db.models.functions import Least
from django.utils import timezone

from shop.models import Product

from ..models import Interaction, RelatedProducts, UserRecommendations
from ..weights import CELL_WEIGHT_CAP, KIND_WEIGHTS
from .cache import (
    ActiveVersion,
    local_get,
    local_set,
    page_memo,
    shared_value,
    shopper_key,
    shopper_seconds,
)
from .types import Shopper

# Kinds a shopper's recent products are blended by, with their weight.
BLEND_KINDS = {"similar": 1.0, "also_viewed": 0.8, "bought_together": 0.6}
STRONG_NEIGHBOURS = 10  # a reason names X only when the item is in X's top 10
RELATED_SECONDS = 600
TRENDING_KEY = "recs:trending"
TRENDING_SIZE = 120
# Memory PostgreSQL may use to group trending's cells in a hash table. The planner
# expects about one group per event (the real count is a few per product), so with the
# default 4 MB it sorted the week's events on disk: 0.50 s against 0.30 s hashed
# (medians, alternating), at 436,000 recent events. Asked for by this one query, once a minute.
TRENDING_WORK_MEM = "64MB"
RECENT_EVENTS = 50


@dataclass
class ShopperState:
    """One shopper's candidates, cached between their actions."""

    stamp: str = ""  # the active version stamp the state was built for
    personal: list[tuple[int, float, str]] = field(default_factory=list)  # precomputed list
    recent: list[tuple[int, str]] = field(default_factory=list)  # (product, kind), newest first
    hidden: list[int] = field(default_factory=list)  # marked "not interested"
    bought: list[int] = field(default_factory=list)
    # (product, category id, category slug, last purchase as a POSIX time)
    purchases: list[tuple[int, int, str, float]] = field(default_factory=list)
    # the last RECENT_EVENTS views and carts, newest first: ``recent`` is made from them
    events: list[tuple[int, str]] = field(default_factory=list)
    # new whenever the state is built or changes: what was ranked from it may be reused
    revision: str = field(default_factory=lambda: uuid4().hex)

    def just_bought(self) -> dict[int, int]:
        """Product -> category of what was bought within RECS_PURCHASE_DEMOTE_DAYS,
        outside RECS_REPEAT_CATEGORIES: its substitutes are demoted for a while."""
        recs = settings.RECOMMENDATIONS
        since = time.time() - 86400 * float(recs.get("PURCHASE_DEMOTE_DAYS", 14) or 0)
        repeat = set(recs.get("REPEAT_CATEGORIES", []) or [])
        return {
            pid: category
            for pid, category, slug, when in getattr(self, "purchases", ())
            if when >= since and slug not in repeat
        }

    def add_event(self, product_id: int, kind: str) -> None:
        """The shopper just viewed or carted a product (what a rebuild would read)."""
        self.events = [(product_id, kind), *self.events][:RECENT_EVENTS]
        self.recent = _recent(self.events)
        self.revision = uuid4().hex


def _recent(events: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """The distinct products of ``events`` (newest first), at most RECS_SESSION_ITEMS."""
    limit = settings.RECOMMENDATIONS.get("SESSION_ITEMS", 10)
    recent: list[tuple[int, str]] = []
    seen: set[int] = set()
    for pid, kind in events:
        if pid not in seen and len(recent) < limit:
            seen.add(pid)
            recent.append((pid, kind))
    return recent


def shopper_state(shopper: Shopper, version: ActiveVersion | None) -> ShopperState:
    """The shopper's precomputed list and recent behaviour (3 queries on a miss, else 0)."""
    stamp = version.stamp if version else ""
    key = shopper_key(shopper.user_id, shopper.anonymous_id)
    if not key:
        return ShopperState(stamp=stamp)
    memo = page_memo()
    if memo is not None:  # the page's widgets read the state once
        state = memo.get(("state", key))
        if isinstance(state, ShopperState) and state.stamp == stamp:
            return state
    state = shared_value(
        key,
        lambda: _read_state(shopper, version),
        shopper_seconds(),
        valid=lambda held: isinstance(held, ShopperState) and held.stamp == stamp,
        local=False,  # changed in place by remember_event, in any process
    )
    if memo is not None:
        memo[("state", key)] = state
    return state


def _read_state(shopper: Shopper, version: ActiveVersion | None) -> ShopperState:
    """The shopper's state from the database (3 queries)."""
    stamp = version.stamp if version else ""
    who = (
        Q(user_id=shopper.user_id)
        if shopper.user_id is not None
        else Q(user__isnull=True, anonymous_id=shopper.anonymous_id)
    )
    state = ShopperState(stamp=stamp)
    state.events = list(
        Interaction.objects.filter(who, kind__in=[Interaction.Kind.VIEW, Interaction.Kind.CART])
        .order_by("-created", "-pk")
        .values_list("product_id", "kind")[:RECENT_EVENTS]
    )
    state.recent = _recent(state.events)
    marks = (
        Interaction.objects.filter(
            who, kind__in=[Interaction.Kind.PURCHASE, Interaction.Kind.NOT_INTERESTED]
        )
        .order_by()
        .values_list("product_id", "kind", "product__category_id", "product__category__slug")
        .annotate(last=Max("created"))
    )
    for pid, kind, category, slug, last in marks:
        if kind == Interaction.Kind.PURCHASE:
            state.bought.append(pid)
            state.purchases.append((pid, category, slug, last.timestamp()))
        else:
            state.hidden.append(pid)
    if version is not None:
        lists = UserRecommendations.objects.filter(version_id=version.id)
        if shopper.user_id is not None:
            lists = lists.filter(user_id=shopper.user_id)
        else:
            lists = lists.filter(user__isnull=True, anonymous_id=shopper.anonymous_id)
        row = lists.values_list("product_ids", "scores", "reasons").first()
        if row:
            ids, scores, reasons = row
            state.personal = [
                (int(pid), float(scores[i]) if i < len(scores) else 0.0, _at(reasons, i))
                for i, pid in enumerate(ids)
            ]
    return state


def _at(values: list, i: int) -> str:
    return str(values[i]) if i < len(values) and values[i] else ""


Related = dict[str, tuple[list[int], list[float]]]  # kind -> (ids, scores)


def related_lists(version: ActiveVersion | None, product_ids: list[int]) -> dict[int, Related]:
    """Each product's related lists of the active version (one query for the uncached)."""
    if version is None or not product_ids:
        return {}
    keys = {pid: f"recs:related:{version.stamp}:{pid}" for pid in dict.fromkeys(product_ids)}
    out: dict[int, Related] = {}
    for pid, key in keys.items():  # a version stamp's lists never change: local copies
        hit = local_get(key)
        if hit is not None:
            out[pid] = hit
    shared = [k for pid, k in keys.items() if pid not in out]
    hits = cache.get_many(shared) if shared else {}
    for pid, key in keys.items():
        if key in hits:
            out[pid] = hits[key]
            local_set(key, hits[key], RELATED_SECONDS)
    missing = [pid for pid in keys if pid not in out]
    if missing:
        found: dict[int, Related] = {pid: {} for pid in missing}
        rows = RelatedProducts.objects.filter(
            version_id=version.id, product_id__in=missing
        ).values_list("product_id", "kind", "product_ids", "scores")
        for pid, kind, ids, scores in rows:
            found[pid][kind] = ([int(i) for i in ids], [float(s) for s in scores])
        cache.set_many({keys[pid]: value for pid, value in found.items()}, RELATED_SECONDS)
        for pid, value in found.items():
            local_set(keys[pid], value, RELATED_SECONDS)
        out.update(found)
    return out


def trending() -> list[tuple[int, int, float]]:
    """(product id, category id, score) by recent popularity, fresh for a minute
    (RECS_TRENDING_CACHE_SECONDS) and recomputed by one thread at a time, in the
    background once stale.

    Views, carts and purchases of the last RECS_TRENDING_DAYS, weighted, each shopper's
    weight on a product capped at CELL_WEIGHT_CAP (one client repeating an event cannot
    outweigh a crowd); when that window is quiet (a fresh or idle shop), all events
    count. Availability is not cached: callers filter fresh rows.
    """
    seconds = settings.RECOMMENDATIONS.get("TRENDING_CACHE_SECONDS", 60)
    return shared_value(TRENDING_KEY, _read_trending, seconds, background=True)


def _read_trending() -> list[tuple[int, int, float]]:
    days = settings.RECOMMENDATIONS.get("TRENDING_DAYS", 7)
    events = Interaction.objects.filter(
        kind__in=list(KIND_WEIGHTS), product__active=True, product__stock__gt=0
    )
    result = _popular(events.filter(created__gte=timezone.now() - timedelta(days=days)))
    if len(result) < TRENDING_SIZE // 4:
        older = _popular(events)
        taken = {pid for pid, _, _ in result}
        result += [row for row in older if row[0] not in taken][: TRENDING_SIZE - len(result)]
    if not result:  # no events at all: newest products
        result = [
            (pid, cat, 0.0)
            for pid, cat in Product.objects.in_stock()
            .order_by("-created", "-pk")
            .values_list("pk", "category_id")[:TRENDING_SIZE]
        ]
    return result


def _popular(events) -> list[tuple[int, int, float]]:
    """The TRENDING_SIZE products ``events`` weigh most on, each shopper's weight on a
    product capped (one query: capped cells per shopper and product, summed)."""
    weight = Case(
        *[When(kind=k, then=Value(w)) for k, w in KIND_WEIGHTS.items()],
        default=Value(0.0),
        output_field=FloatField(),
    )
    guest = Case(  # a signed-in shopper is their user, whatever guest ids they had
        When(user__isnull=True, then=F("anonymous_id")),
        default=Value(""),
        output_field=CharField(),
    )
    cells = (
        events.order_by()
        .values(pid=F("product_id"), cat=F("product__category_id"), uid=F("user_id"), guest=guest)
        .annotate(cell=Least(Sum(weight), Value(CELL_WEIGHT_CAP)))
    )
    sql, params = cells.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL work_mem = '{TRENDING_WORK_MEM}'")
        cursor.execute(
            f"SELECT pid, cat, SUM(cell) AS score FROM ({sql}) cells GROUP BY pid, cat "
            "ORDER BY score DESC, pid LIMIT %s",
            [*params, TRENDING_SIZE],
        )
        return [(pid, cat, float(score)) for pid, cat, score in cursor.fetchall()]
