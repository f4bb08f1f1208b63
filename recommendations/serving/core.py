"""The one serving path: what should this shopper see in this slot, now.

In the shape of Gorse's recommend logic: read the precomputed list, blend in the
neighbours of what this shopper just viewed or carted, drop what must not be shown
(checked on fresh product rows), fill from trending and content, re-rank for
diversity, explain. A fixed number of queries per call, whatever the list length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

import numpy as np
from django.conf import settings
from django.db.models import Q

from shop.models import Category, Product

from ..diversity import mmr_rerank
from .cache import ActiveVersion, page_memo, serving_version
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
TRENDING = "Trending now"
# Lists re-ranked for variety; "similar" and the other product lists stay close by design.
DIVERSE_WIDGETS = frozenset({"for-you", "trending", "complete-order"})
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
)


def _facts(qs) -> dict[int, Fact]:
    return {row[0]: Fact(*row) for row in qs.order_by().values_list(*FACT_FIELDS)}


def _fresh_facts(
    ids: set[int], ahead: set[int] = frozenset(), also=None
) -> tuple[dict[int, Fact], dict[int, Fact]]:
    """Facts of ``ids`` (absent: no such product), read once per page (see page_scope);
    and every row the query read, which includes the products of queryset ``also``.

    In a page scope, the facts of ``ahead`` are read in the same query when any of
    ``ids`` must be read (later widgets of the page find them in the memo).
    """
    memo = page_memo()
    known: dict[int, Fact | None] = {} if memo is None else memo.setdefault("facts", {})
    found: dict[int, Fact] = {}
    if also is not None or any(pid not in known for pid in ids):
        missing = [pid for pid in (ids | ahead if memo is not None else ids) if pid not in known]
        where = Q(pk__in=missing)
        if also is not None:
            where |= Q(pk__in=also)
        found = _facts(Product.objects.filter(where))
        for pid in missing:
            known[pid] = found.get(pid)
        known.update(found)
    return {pid: known[pid] for pid in ids if known[pid] is not None}, found


@dataclass
class _Candidate:
    pid: int
    score: float
    reason: tuple  # ("text", str) | ("product", verb, pid) | ("category",) | ("trending",)


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
    if widget not in WIDGETS:
        raise ValueError(f"unknown widget {widget!r}; choose from {', '.join(WIDGETS)}")
    page_id = getattr(product, "pk", product)
    page_id = int(page_id) if page_id is not None else None
    if widget in PRODUCT_WIDGETS and page_id is None:
        raise ValueError(f"the {widget} widget needs a product")
    rules = rules or Rules()
    cart_ids = [int(pid) for pid in cart]
    version = serving_version(shopper.user_id, shopper.anonymous_id)  # A/B arm or active
    limit = max(0, int(limit))
    if limit == 0:
        return Served(widget=widget, version_id=version.id if version else None)
    state = shopper_state(shopper, version)

    # 1-2. primary candidates: precomputed lists blended with this session's neighbours
    context_ids = [pid for pid, _ in state.recent] + cart_ids
    if page_id is not None:
        context_ids.append(page_id)
    related = related_lists(version, [*context_ids, *state.hidden])
    if widget == "for-you":
        primary = _for_you(state, related)
    elif widget == "trending":
        primary = []
    elif widget == "complete-order":
        primary = _complete_order(cart_ids, related)
    else:
        primary = _related(widget, page_id, related)
    _demote(primary, state.hidden, related)
    hot = trending()

    # 3. fresh facts (a few columns) for every candidate and every product a reason may
    # name; full rows are read afterwards for the chosen few only
    content_q = widget == "similar"
    depth = max(limit * POOL, 24)  # enough to fill after filters, never the whole table
    primary = sorted(primary, key=lambda c: (-c.score, c.pid))[: depth * 3]
    hot = hot[: depth * 2]
    ids = {c.pid for c in primary} | {pid for pid, _, _ in hot} | set(context_ids)
    # the page's other related widgets will want their lists' facts: read them in this
    # one query (only when the page's widgets share a memo)
    ahead = set()
    if page_id is not None and page_memo() is not None:
        ahead = {pid for pids, _ in related.get(page_id, {}).values() for pid in pids}
    # new products of the page's category (cold start of "similar"): read with the facts
    newest = None
    page_category = getattr(product, "category_id", None)
    if content_q and primary and version is not None and page_category is not None:
        newest = (
            Product.objects.in_stock()
            .filter(category_id=page_category, created__gt=version.created)
            .exclude(pk=page_id)
            .order_by("-created", "-pk")
            .values("pk")[:CONTENT_POOL]
        )
    rows, read = _fresh_facts(ids, ahead, newest)
    page = rows.get(page_id) if page_id is not None else None
    blocked = _blocked(state, cart_ids, page_id, rows, widget)

    def eligible(pid: int) -> Fact | None:
        row = rows.get(pid)
        if row is None or pid in blocked or not (row.active and row.stock > 0):
            return None
        return row if rules.allows(row.pk, row.category_slug, row.price) else None

    chosen: dict[int, _Candidate] = {}
    for cand in sorted(primary, key=lambda c: (-c.score, c.pid)):
        if cand.pid not in chosen and eligible(cand.pid):
            chosen[cand.pid] = cand
    if content_q and page is not None:
        pool = None
        if newest is not None and page.category_id == page_category:
            # what the subquery selected (the facts query may have read more rows)
            pool = sorted(
                (
                    f
                    for f in read.values()
                    if f.category_id == page_category
                    and f.created > version.created
                    and f.active
                    and f.stock > 0
                    and f.pk != page.pk
                ),
                key=lambda f: (f.created, f.pk),
                reverse=True,
            )[:CONTENT_POOL]
        for cand in _content(page, version, rows, bool(primary), pool):
            if cand.pid not in chosen and eligible(cand.pid) and cand.pid != page_id:
                chosen[cand.pid] = cand
    diversity = _diversity() if widget in DIVERSE_WIDGETS else 0.0
    want = limit * POOL if diversity else limit
    # 4. top up from trending: first in the shopper's (or page's, cart's) categories
    if len(chosen) < want and widget not in ("bought-together", "also-viewed"):
        categories = {rows[pid].category_id for pid in context_ids if pid in rows}
        categories |= {rows[c.pid].category_id for c in primary[:10] if c.pid in rows}
        top = max((c.score for c in chosen.values()), default=1.0) or 1.0
        fill = [(pid, cat, score) for pid, cat, score in hot if pid not in chosen]
        if widget != "trending":
            fill.sort(key=lambda row: row[1] not in categories)  # stable: popularity order
        for rank, (pid, cat, _) in enumerate(fill):
            if len(chosen) >= want:
                break
            if eligible(pid):
                reason = ("category",) if cat in categories and widget != "trending" else None
                score = top * 0.5 * (1.0 - rank / (len(fill) + 1))
                if widget == "trending":
                    score = 1.0 - rank / (len(fill) + 1)
                chosen[pid] = _Candidate(pid, score, reason or ("trending",))

    # 5. diversity, then reasons
    ranked = sorted(chosen.values(), key=lambda c: (-c.score, c.pid))
    if diversity > 0 and len(ranked) > 1:

        def similarity(positions: np.ndarray, pos: int) -> np.ndarray:
            row = rows[ranked[pos].pid]
            return np.array([_similarity(rows[ranked[p].pid], row) for p in positions])

        picked = mmr_rerank(
            np.arange(len(ranked)),
            np.array([c.score for c in ranked]),
            similarity,
            diversity,
            limit,
        )
        ranked = [ranked[p] for p in picked]
    ranked = ranked[:limit]
    if page_memo() is not None:
        # a page's widgets: the facts read in this request are the products' rows (all a
        # card shows; the description is deferred), no second query
        fresh = {c.pid: _product(rows[c.pid]) for c in ranked}
    else:
        fresh = Product.objects.select_related("category").in_bulk([c.pid for c in ranked])
    items = [
        ServedItem(
            product=fresh[c.pid],
            score=round(float(c.score), 6),
            reason=_reason(c, rows, rows[c.pid]),
        )
        for c in ranked
        if c.pid in fresh and fresh[c.pid].active and fresh[c.pid].stock > 0
    ]
    return Served(widget=widget, version_id=version.id if version else None, items=items)


def _product(fact: Fact) -> Product:
    """A Product (with its category) made from fresh facts, as a query would load it;
    the columns facts leave out (description, sku) are deferred."""
    db = Product.objects.db
    values = {
        "id": fact.pk,
        "name": fact.name,
        "slug": fact.slug,
        "price": fact.price,
        "category_id": fact.category_id,
        "brand": fact.brand,
        "tags": fact.tags,
        "stock": fact.stock,
        "active": fact.active,
        "created": fact.created,
        "image": fact.image,
    }
    product = Product.from_db(db, list(values), _in_field_order(Product, values))
    category = {"id": fact.category_id, "name": fact.category, "slug": fact.category_slug}
    product.category = Category.from_db(db, list(category), _in_field_order(Category, category))
    return product


def _in_field_order(model, values: dict) -> list:
    """``values`` in the order of the model's columns (what Model.from_db expects)."""
    return [values[f.attname] for f in model._meta.concrete_fields if f.attname in values]


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
        out[pid] = _Candidate(pid, score, ("text", reason) if reason else ("trending",))
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
    for i, (pid, kind) in enumerate(state.recent):
        recency = 1.0 / (1.0 + 0.4 * i)
        verb = "carted" if kind == "cart" else "viewed"
        for rkind, weight in BLEND_KINDS.items():
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


