"""The one serving path: what should this shopper see in this slot, now.

In the shape of Gorse's recommend logic: read the precomputed list, blend in the
neighbours of what this shopper just viewed or carted, drop what must not be shown
(checked on fresh product rows), fill from trending and content, re-rank for
diversity, explain. A fixed number of queries per call, whatever the list length.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import NamedTuple

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.db.models.base import ModelState

from shop.models import Category, Product

from .. import reasons
from ..diversity import mmr_rerank
from .cache import (
    ActiveVersion,
    page_memo,
    page_scope,
    ranked_get,
    ranked_set,
    serving_version,
)
from .sources import (
    BLEND_KINDS,
    STRONG_NEIGHBOURS,
    ShopperState,
    related_lists,
    shopper_state,
    trending,
)
from .types import PRODUCT_WIDGETS, WIDGET_KINDS, WIDGETS, Rules, Served, ServedItem, Shopper

SESSION_WEIGHT = 0.7  # share of the score from this session's products when there are some
DEMOTE = 0.3  # score factor of close neighbours of a product marked "not interested"
POOL = 3  # candidates considered per slot by the diversity re-ranking
CONTENT_POOL = 60
# Lists re-ranked for variety; "similar" and the other product lists stay close by design.
DIVERSE_WIDGETS = frozenset({"for-you", "trending", "complete-order"})
# Lists that favour complements over substitutes of what the shopper just bought.
AFTER_PURCHASE_WIDGETS = frozenset({"for-you", "trending"})
_WORD = re.compile(r"[a-z0-9]{3,}")


class Fact(NamedTuple):
    """The few fresh columns filtering, reasons and diversity need (no model instances)."""

    pk: int
    active: bool
    stock: int
    category_id: int
    category_slug: str
    category: str
    price: Decimal
    brand: str
    name: str
    tags: str
    created: datetime
    slug: str
    image: str
    sku: str


FACT_FIELDS = (
    "pk",
    "active",
    "stock",
    "category_id",
    "category__slug",
    "category__name",
    "price",
    "brand",
    "name",
    "tags",
    "created",
    "slug",
    "image",
    "sku",
)


def _facts(qs) -> dict[int, Fact]:
    return {row[0]: Fact(*row) for row in qs.order_by().values_list(*FACT_FIELDS)}


@dataclass(frozen=True)
class Newest:
    """The newest in-stock products of a category created after ``since``, but ``page``
    (the cold start of "similar": they have no learned neighbours yet)."""

    category_id: int
    since: datetime
    page: int

    def queryset(self):
        """Their ids, newest first, at most CONTENT_POOL."""
        return (
            Product.objects.in_stock()
            .filter(category_id=self.category_id, created__gt=self.since)
            .exclude(pk=self.page)
            .order_by("-created", "-pk")
            .values("pk")[:CONTENT_POOL]
        )


@functools.cache
def _facts_statement() -> tuple[str, str, tuple]:
    """PostgreSQL, made once: the facts SELECT by an array of ids; the same with the
    ``Newest`` ids appended to the array (an OR with a subquery would scan the table);
    and where the latter's parameters come from (a Newest field name, else a constant)."""
    select, _ = Product.objects.order_by().values_list(*FACT_FIELDS).query.sql_with_params()
    quote = connection.ops.quote_name
    pk = f"{quote(Product._meta.db_table)}.{quote(Product._meta.pk.column)}"
    # compiled once with stand-ins, to learn which parameter is which
    stand_in = Newest(
        category_id=-7_000_001, since=datetime(1901, 2, 3, tzinfo=UTC), page=-7_000_002
    )
    names = {stand_in.category_id: "category_id", stand_in.since: "since", stand_in.page: "page"}
    sub, params = stand_in.queryset().query.sql_with_params()
    slots = tuple((names[p], None) if p in names else ("", p) for p in params)
    return (
        f"{select} WHERE {pk} = ANY(%s)",
        f"{select} WHERE {pk} = ANY(%s::bigint[] || ARRAY({sub}))",
        slots,
    )


def _read_facts(ids: list[int], newest: Newest | None = None) -> dict[int, Fact]:
    """Facts of products ``ids`` and of the ``newest`` products, in one statement.

    On PostgreSQL a statement made once (the ids as one array parameter): building the
    queries with the ORM on every call cost longer than running them.
    """
    if connection.vendor != "postgresql":
        where = Q(pk__in=ids)
        if newest is not None:
            where |= Q(pk__in=newest.queryset())
        return _facts(Product.objects.filter(where))
    by_ids, with_newest, slots = _facts_statement()
    sql, params = by_ids, [list(ids)]
    if newest is not None:
        sql = with_newest
        params += [getattr(newest, name) if name else value for name, value in slots]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {row[0]: Fact._make(row) for row in cursor.fetchall()}


