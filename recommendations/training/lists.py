"""Build what serving reads: per-shopper lists with reasons and related-product lists.

The computation behind the precompute chunks (precompute.py runs and stores them):
a per-process Context of the version's model and catalogue facts, model scores
topped up from popularity, a reason per entry, and related lists blended from the
model's and helper models' neighbours.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from django.conf import settings

from shop.models import Product

from .. import registry
from ..models import RelatedProducts
from ..reasons import TRENDING, because_bought, because_viewed, popular_in
from .algorithms import make_algorithm
from .algorithms.base import Recommender
from .algorithms.cooccurrence import (
    batch_events,
    binary_matrix,
    cosine_similarity,
    recent_items,
    sparse_top_k_rows,
)
from .dataset import KIND_CODES, Dataset

log = logging.getLogger(__name__)

RELATED_FILE = "related.pkl"
REASONS_FILE = "reasons.pkl"  # the strong-neighbour table behind "Because you viewed X"
SCORE_BATCH = 500  # users scored at once: bounds the dense score matrix's memory
HISTORY_FOR_REASONS = 20  # the most recent distinct items a reason may point at
# "Because you viewed X" only when the item is among X's strongest co-occurrence
# neighbours: within X's top 20 and at least this cosine similarity.
REASON_NEIGHBOURS = 20
REASON_MIN_SIMILARITY = 0.05


@dataclass
class Context:
    """Everything a chunk needs, built once per process and version."""

    model: Recommender
    data: Dataset  # the data the model was fitted on
    names: list[str]  # product name per column
    categories: list[str]  # category name per column ("" = unknown)
    active: np.ndarray  # bool per column: active and in stock, re-read by every chunk
    exists: np.ndarray  # bool per column: product row exists
    popular: np.ndarray  # available column indices, most popular first (re-read with active)
    similar: sp.csr_matrix  # items x items, each item's strong cosine neighbours (for reasons)
    ranking: np.ndarray  # every column index, most popular first
    # Reason texts per column, made once (object arrays of str): "Because you viewed X",
    # "Because you bought X", "Popular in <its category>"; category code per column (-1
    # = none) so a shopper's categories are compared as integers.
    viewed_text: np.ndarray | None = None
    bought_text: np.ndarray | None = None
    popular_text: np.ndarray | None = None
    category_codes: np.ndarray | None = None


_CONTEXTS: dict[tuple[int, str], Context] = {}


def context(version_id: int) -> Context:
    """The version's model plus catalogue facts, cached per process."""
    key = (version_id, registry.artifact_digest(version_id))  # a new artifact: a new context
    if key in _CONTEXTS:
        return _CONTEXTS[key]
    model = registry.load_artifact(version_id)
    data = model.data
    if data is None:
        raise RuntimeError(f"artifact of version #{version_id} keeps no training data")
    products = {
        pid: (name, cat, active)
        for pid, name, cat, active in Product.objects.order_by().values_list(
            "id", "name", "category__name", "active"
        )
    }
    rows = [products.get(int(pid)) for pid in data.item_ids]
    ctx = build_context(
        model,
        similar=_saved_reasons(version_id),
        names=[r[0] if r else "" for r in rows],
        categories=[r[1] if r else "" for r in rows],
        exists=np.array([r is not None for r in rows], dtype=bool),
        active=np.array([bool(r and r[2]) for r in rows], dtype=bool),
    )
    _CONTEXTS.clear()  # one version at a time per process is plenty
    _CONTEXTS[key] = ctx
    return ctx


def _saved_reasons(version_id: int) -> sp.csr_matrix | None:
    """The reasons' neighbour table precompute saved for this version, if any."""
    try:
        return registry.load_artifact(version_id, REASONS_FILE)
    except FileNotFoundError:
        return None