def _demote(cands: list[_Candidate], hidden: list[int], related: dict) -> None:
    """Lower the close neighbours of products the shopper is not interested in."""
    close = {
        nid
        for pid in hidden
        for kind in ("similar", "also_viewed")
        for nid in related.get(pid, {}).get(kind, ([], []))[0][:STRONG_NEIGHBOURS]
    }
    for cand in cands:
        if cand.pid in close:
            cand.score *= DEMOTE


def _blocked(
    state: ShopperState, cart_ids: list[int], page_id: int | None, rows: dict, widget: str
) -> set[int]:
    """Products this shopper must not be shown here (fresh rows decide the rest)."""
    blocked = set(cart_ids) | set(state.hidden)
    if widget == "for-you":  # what the shopper just looked at is named in reasons, not listed
        blocked |= {pid for pid, _ in state.recent}
    if page_id is not None:
        blocked.add(page_id)
    if settings.RECOMMENDATIONS.get("EXCLUDE_PURCHASED", True):
        repeat = set(settings.RECOMMENDATIONS.get("REPEAT_CATEGORIES", []) or [])
        blocked |= {
            pid for pid in state.bought if not (pid in rows and rows[pid].category_slug in repeat)
        }
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


def _reason(cand: _Candidate, rows: dict, product: Fact) -> str:
    """The visible reason; a product is named only when the item is its strong neighbour."""
    kind = cand.reason[0]
    if kind == "text":
        return cand.reason[1]
    if kind in ("product", "page"):
        named = rows.get(cand.reason[2])
        if named is not None:
            verb = cand.reason[1]
            if kind == "product":
                return f"Because you {'added' if verb == 'carted' else 'viewed'} {named.name}" + (
                    " to your cart" if verb == "carted" else ""
                )
            return {
                "similar": f"Similar to {named.name}",
                "bought": f"Bought together with {named.name}",
                "also": f"Often viewed with {named.name}",
            }[verb]
    if kind in ("category", "product", "page"):
        return f"Popular in {product.category}"
    return TRENDING