def _fresh_facts(
    ids: set[int], ahead: set[int] = frozenset(), newest: Newest | None = None
) -> tuple[dict[int, Fact], dict[int, Fact]]:
    """Facts of ``ids`` (absent: no such product), read once per page (see page_scope);
    and every row the query read, which includes the ``newest`` products.

    In a page scope, the facts of ``ahead`` are read in the same query when any of
    ``ids`` must be read (later widgets of the page find them in the memo).
    """
    memo = page_memo()
    known: dict[int, Fact | None] = {} if memo is None else memo.setdefault("facts", {})
    found: dict[int, Fact] = {}
    if newest is not None or any(pid not in known for pid in ids):
        missing = [pid for pid in (ids | ahead if memo is not None else ids) if pid not in known]
        found = _read_facts(missing, newest)
        for pid in missing:
            known[pid] = found.get(pid)
        known.update(found)
    return {pid: known[pid] for pid in ids if known[pid] is not None}, found


@dataclass
class _Candidate:
    pid: int
    score: float
    reason: tuple  # ("text", str) | ("product", verb, pid) | ("category",) | ("trending",)


@dataclass
class _Slot:
    """One request to fill: what is asked for and what is known of the shopper."""

    widget: str
    page_id: int | None
    page_category: int | None  # the page product's category, if the caller passed a Product
    cart_ids: list[int]
    limit: int
    rules: Rules
    version: ActiveVersion | None
    state: ShopperState
    hot: list  # trending (product id, category id, score), as deep as this slot needs
    diversity: float  # 0: no re-ranking
    just_bought: dict[int, int]  # product -> category: bought lately, substitutes demoted

    @property
    def context_ids(self) -> list[int]:
        """This session's products, the cart's and the page's: they explain and steer."""
        ids = [pid for pid, _ in self.state.recent] + self.cart_ids
        return ids if self.page_id is None else [*ids, self.page_id]

    @property
    def want(self) -> int:
        """Candidates to gather: more than the limit when re-ranking picks among them."""
        return self.limit * POOL if self.diversity or self.just_bought else self.limit

    @property
    def fills(self) -> bool:
        """Whether trending may top the list up (not for a product's own related lists)."""
        return self.widget not in ("bought-together", "also-viewed")


@dataclass
class _Shown:
    """The fresh facts read in this request and what they block."""

    rows: dict[int, Fact]
    blocked: set[int]
    rules: Rules

    def eligible(self, pid: int) -> Fact | None:
        """The product's facts if it may be shown in this slot."""
        return _eligible(self.rows.get(pid), self.blocked, self.rules)


def recommend(
    shopper: Shopper,
    widget: str,
    *,
    product: Product | int | None = None,
    cart: Iterable[int] = (),
    limit: int = 10,
    rules: Rules | None = None,
) -> Served:
    """The one serving path (widgets, API, admin). ValueError for an unknown widget.

    ``product``: the page's product (similar / bought-together / also-viewed need it);
    ``cart``: product ids in the cart (complete-order uses them; all widgets exclude them).
    """
    page_id = _page_id(widget, product)
    reads = _Reads.of(shopper, cart, limit)
    return _serve(reads, widget, product, page_id, rules or Rules()).served


def recommend_page(
    shopper: Shopper,
    widgets: Iterable[str],
    *,
    product: Product | int | None = None,
    cart: Iterable[int] = (),
    limit: int = 10,
    rules: Rules | None = None,
) -> dict[str, Served]:
    """The widgets of one page as one plan: the shopper's state, the version, trending
    and the product facts read once; no product in two widgets (``rules.exclude``, e.g.
    the page's own best sellers, in none). ValueError for an unknown widget.

    Widgets claim products in PLAN_ORDER (the scarce, specific lists first); for-you is
    left empty when nothing in it is the shopper's own (it would only repeat trending),
    and a product's bought-together or also-viewed row with fewer than MIN_RELATED.
    """
    widgets = list(dict.fromkeys(widgets))
    page_ids = {widget: _page_id(widget, product) for widget in widgets}
    rules = rules or Rules()
    claimed = set(rules.exclude)
    planned: dict[str, Served] = {}
    cold: Served | None = None  # a for-you with nothing of the shopper's own
    with _page_scope():
        reads = _Reads.of(shopper, cart, limit)
        for widget in sorted(widgets, key=PLAN_ORDER.index):
            own = replace(rules, exclude=frozenset(claimed))
            result = _serve(reads, widget, product, page_ids[widget], own)
            served = result.served
            if widget == "for-you" and "trending" in widgets and not result.personal:
                cold, served = served, Served(widget, served.version_id)  # trending says it
            planned[widget] = _fit_page(served)
            claimed.update(served.product_ids)
    if cold is not None and not planned["trending"]:  # nothing trending: keep it after all
        planned["for-you"] = cold
    return {widget: planned[widget] for widget in widgets}