def build_context(
    model: Recommender,
    names: list[str],
    categories: list[str],
    exists: np.ndarray,
    active: np.ndarray,
    similar: sp.csr_matrix | None = None,
) -> Context:
    """A Context from a fitted model and its columns' product facts (no database);
    ``similar``: the model's ``reason_neighbours`` when computed before (once per run)."""
    data = model.data
    popularity = np.asarray(data.matrix.sum(axis=0)).ravel()
    order = np.lexsort((np.arange(len(popularity)), -popularity))
    if similar is None:
        similar = reason_neighbours(model)
    named = np.array([bool(c) for c in categories], dtype=bool)  # "" or None: none
    _, codes = np.unique(np.array([c or "" for c in categories], dtype=str), return_inverse=True)
    return Context(
        model=model,
        data=data,
        names=names,
        categories=categories,
        active=active,
        exists=exists,
        popular=order[active[order]],
        similar=similar,
        ranking=order,
        viewed_text=np.array([because_viewed(n) for n in names], dtype=object),
        bought_text=np.array([because_bought(n) for n in names], dtype=object),
        popular_text=np.array([popular_in(c) for c in categories], dtype=object),
        category_codes=np.where(named, codes, -1).astype(np.int64),
    )


def reason_neighbours(model: Recommender) -> sp.csr_matrix:
    """Each item's strong cosine neighbours (top REASON_NEIGHBOURS, at least
    REASON_MIN_SIMILARITY) on the model's data, as a sparse table sliced by rows per
    shopper: far cheaper than slicing the users x items matrix by columns.

    Taken from a co-occurrence model (or hybrid component) fitted with plain cosine on
    all events and at least as many neighbours, else computed (XᵀX, once per run:
    precompute saves it for its chunks)."""
    data = model.data
    similar = None
    for part in [model, *getattr(model, "models", {}).values()]:
        p = part.params
        plain = p.get("mode") == "all" and p.get("alpha") == 0.5 and not p.get("shrink")
        deep = p.get("k", 0) >= REASON_NEIGHBOURS and part.data is data
        if part.name == "cooccurrence" and plain and deep:
            similar = sparse_top_k_rows(part.similarity, REASON_NEIGHBOURS)
            break
    if similar is None:
        similar = cosine_similarity(binary_matrix(data), REASON_NEIGHBOURS)
    similar.data[similar.data < REASON_MIN_SIMILARITY] = 0
    similar.eliminate_zeros()
    return similar


def refresh_availability(ctx: Context) -> Context:
    """Re-read which columns are active and in stock (one query).

    The context lives as long as the worker; a product deactivated or sold out since
    must not enter lists written later.
    """
    available = Product.objects.filter(active=True, stock__gt=0).values_list("id", flat=True)
    ctx.active = ctx.exists & np.isin(ctx.data.item_ids, np.fromiter(available, dtype=np.int64))
    ctx.popular = ctx.ranking[ctx.active[ctx.ranking]]
    return ctx


# ---------------------------------------------------------------- per-shopper lists


def _reasons(
    ctx: Context,
    data: Dataset,
    users: np.ndarray,
    rows: np.ndarray,
    items: np.ndarray,
    personal: np.ndarray,
) -> np.ndarray:
    """One reason per list entry (``rows`` index ``users``; ``personal`` marks entries
    that came from the model), for a whole batch at once.

    "Because you viewed/bought X" when the item is among the strong neighbours of X,
    one of the shopper's HISTORY_FOR_REASONS most recent distinct items (the strongest
    neighbour; ties: the most recent X); else "Popular in <category>" when the shopper
    had items of its category among those; else "Trending now".
    """
    n_items = data.n_items
    reasons = np.full(len(items), TRENDING, dtype=object)
    h_rows, h_items, h_rank = recent_items(data, users, HISTORY_FOR_REASONS)
    # "Popular in <category>": the item's category among the shopper's recent items'.
    codes = ctx.category_codes
    n_codes = int(codes.max(initial=-1)) + 2
    known = codes[h_items] >= 0
    user_codes = np.unique(h_rows[known] * n_codes + codes[h_items[known]])
    in_category = (codes[items] >= 0) & np.isin(rows * n_codes + codes[items], user_codes)
    reasons[in_category] = ctx.popular_text[items[in_category]]
    if ctx.model.name == "popularity" or not personal.any() or not len(h_items):
        return reasons
    # Each recent item's strong neighbours, as (entry key, similarity, rank, item).
    sim = ctx.similar
    counts = (sim.indptr[h_items + 1] - sim.indptr[h_items]).astype(np.int64)
    at = np.repeat(sim.indptr[h_items], counts) + (
        np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    )
    keys = np.repeat(h_rows, counts) * n_items + sim.indices[at]
    wanted = rows[personal] * n_items + items[personal]
    hit = np.isin(keys, wanted)
    keys, values = keys[hit], sim.data[at[hit]]
    rank, because = np.repeat(h_rank, counts)[hit], np.repeat(h_items, counts)[hit]
    # Per entry: the largest similarity, ties to the most recent item.
    order = np.lexsort((rank, -values, keys))
    keys, because = keys[order], because[order]
    best = np.ones(len(keys), dtype=bool)
    best[1:] = keys[1:] != keys[:-1]
    keys, because = keys[best], because[best]
    entry_keys = rows * n_items + items
    pos = np.searchsorted(keys, entry_keys)
    found = personal & (pos < len(keys)) & (keys[np.minimum(pos, len(keys) - 1)] == entry_keys)
    named = because[pos[found]]
    ev_rows, _, events = batch_events(data, users)
    bought = data.seq_kinds[events] == KIND_CODES["purchase"]
    bought_keys = np.unique(ev_rows[bought] * n_items + data.seq_items[events[bought]])
    verb_bought = np.isin(rows[found] * n_items + named, bought_keys)
    reasons[found] = np.where(verb_bought, ctx.bought_text[named], ctx.viewed_text[named])
    return reasons