def demoted_with(shopper: Shopper, product_id: int) -> int:
    """How many available products are demoted with ``product_id`` when ``shopper``
    marks it "not interested" (its close neighbours in the shopper's version)."""
    version = serving_version(shopper.user_id, shopper.anonymous_id)
    close = close_neighbours(related_lists(version, [product_id]), [product_id])
    return Product.objects.in_stock().filter(pk__in=close).count() if close else 0


# The order in which a page's widgets claim products: what only one list can show
# (complements) before what others could fill (similar, trending).
PLAN_ORDER = ("bought-together", "complete-order", "for-you", "similar", "also-viewed", "trending")
MIN_RELATED = 3  # a product's bought-together / also-viewed row with fewer is not shown


def _page_scope():
    """The current page's scope, or a new one for this plan (API, shell, admin)."""
    return nullcontext() if page_memo() is not None else page_scope({})


def _fit_page(served: Served) -> Served:
    """The list as the page shows it: emptied when too short to stand as a row (a
    product's own related lists)."""
    if served.widget in ("bought-together", "also-viewed") and len(served) < MIN_RELATED:
        served.items = []
    return served


@dataclass(frozen=True)
class _Reads:
    """What every widget of a page reads alike: the version, the shopper, trending."""

    shopper: Shopper
    cart_ids: list[int]
    limit: int
    version: ActiveVersion | None
    state: ShopperState
    hot: list

    @classmethod
    def of(cls, shopper: Shopper, cart: Iterable[int], limit: int) -> _Reads:
        """Read them (each cached; see cache.py)."""
        version = serving_version(shopper.user_id, shopper.anonymous_id)  # A/B arm or active
        limit = max(0, int(limit))
        state = shopper_state(shopper, version) if limit else ShopperState()
        hot = trending() if limit else []
        return cls(shopper, [int(pid) for pid in cart], limit, version, state, hot)


class _Result(NamedTuple):
    """A widget's list and how many of its items came from the shopper's own list or
    history (not from trending or its category fill)."""

    served: Served
    personal: int


def _serve(
    reads: _Reads, widget: str, product: Product | int | None, page_id: int | None, rules: Rules
) -> _Result:
    """One widget's list from the page's shared reads."""
    version, state, hot, limit = reads.version, reads.state, reads.hot, reads.limit
    if limit == 0:
        return _Result(Served(widget=widget, version_id=version.id if version else None), 0)
    cart_ids = reads.cart_ids
    again = _ranking_key(widget, reads.shopper, state, version, limit, rules, cart_ids, hot)
    if again is not None:
        kept = _reuse(again, widget, version, state, cart_ids, rules, hot)
        if kept is not None:
            return kept
    slot = _Slot(
        widget=widget,
        page_id=page_id,
        page_category=getattr(product, "category_id", None),
        cart_ids=cart_ids,
        limit=limit,
        rules=rules,
        version=version,
        state=state,
        hot=hot[: _depth(limit) * 2],
        diversity=_diversity() if widget in DIVERSE_WIDGETS else 0.0,
        just_bought=state.just_bought() if widget in AFTER_PURCHASE_WIDGETS else {},
    )
    related = related_lists(version, [*slot.context_ids, *state.hidden, *slot.just_bought])
    primary = _primary(slot, related)
    shown, newest = _read_fresh_facts(slot, primary, related)
    chosen = _choose_primary(slot, primary, shown)
    _add_content_neighbours(slot, chosen, shown, bool(primary), newest)
    _fill_from_trending(slot, chosen, shown, primary)
    _fill_from_catalogue(slot, chosen, shown)
    _demote_substitutes(slot, chosen, shown.rows, related)
    ranked = _rerank(slot, chosen, shown.rows)
    if again is not None:
        ranked_set(again, ranked)
    return _Result(_served_list(widget, version, ranked, shown.rows), _personal(ranked))


def _personal(ranked: list[_Candidate]) -> int:
    """How many candidates came from the shopper's precomputed list or the neighbours
    of their recent products (not from trending or its category fill)."""
    return sum(c.reason[0] in ("text", "product") for c in ranked)


def _page_id(widget: str, product: Product | int | None) -> int | None:
    """The page product's id; ValueError for an unknown widget or a missing product."""
    if widget not in WIDGETS:
        raise ValueError(f"unknown widget {widget!r}; choose from {', '.join(WIDGETS)}")
    page_id = getattr(product, "pk", product)
    page_id = int(page_id) if page_id is not None else None
    if widget in PRODUCT_WIDGETS and page_id is None:
        raise ValueError(f"the {widget} widget needs a product")
    return page_id


def _primary(slot: _Slot, related: dict) -> list[_Candidate]:
    """The widget's own candidates, best first: the precomputed list blended with this
    session's neighbours (for-you), the cart's (complete-order) or the page's."""
    if slot.widget == "for-you":
        primary = _for_you(slot.state, related)
    elif slot.widget == "trending":
        primary = []
    elif slot.widget == "complete-order":
        primary = _complete_order(slot.cart_ids, related)
    else:
        primary = _related(slot.widget, slot.page_id, related)
    _demote(primary, slot.state.hidden, related)
    return sorted(primary, key=lambda c: (-c.score, c.pid))[: _depth(slot.limit) * 3]


def _read_fresh_facts(
    slot: _Slot, primary: list[_Candidate], related: dict
) -> tuple[_Shown, list[Fact] | None]:
    """Fresh facts (the few columns a card needs) of the best candidates, the context and
    every product a reason may name, in one query; and the page category's newest
    products when "similar" needs them (None: not read)."""
    skip = _blocked(slot.state, slot.cart_ids, slot.page_id, slot.widget) | slot.rules.exclude
    best = [c.pid for c in primary if c.pid not in skip][: 2 * slot.want]
    ids = set(best) | set(slot.context_ids)
    if slot.fills and len(best) < 2 * slot.want:  # the list alone will not fill
        ids |= {pid for pid, _, _ in slot.hot}
    memo = page_memo()
    key = ("newest", slot.page_id)
    known = memo.get(key) if memo is not None else None  # read by an earlier widget
    newest = None if known is not None else _newest_query(slot, primary, related)
    rows, read = _fresh_facts(ids, _ahead(slot, related), newest)
    if newest is not None:
        known = _newest_read(slot, read)
        if memo is not None:
            memo[key] = known
    blocked = _blocked(slot.state, slot.cart_ids, slot.page_id, slot.widget, rows)
    shown = _Shown(rows=rows, blocked=blocked, rules=slot.rules)
    return shown, (known if slot.widget == "similar" and primary else None)


def _ahead(slot: _Slot, related: dict) -> set[int]:
    """Products the page's other widgets will want facts of (read in the same query,
    only when the page's widgets share a memo)."""
    if slot.widget == "for-you":  # the home page shows trending too
        return {pid for pid, _, _ in slot.hot}
    if slot.page_id is not None and page_memo() is not None:
        ids = {pid for pids, _ in related.get(slot.page_id, {}).values() for pid in pids}
        # short lists, shared by the page's widgets: "similar" will fill from trending
        return ids | {pid for pid, _, _ in slot.hot} if len(ids) < 4 * slot.limit else ids
    return set()


def _newest_query(slot: _Slot, primary: list[_Candidate], related: dict) -> Newest | None:
    """New products of the page's category, read with the facts: the cold start of
    "similar" for products created after the version learned its neighbours (read by
    the page's first product widget when the page's widgets share a memo)."""
    if slot.version is None or slot.page_category is None:
        return None
    if slot.widget == "similar":
        return _page_newest(slot) if primary else None
    learned = related.get(slot.page_id, {}).get("similar")
    if slot.widget in PRODUCT_WIDGETS and learned and page_memo() is not None:
        return _page_newest(slot)
    return None


def _page_newest(slot: _Slot) -> Newest:
    return Newest(category_id=slot.page_category, since=slot.version.created, page=slot.page_id)


def _newest_read(slot: _Slot, read: dict[int, Fact]) -> list[Fact]:
    """What the Newest subquery selected (the facts query may have read more rows)."""
    since = slot.version.created
    return sorted(
        (
            f
            for f in read.values()
            if f.category_id == slot.page_category
            and f.created > since
            and f.active
            and f.stock > 0
            and f.pk != slot.page_id
        ),
        key=lambda f: (f.created, f.pk),
        reverse=True,
    )[:CONTENT_POOL]