def user_lists(
    ctx: Context,
    users: np.ndarray,
    data: Dataset | None = None,
    n: int | None = None,
    *,
    refresh: bool = True,
) -> list[tuple[str, list[int], list[float], list[str]]]:
    """(shopper key, product ids, scores, reasons) for row indices of ``data``.

    ``data`` defaults to the training data; another Dataset with the same columns
    folds in fresh histories. Lists skip inactive products and are topped up from
    popularity (reason "Popular in <category>" or "Trending now"). ``refresh=False``:
    the caller refreshed availability (no database work here, so it can run on a
    scoring thread).
    """
    data = ctx.data if data is None else data
    n = n or settings.RECOMMENDATIONS["TOP_N"]
    users = np.asarray(users, dtype=np.int64)
    if not len(users):
        return []
    if refresh:
        refresh_availability(ctx)
    k = min(data.n_items, 2 * n + 10)  # head-room for inactive products dropped below
    out = []
    for start in range(0, len(users), SCORE_BATCH):
        out.extend(_user_batch(ctx, users[start : start + SCORE_BATCH], data, n, k))
    return out


def _user_batch(ctx: Context, users: np.ndarray, data: Dataset, n: int, k: int) -> list:
    """user_lists for one batch (dense scores are batch x n_items)."""
    idx, scores = ctx.model.recommend(users, k, data=data)
    keep = np.isfinite(scores) & ctx.active[idx]
    keep &= np.cumsum(keep, axis=1) <= n  # the first n available ones
    personal_count = keep.sum(axis=1)
    rows = np.repeat(np.arange(len(users)), personal_count)
    items, item_scores = idx[keep], scores[keep]
    personal = np.ones(len(items), dtype=bool)
    short = np.flatnonzero(personal_count < n)
    if len(short):  # topped up from popularity (rare at scale: k leaves head-room)
        extra = []
        for row in short:
            user = users[row]
            taken = np.union1d(data.matrix[user].indices, idx[row][keep[row]])
            head = ctx.popular[: n + len(taken)]  # enough even if all taken ones are in it
            extra.append((row, head[~np.isin(head, taken)][: n - personal_count[row]]))
        fill_rows = np.concatenate([np.full(len(f), r) for r, f in extra])
        fill = np.concatenate([f for _, f in extra]).astype(idx.dtype)
        order = np.argsort(np.concatenate([rows, fill_rows]), kind="stable")
        rows = np.concatenate([rows, fill_rows])[order]
        items = np.concatenate([items, fill])[order]
        item_scores = np.concatenate([item_scores, np.zeros(len(fill), np.float32)])[order]
        personal = np.concatenate([personal, np.zeros(len(fill), dtype=bool)])[order]
    reasons = _reasons(ctx, data, users, rows, items, personal)
    bounds = np.cumsum(np.bincount(rows, minlength=len(users)))[:-1]
    ids = np.split(data.item_ids[items], bounds)
    values = np.split(item_scores.astype(np.float64), bounds)
    texts = np.split(reasons, bounds)
    keys = data.user_keys[users]
    return [
        (str(key), i.tolist(), [round(v, 6) for v in sc.tolist()], r.tolist())
        for key, i, sc, r in zip(keys, ids, values, texts, strict=True)
    ]