def _choose_primary(slot: _Slot, primary: list[_Candidate], shown: _Shown) -> dict[int, _Candidate]:
    """The primary candidates that may be shown; when filters (inactive, sold out,
    per-request rules) took too many, the rest of the list and trending are read too."""
    chosen = {c.pid: c for c in primary if c.pid in shown.rows and shown.eligible(c.pid)}
    if len(chosen) < slot.want:
        skip = _blocked(slot.state, slot.cart_ids, slot.page_id, slot.widget)
        skip |= slot.rules.exclude
        more = {c.pid for c in primary}
        if slot.fills:
            more |= {pid for pid, _, _ in slot.hot}
        shown.rows.update(_fresh_facts(more - skip - shown.rows.keys())[0])
        chosen = {c.pid: c for c in primary if shown.eligible(c.pid)}
    return chosen


def _add_content_neighbours(
    slot: _Slot,
    chosen: dict[int, _Candidate],
    shown: _Shown,
    learned: bool,
    newest: list[Fact] | None,
) -> None:
    """Content neighbours of the page's product for "similar" (its cold start)."""
    page = shown.rows.get(slot.page_id) if slot.page_id is not None else None
    if slot.widget != "similar" or page is None:
        return
    pool = newest if page.category_id == slot.page_category else None
    for cand in _content(page, slot.version, shown.rows, learned, pool):
        if cand.pid not in chosen and shown.eligible(cand.pid) and cand.pid != slot.page_id:
            chosen[cand.pid] = cand


def _fill_from_trending(
    slot: _Slot, chosen: dict[int, _Candidate], shown: _Shown, primary: list[_Candidate]
) -> None:
    """Top up from trending, first in the shopper's (or page's, cart's) categories."""
    if len(chosen) >= slot.want or not slot.fills:
        return
    rows = shown.rows
    categories = {rows[pid].category_id for pid in slot.context_ids if pid in rows}
    categories |= {rows[c.pid].category_id for c in primary[:10] if c.pid in rows}
    top = max((c.score for c in chosen.values()), default=1.0) or 1.0
    fill = [(pid, cat, score) for pid, cat, score in slot.hot if pid not in chosen]
    trending_slot = slot.widget == "trending"
    if not trending_slot:
        fill.sort(key=lambda row: row[1] not in categories)  # stable: popularity order
    for rank, (pid, cat, _) in enumerate(fill):
        if len(chosen) >= slot.want:
            break
        if shown.eligible(pid):
            reason = ("category",) if cat in categories and not trending_slot else None
            score = top * 0.5 * (1.0 - rank / (len(fill) + 1))
            if trending_slot:
                score = 1.0 - rank / (len(fill) + 1)
            chosen[pid] = _Candidate(pid, score, reason or ("trending",))


def _fill_from_catalogue(slot: _Slot, chosen: dict[int, _Candidate], shown: _Shown) -> None:
    """When the request's own filters (category, price) leave the list short of its
    limit, top it up with the newest products that match them: trending holds only
    the most popular hundred or so, which a narrow filter may barely touch."""
    rules = slot.rules
    filtered = rules.category or rules.min_price is not None or rules.max_price is not None
    if len(chosen) >= slot.want or not slot.fills or not filtered:
        return
    matching = Product.objects.in_stock()
    if rules.category:
        matching = matching.filter(category__slug=rules.category)
    if rules.min_price is not None:
        matching = matching.filter(price__gte=rules.min_price)
    if rules.max_price is not None:
        matching = matching.filter(price__lte=rules.max_price)
    skip = set(chosen) | shown.blocked | rules.exclude
    ids = list(
        matching.exclude(pk__in=skip)
        .order_by("-created", "-pk")
        .values_list("pk", flat=True)[: 2 * slot.want]
    )
    shown.rows.update(_fresh_facts(set(ids) - shown.rows.keys())[0])
    floor = min((c.score for c in chosen.values()), default=1.0) * 0.5
    for rank, pid in enumerate(ids):
        if len(chosen) >= slot.want:
            break
        if shown.eligible(pid):
            chosen[pid] = _Candidate(pid, floor * (1.0 - rank / (len(ids) + 1)), ("new",))


def _rerank(slot: _Slot, chosen: dict[int, _Candidate], rows: dict) -> list[_Candidate]:
    """The best ``limit`` candidates, re-ranked for variety where the widget wants it."""
    ranked = sorted(chosen.values(), key=lambda c: (-c.score, c.pid))
    if slot.diversity > 0 and len(ranked) > 1:
        similarity = _similarities([rows[c.pid] for c in ranked])
        picked = mmr_rerank(
            np.arange(len(ranked)),
            np.array([c.score for c in ranked]),
            similarity,
            slot.diversity,
            slot.limit,
        )
        ranked = [ranked[p] for p in picked]
    return ranked[: slot.limit]


def _depth(limit: int) -> int:
    """Candidates per source: enough to fill after filters, never the whole table."""
    return max(limit * POOL, 24)


def _ranking_key(
    widget: str,
    shopper: Shopper,
    state: ShopperState,
    version: ActiveVersion | None,
    limit: int,
    rules: Rules,
    cart_ids: list[int],
    hot: list,
) -> tuple | None:
    """Everything a for-you or trending ranking came from (None for other widgets).

    For-you: the shopper's state revision (new whenever they act). Trending: only what
    the shopper may not be shown, so shoppers with nothing hidden or bought share it.
    """
    if widget == "for-you" and shopper.is_known:
        whose: tuple = (shopper.key, state.revision)
    elif widget == "trending":
        whose = (tuple(sorted(state.hidden)), tuple(sorted(state.bought)))
    else:
        return None
    return (
        *whose,
        version.stamp if version else "",
        widget,
        limit,
        rules,
        tuple(cart_ids),
        _ranking_settings(),
        hash(tuple(pid for pid, _, _ in hot)),
    )


def _reuse(
    key: tuple,
    widget: str,
    version: ActiveVersion | None,
    state: ShopperState,
    cart_ids: list[int],
    rules: Rules,
    hot: list,
) -> _Result | None:
    """The ranking this process made from exactly ``key``, if kept and if every product
    in it still qualifies on this request's fresh rows (its reasons from those rows)."""
    ranked = ranked_get(key)
    if ranked is None:
        return None
    named = {c.reason[2] for c in ranked if c.reason[0] in ("product", "page")}
    ahead = set()
    if widget == "for-you":  # the home page shows trending too: what the main path reads
        ahead = {pid for pid, _, _ in hot[: 2 * _depth(len(ranked))]}
    rows = _fresh_facts({c.pid for c in ranked} | named, ahead)[0]
    blocked = _blocked(state, cart_ids, None, widget, rows)
    if not all(_eligible(rows.get(c.pid), blocked, rules) for c in ranked):
        return None
    return _Result(_served_list(widget, version, ranked, rows), _personal(ranked))


def _eligible(row: Fact | None, blocked: set[int], rules: Rules) -> Fact | None:
    """``row`` if its product may be shown here: it exists, is active and in stock, is
    not blocked for this shopper and passes the request's rules."""
    if row is None or row.pk in blocked or not (row.active and row.stock > 0):
        return None
    return row if rules.allows(row.pk, row.category_slug, row.price) else None


def _served_list(
    widget: str, version: ActiveVersion | None, ranked: list[_Candidate], rows: dict
) -> Served:
    """The served list: products made from the fresh facts read in this request (all a
    card or the API shows; the description is deferred), no second query."""
    db = Product.objects.db
    items = [
        ServedItem(
            product=_product(rows[c.pid], db),
            score=round(float(c.score), 6),
            reason=_reason(c, rows, rows[c.pid]),
        )
        for c in ranked
    ]
    return Served(widget=widget, version_id=version.id if version else None, items=items)


def _product(fact: Fact, db: str = "default") -> Product:
    """A Product (with its category) made from fresh facts, as a query with
    select_related would load it; the column facts leave out (description) is deferred.

    Built the way Django's row loading fills an instance (attributes, a loaded state, the
    category in the relation cache) without ``Model.__init__``: its per-field work and
    init signals cost eight times as much, for ten products on every list.
    """
    product = Product.__new__(Product)
    product.__dict__.update(
        id=fact.pk,
        name=fact.name,
        slug=fact.slug,
        price=fact.price,
        category_id=fact.category_id,
        brand=fact.brand,
        tags=fact.tags,
        stock=fact.stock,
        active=fact.active,
        created=fact.created,
        image=fact.image,
        sku=fact.sku,
    )
    category = Category.__new__(Category)
    category.__dict__.update(id=fact.category_id, name=fact.category, slug=fact.category_slug)
    product._state, category._state = _loaded(db), _loaded(db)
    product._state.fields_cache["category"] = category
    return product


def _loaded(db: str) -> ModelState:
    state = ModelState()
    state.adding, state.db = False, db
    return state


def _ranking_settings() -> tuple:
    """The settings a ranking depends on (part of the key it is reused by)."""
    recs = settings.RECOMMENDATIONS
    return (
        _diversity(),
        bool(recs.get("EXCLUDE_PURCHASED", True)),
        tuple(recs.get("REPEAT_CATEGORIES", []) or []),
        recs.get("PURCHASE_DEMOTE_DAYS", 14),
    )


def _diversity() -> float:
    value = float(settings.RECOMMENDATIONS.get("DIVERSITY", 0.0) or 0.0)
    return min(max(value, 0.0), 1.0)