# ---------------------------------------------------------------- related products


def fit_related(
    version_id: int, data: Dataset, model: Recommender | None = None
) -> dict[str, Recommender | None]:
    """Fit the neighbour models behind related lists on the full data and save them.

    A helper that ``model`` (or one of its hybrid components) already is, fitted on the
    same data with the same parameters, is reused rather than fitted again (content
    similarity over 20,000 products takes 10-20 s)."""
    fitted = [model, *getattr(model, "models", {}).values()] if model is not None else []
    helpers: dict[str, Recommender | None] = {}
    specs = {
        "content": ("content", {}),
        RelatedProducts.Kind.BOUGHT_TOGETHER: ("cooccurrence", {"mode": "baskets"}),
        RelatedProducts.Kind.ALSO_VIEWED: ("cooccurrence", {"mode": "views"}),
    }
    for key, (name, params) in specs.items():
        wanted = make_algorithm(name, **params)
        same = [m for m in fitted if m.name == name and m.params == wanted.params]
        if same and same[0].data is data:
            helpers[str(key)] = same[0]
            continue
        try:
            helpers[str(key)] = wanted.fit(data)
        except Exception as exc:  # a missing helper only means fewer related lists
            log.warning("related lists: %s(%s) unavailable: %r", name, params, exc)
            helpers[str(key)] = None
    registry.save_artifact(version_id, RELATED_FILE, helpers)
    return helpers


def _neighbours(model: Recommender | None, items: np.ndarray, k: int):
    """similar_items of ``model`` or None when it has none."""
    if model is None:
        return None
    try:
        return model.similar_items(items, k)
    except NotImplementedError:
        return None


def _merge(parts: list, row: int, ctx: Context, item: int, k: int) -> tuple[list, list]:
    """Blend neighbour lists, each scaled to its row maximum; active products only."""
    total: dict[int, float] = {}
    for idx, sc in parts:
        good = (idx[row] >= 0) & (sc[row] > 0)
        cols, vals = idx[row][good], sc[row][good]
        if not len(cols):
            continue
        vals = vals / vals.max()
        for col, val in zip(cols.tolist(), vals.tolist(), strict=True):
            if col != item and ctx.active[col]:
                total[col] = total.get(col, 0.0) + val
    best = sorted(total.items(), key=lambda cv: (-cv[1], cv[0]))[:k]
    return [c for c, _ in best], [round(v, 6) for _, v in best]


def related_lists(
    ctx: Context, helpers: dict, items: np.ndarray, k: int | None = None, *, refresh: bool = True
) -> list:
    """(product id, kind, related ids, scores) for column indices ``items``
    (``refresh`` as in ``user_lists``)."""
    k = k or settings.RECOMMENDATIONS["RELATED_N"]
    items = np.asarray(items, dtype=np.int64)
    if refresh:
        refresh_availability(ctx)
    kinds = {
        RelatedProducts.Kind.SIMILAR: [
            p
            for p in (
                _neighbours(ctx.model, items, k),
                _neighbours(helpers.get("content"), items, k),
            )
            if p is not None
        ],
        RelatedProducts.Kind.BOUGHT_TOGETHER: [
            p for p in [_neighbours(helpers.get("bought_together"), items, k)] if p is not None
        ],
        RelatedProducts.Kind.ALSO_VIEWED: [
            p for p in [_neighbours(helpers.get("also_viewed"), items, k)] if p is not None
        ],
    }
    out = []
    for row, item in enumerate(items):
        if not ctx.exists[item]:
            continue
        for kind, parts in kinds.items():
            cols, scores = _merge(parts, row, ctx, int(item), k)
            if cols:
                ids = [int(i) for i in ctx.data.item_ids[cols]]
                out.append((int(ctx.data.item_ids[item]), str(kind), ids, scores))
    return out