def _for_you(state: ShopperState, related: dict) -> list[_Candidate]:
    """The precomputed list blended with the neighbours of this session's products."""
    out: dict[int, _Candidate] = {}
    n = len(state.personal)
    session = _session_scores(state, related)
    alpha = SESSION_WEIGHT if session else 0.0
    for rank, (pid, _, reason) in enumerate(state.personal):
        score = (1.0 - alpha) * (1.0 - rank / (n + 1))
        out[pid] = _Candidate(pid, score, ("text", reason or reasons.TRENDING))
    top = max((s for s, _ in session.values()), default=0.0) or 1.0
    for pid, (score, source) in session.items():
        part = alpha * score / top
        cand = out.get(pid)
        if cand is None:
            out[pid] = _Candidate(pid, part, source)
        else:
            if part >= cand.score:  # the session explains more of the score than the model
                cand.reason = source
            cand.score += part
    return list(out.values())


def _session_scores(state: ShopperState, related: dict) -> dict[int, tuple[float, tuple]]:
    """Neighbour -> (summed weight, reason naming the recent product it is closest to)."""
    out: dict[int, tuple[float, tuple]] = {}
    best: dict[int, float] = {}
    bought, just_bought = set(state.bought), state.just_bought()
    for i, (pid, kind) in enumerate(state.recent):
        recency = 1.0 / (1.0 + 0.4 * i)
        verb = "bought" if pid in bought else "carted" if kind == "cart" else "viewed"
        # after a purchase, what goes with it rather than more of the same
        kinds = {"bought_together": 1.0} if pid in just_bought else BLEND_KINDS
        for rkind, weight in kinds.items():
            ids = related.get(pid, {}).get(rkind, ([], []))[0][:STRONG_NEIGHBOURS]
            for rank, nid in enumerate(ids):
                part = recency * weight * (1.0 - rank / (2 * STRONG_NEIGHBOURS))
                total, reason = out.get(nid, (0.0, ("product", verb, pid)))
                if part > best.get(nid, 0.0):
                    best[nid], reason = part, ("product", verb, pid)
                out[nid] = (total + part, reason)
    return out


def _related(widget: str, page_id: int, related: dict) -> list[_Candidate]:
    """The page product's precomputed related list of the widget's kind."""
    ids, scores = related.get(page_id, {}).get(WIDGET_KINDS[widget], ([], []))
    top = max(scores, default=0.0) or 1.0
    verb = {"similar": "similar", "bought-together": "bought", "also-viewed": "also"}[widget]
    return [
        _Candidate(pid, (scores[i] if i < len(scores) else 0.0) / top, ("page", verb, page_id))
        for i, pid in enumerate(ids)
    ]


def _complete_order(cart_ids: list[int], related: dict) -> list[_Candidate]:
    """Bought-together (then also-viewed) neighbours of the cart's products."""
    out: dict[int, _Candidate] = {}
    for kind, weight, verb in (("bought_together", 1.0, "bought"), ("also_viewed", 0.5, "also")):
        for pid in cart_ids:
            ids = related.get(pid, {}).get(kind, ([], []))[0]
            for rank, nid in enumerate(ids):
                part = weight * (1.0 - rank / (len(ids) + 1))
                cand = out.get(nid)
                if cand is None:
                    out[nid] = _Candidate(nid, part, ("page", verb, pid))
                else:
                    cand.score += part
    return list(out.values())


def close_neighbours(related: dict, product_ids: Iterable[int]) -> set[int]:
    """The strong similar and also-viewed neighbours of ``product_ids`` (their
    substitutes, in the eyes of a shopper), but those products themselves."""
    ids = set(product_ids)
    close = {
        nid
        for pid in ids
        for kind in ("similar", "also_viewed")
        for nid in related.get(pid, {}).get(kind, ([], []))[0][:STRONG_NEIGHBOURS]
    }
    return close - ids


def _demote(cands: list[_Candidate], hidden: list[int], related: dict) -> None:
    """Lower the close neighbours of products the shopper is not interested in."""
    close = close_neighbours(related, hidden)
    for cand in cands:
        if cand.pid in close:
            cand.score *= DEMOTE


def _demote_substitutes(
    slot: _Slot, chosen: dict[int, _Candidate], rows: dict, related: dict
) -> None:
    """Lower the close neighbours of a product just bought in its own category (more
    grinders after a grinder), but not its bought-together complements."""
    for pid, category in slot.just_bought.items():
        complements = set(related.get(pid, {}).get("bought_together", ([], []))[0])
        for nid in close_neighbours(related, [pid]) - complements:
            cand = chosen.get(nid)
            if cand is not None and nid in rows and rows[nid].category_id == category:
                cand.score *= DEMOTE


def _blocked(
    state: ShopperState,
    cart_ids: list[int],
    page_id: int | None,
    widget: str,
    rows: dict | None = None,
) -> set[int]:
    """Products this shopper must not be shown here (fresh rows decide the rest).

    Without ``rows`` (before the facts are read): what is surely blocked, leaving out
    purchases a repeat category may allow.
    """
    blocked = set(cart_ids) | set(state.hidden)
    if widget == "for-you":  # what the shopper just looked at is named in reasons, not listed
        blocked |= {pid for pid, _ in state.recent}
    if page_id is not None:
        blocked.add(page_id)
    if settings.RECOMMENDATIONS.get("EXCLUDE_PURCHASED", True):
        repeat = set(settings.RECOMMENDATIONS.get("REPEAT_CATEGORIES", []) or [])
        if rows is not None:
            blocked |= {
                pid
                for pid in state.bought
                if not (pid in rows and rows[pid].category_slug in repeat)
            }
        elif not repeat:
            blocked |= set(state.bought)
    return blocked


def _content(
    page: Fact,
    version: ActiveVersion | None,
    rows: dict,
    learned: bool,
    newest: list[Fact] | None = None,
) -> list[_Candidate]:
    """Content neighbours in the page's category (cold start, one query unless
    ``newest``, the candidates already read with the facts, is given).

    With learned neighbours, only products created after the version was trained
    (they have none yet); without, any product of the category.
    """
    if newest is None:
        qs = Product.objects.in_stock().filter(category_id=page.category_id).exclude(pk=page.pk)
        if learned and version is not None:
            qs = qs.filter(created__gt=version.created)
        newest = list(
            map(
                Fact._make,
                qs.order_by("-created", "-pk").values_list(*FACT_FIELDS)[:CONTENT_POOL],
            )
        )
    out = []
    for row in newest:
        rows.setdefault(row.pk, row)
        sim = _text_similarity(page, row)
        score = 0.2 + 0.6 * sim if learned else 0.1 + 0.9 * sim
        reason = ("page", "similar", page.pk) if sim >= 0.35 else ("category",)
        out.append(_Candidate(row.pk, score, reason))
    return out


def _words(product: Fact) -> set[str]:
    return set(_WORD.findall(f"{product.name} {product.tags}".lower()))


def _text_similarity(a: Fact, b: Fact) -> float:
    """Brand and name/tag words shared by two products of one category, in [0, 1]."""
    wa, wb = _words(a), _words(b)
    jaccard = len(wa & wb) / len(wa | wb) if wa and wb else 0.0
    brand = 1.0 if a.brand and a.brand == b.brand else 0.0
    return 0.5 * brand + 0.5 * min(1.0, 2 * jaccard)


def _similarity(a: Fact | Product, b: Fact | Product) -> float:
    """How alike two listed products look to a shopper (diversity): category, brand."""
    return 0.7 * (a.category_id == b.category_id) + 0.3 * bool(a.brand and a.brand == b.brand)


def _similarities(facts: list[Fact]):
    """``_similarity`` of listed products by position, vectorised for mmr_rerank:
    ``fn(positions, pos)`` gives the similarity of each of ``positions`` to ``pos``."""
    codes: dict[str, int] = {"": -1}  # no brand is never the same brand
    category = np.array([f.category_id for f in facts])
    brand = np.array([codes.setdefault(f.brand, len(codes)) for f in facts])

    def similarity(positions: np.ndarray, pos: int) -> np.ndarray:
        same_brand = (brand[positions] == brand[pos]) & (brand[pos] >= 0)
        return 0.7 * (category[positions] == category[pos]) + 0.3 * same_brand

    return similarity


def _reason(cand: _Candidate, rows: dict, product: Fact) -> str:
    """The visible reason; a product is named only when the item is its strong neighbour."""
    kind = cand.reason[0]
    if kind == "text":
        return cand.reason[1]
    if kind in ("product", "page"):
        named = rows.get(cand.reason[2])
        if named is not None:
            return _NAMING[kind, cand.reason[1]](reasons.short_name(named.name, named.brand))
    if kind in ("category", "product", "page"):
        return reasons.popular_in(product.category)
    if kind == "new":
        return reasons.new_in(product.category)
    return reasons.TRENDING


# (candidate source, verb) -> the reason naming the product it came from
_NAMING = {
    ("product", "viewed"): reasons.because_viewed,
    ("product", "carted"): reasons.because_added,
    ("product", "bought"): reasons.because_bought,
    ("page", "similar"): reasons.similar_to,
    ("page", "bought"): reasons.bought_with,
    ("page", "also"): reasons.viewed_with,
}
