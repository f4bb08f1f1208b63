"""Two-tower retrieval model (TensorFlow/Keras): a query tower over the shopper's recent
items (recency-weighted mean, or causal self-attention SASRec-style) and a feature-aware
item tower, trained on next-item prediction: a full softmax over every product with
events when the catalogue has at most ``full_softmax_items`` products, else in-batch
softmax negatives with a logQ popularity correction (``softmax``, tuned on validation).

The "mean" encoder is the default because it evaluated better than self-attention on
both shared datasets (small data; see the helper report), and trains ~2x faster.

This module is numpy-only at import: TensorFlow loads (from ``two_tower_model``) only
when the model trains or scores, so a pickled model loads anywhere and ``similar_items``
needs no TensorFlow. The pickle holds numpy weights; the Keras network is rebuilt from
them on the first ``score``.
"""

from __future__ import annotations

import copy
import re
import zlib
from typing import Any

import numpy as np

from ..dataset import Dataset, ItemFeatures
from .base import Recommender, top_k

_TOKEN = re.compile(r"[a-z0-9]+")
SIMILAR_BLOCK = 500  # items per dense block in similar_items (bounds its memory)
_STOPWORDS = frozenset(
    ["a", "an", "and", "for", "in", "of", "on", "or", "set", "the", "to", "with"]
)


class TwoTower(Recommender):
    """Next-item two-tower model; item vectors come from id + category + brand + price +
    text, so products without events still get a vector from their features."""

    name = "two_tower"
    defaults = {
        "embedding_dim": 64,
        "max_len": 20,  # recent distinct items the query tower reads
        "encoder": "mean",  # recency-weighted mean of item vectors, or "attention"
        "blocks": 2,  # "attention" encoder only
        "heads": 2,
        "dropout": 0.5,
        "id_dropout": 0.1,  # share of training items seen as "new" (features only)
        "recency_decay": 0.8,  # "mean" encoder: weight of an item per newer item after it
        "epochs": 3,
        "min_steps": 800,  # more epochs on small data, until this many batches
        "batch_size": 512,  # next-item targets per batch (= in-batch candidates, at most)
        "learning_rate": 0.003,
        "temperature": 0.2,
        "logq_weight": 1.0,  # 0 = no popularity correction of in-batch negatives
        # "full": softmax over every product each step; "sampled": over the batch's
        # targets with the logQ correction; "auto": full up to ``full_softmax_items``
        # products (a step then costs about one item-tower pass over the catalogue).
        "softmax": "auto",
        "full_softmax_items": 10000,
        # Next-item targets trained on, at most (windows drawn at random, seeded). At 1M
        # events (756k targets) 400k gave the same validation NDCG@10 (0.0784 vs 0.0782)
        # in 47 s instead of 112 s; the shared datasets have far fewer targets.
        "max_examples": 400_000,
        "text_buckets": 16384,
        "max_tokens": 16,
        "price_bands": 8,
        "threads": 0,  # 0 = all cores
        "seed": 0,
        "patience": 0,  # > 0: early stopping on held-out last items (see fit)
        "early_stopping_users": 2000,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        _check_params(self.name, self.params)
        self._net: Any = None

    # -- training ---------------------------------------------------------------------
    def fit(self, data: Dataset) -> TwoTower:
        """Train both towers on every next-item step of every shopper's history."""
        from . import two_tower_model as tm

        p = self.params
        indptr, items = _collapse_repeats(data.seq_indptr, data.seq_items)
        pad = data.n_items
        validation = None
        if int(p.get("patience", 0)) > 0:
            indptr, items, validation = _hold_out_last(
                indptr,
                items,
                pad,
                int(p["max_len"]),
                int(p["early_stopping_users"]),
                int(p["seed"]),
            )
        inputs, targets = _training_windows(
            indptr, items, pad, int(p["max_len"]), int(p["max_examples"]), int(p["seed"])
        )
        flat_targets = targets[targets >= 0]
        if len(flat_targets) == 0:
            raise ValueError("two_tower: no shopper has two different items in a row to learn from")
        counts = np.bincount(items, minlength=data.n_items)
        self.tables = _feature_tables(data.features, counts, p)
        target_counts = np.bincount(flat_targets, minlength=data.n_items).astype(np.float64)
        log_q = np.log(np.maximum(target_counts, 1.0) / len(flat_targets))
        cfg = {**p, "full_softmax": full_softmax(p, data.n_items)}
        net = tm.train(self.tables, cfg, inputs, targets, log_q, validation=validation)
        self.epochs_trained = getattr(net, "best_epoch", None)
        self.data = data
        self.item_ids = np.asarray(data.item_ids).copy()
        self.item_popularity = counts.astype(np.float32)
        self.weights = [w.copy() for w in net.get_weights()]
        self.item_vectors = tm.all_item_vectors(net, data.n_items)
        self._net = net
        return self

    # Training is by far the most expensive fit (minutes at 1M events), and the network
    # scores any history it is given: refitting for serving reuses it (see ``refit``).
    refit_reuses_weights = True

    def refit(self, data: Dataset) -> TwoTower:
        """The trained network, serving ``data``'s full histories (fold-in).

        Trade-off: the weights have not learned from the events ``data`` adds (each
        tested shopper's held-out last interaction, at most one per shopper), but every
        shopper is scored from the full history, last event included; retraining on
        the full log would cost a second training run. Falls back to a fresh fit when
        ``data`` has other items.
        """
        if not hasattr(self, "item_vectors") or not np.array_equal(
            np.asarray(data.item_ids), self.item_ids
        ):
            return super().refit(data)
        model = copy.copy(self)  # shares the (read-only) weights and network
        model.data = data
        return model

    # -- scoring ----------------------------------------------------------------------
    def score(self, users: np.ndarray, data: Dataset | None = None) -> np.ndarray:
        """Cosine of each user's query vector (from their recent items) with every item."""
        data = data if data is not None else self.data
        if data is None or not hasattr(self, "item_vectors"):
            raise RuntimeError("two_tower: fit() first")
        if not np.array_equal(np.asarray(data.item_ids), self.item_ids):
            raise ValueError("two_tower: data.item_ids differ from the fitted item_ids")
        users = np.asarray(users, dtype=np.int64)
        if len(users) and (users.min() < 0 or users.max() >= data.n_users):
            raise ValueError("two_tower: user index out of range")
        from . import two_tower_model as tm

        indptr, items = self._collapsed(data)
        seqs, lengths = _histories(indptr, items, users, data.n_items, int(self.params["max_len"]))
        scores = np.zeros((len(users), data.n_items), dtype=np.float32)
        known = lengths > 0
        if known.any():
            queries = tm.encode_queries(self._network(), seqs[known], lengths[known])
            scores[known] = queries @ self.item_vectors.T
        # No history: fall back to popularity, scaled into the cosine range.
        pop = self.item_popularity
        scores[~known] = pop / max(float(pop.max()), 1.0)
        return scores

    def similar_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k other items by cosine of item-tower vectors (numpy only)."""
        if not hasattr(self, "item_vectors"):
            raise RuntimeError("two_tower: fit() first")
        items = np.asarray(items, dtype=np.int64)
        n = len(self.item_vectors)
        if len(items) and (items.min() < 0 or items.max() >= n):
            raise ValueError("two_tower: item index out of range")
        kk = min(k, n - 1)
        out_idx = np.full((len(items), k), -1, dtype=np.int64)
        out_val = np.zeros((len(items), k), dtype=np.float32)
        if kk <= 0:
            return out_idx, out_val
        # In row blocks: a dense items x catalogue block (and top_k's copies of it) of
        # 5,000 x 20,000 would take about 2 GB; rows are independent (same neighbours,
        # scores equal up to float rounding).
        for start in range(0, len(items), SIMILAR_BLOCK):
            block = items[start : start + SIMILAR_BLOCK]
            sims = self.item_vectors[block] @ self.item_vectors.T
            sims[np.arange(len(block)), block] = -np.inf
            idx, vals = top_k(sims, kk)
            out_idx[start : start + len(block), :kk] = idx
            out_val[start : start + len(block), :kk] = vals
        return out_idx, out_val

    def _collapsed(self, data: Dataset) -> tuple[np.ndarray, np.ndarray]:
        """``data``'s sequences with repeats collapsed, kept for the next batch of the
        same data (evaluation and precompute score it 500-1,000 shoppers at a time)."""
        cached = getattr(self, "_collapse_cache", None)
        if cached is not None and cached[0] is data.seq_indptr and cached[1] is data.seq_items:
            return cached[2], cached[3]
        indptr, items = _collapse_repeats(data.seq_indptr, data.seq_items)
        self._collapse_cache = (data.seq_indptr, data.seq_items, indptr, items)
        return indptr, items

    def _network(self) -> Any:
        """The Keras network, rebuilt from numpy weights after unpickling."""
        if self._net is None:
            from . import two_tower_model as tm

            self._net = tm.build_net(self.tables, dict(self.params), self.weights)
        return self._net

    # -- persistence: numpy only, the Keras objects are rebuilt lazily -----------------
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_net"] = None
        state.pop("_collapse_cache", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._net = None


def full_softmax(p: dict[str, Any], n_items: int) -> bool:
    """Whether training uses a full softmax over all ``n_items`` products."""
    return p["softmax"] == "full" or (
        p["softmax"] == "auto" and n_items <= int(p["full_softmax_items"])
    )


def _check_params(name: str, p: dict[str, Any]) -> None:
    """ValueError on values the model cannot train with."""
    positive = ["embedding_dim", "max_len", "blocks", "heads", "epochs", "batch_size"]
    positive += ["min_steps", "max_examples", "text_buckets", "max_tokens", "price_bands"]
    positive += ["full_softmax_items"]
    for key in positive:
        if not isinstance(p[key], int) or isinstance(p[key], bool) or p[key] < 1:
            raise ValueError(f"{name}: {key} must be a positive integer, got {p[key]!r}")
    if p["encoder"] not in ("attention", "mean"):
        raise ValueError(f"{name}: encoder must be 'attention' or 'mean', got {p['encoder']!r}")
    if p["softmax"] not in ("auto", "full", "sampled"):
        raise ValueError(f"{name}: softmax must be 'auto', 'full' or 'sampled'")
    if p["embedding_dim"] % p["heads"]:
        raise ValueError(f"{name}: embedding_dim must be a multiple of heads")
    _check_ranges(name, p)
    if not isinstance(p["threads"], int) or p["threads"] < 0:
        raise ValueError(f"{name}: threads must be a non-negative integer")
    if int(p.get("patience", 0)) < 0 or int(p.get("early_stopping_users", 1)) < 1:
        raise ValueError(f"{name}: patience must be >= 0 and early_stopping_users >= 1")


def _check_ranges(name: str, p: dict[str, Any]) -> None:
    """ValueError on a rate, weight or decay out of its range."""
    for key in ("dropout", "id_dropout"):
        if not 0.0 <= float(p[key]) < 1.0:
            raise ValueError(f"{name}: {key} must be in [0, 1), got {p[key]!r}")
    for key in ("learning_rate", "temperature"):
        if not float(p[key]) > 0:
            raise ValueError(f"{name}: {key} must be positive, got {p[key]!r}")
    if not 0.0 <= float(p["logq_weight"]) <= 2.0:
        raise ValueError(f"{name}: logq_weight must be in [0, 2], got {p['logq_weight']!r}")
    if not 0.0 < float(p["recency_decay"]) <= 1.0:
        raise ValueError(f"{name}: recency_decay must be in (0, 1], got {p['recency_decay']!r}")


def _collapse_repeats(indptr: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-user sequences with consecutive repeats of one item collapsed (CSR-style)."""
    n_users = len(indptr) - 1
    owner = np.repeat(np.arange(n_users), np.diff(indptr))
    keep = np.ones(len(items), dtype=bool)
    keep[1:] = (items[1:] != items[:-1]) | (owner[1:] != owner[:-1])
    new_indptr = np.zeros(n_users + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner[keep], minlength=n_users), out=new_indptr[1:])
    return new_indptr, np.asarray(items[keep], dtype=np.int32)


def _windows(
    items: np.ndarray, starts: np.ndarray, ends: np.ndarray, pad: int, width: int
) -> np.ndarray:
    """``items[starts:ends]`` per row (at most ``width`` long), right-padded with ``pad``."""
    offsets = starts[:, None] + np.arange(width)[None, :]
    valid = offsets < ends[:, None]
    if not len(items):
        return np.full(offsets.shape, pad, dtype=np.int32)
    return np.where(valid, items[np.minimum(offsets, len(items) - 1)], pad).astype(np.int32)


def _training_windows(
    indptr: np.ndarray, items: np.ndarray, pad: int, max_len: int, max_examples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Next-item training windows: (inputs, targets), each (n_windows, max_len).

    Every item after a shopper's first is a target once; a user's targets are cut into
    windows of ``max_len`` from the newest backwards, and a window's inputs are the items
    just before its targets. Targets are padded with -1. When there are more than
    ``max_examples`` targets, whole windows are dropped at random (seeded).
    """
    n_targets = np.maximum(np.diff(indptr) - 1, 0)
    n_windows = -(-n_targets // max_len)  # ceil
    user = np.repeat(np.arange(len(n_targets)), n_windows)
    # j-th window from the end of user u ends at target position end-1-j*max_len.
    first_window = np.repeat(np.cumsum(n_windows) - n_windows, n_windows)
    j = np.arange(len(user)) - first_window
    last = indptr[user + 1] - 1 - j * max_len
    first = np.maximum(last - max_len + 1, indptr[user] + 1)
    if (last - first + 1).sum() > max_examples:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(user))
        keep = np.sort(order[np.cumsum((last - first + 1)[order]) <= max_examples])
        first, last = first[keep], last[keep]
    inputs = _windows(items, first - 1, last, pad, max_len)
    targets = _windows(items, first, last + 1, -1, max_len)
    return inputs, targets


def _hold_out_last(
    indptr: np.ndarray, items: np.ndarray, pad: int, max_len: int, n_users: int, seed: int
) -> tuple[np.ndarray, np.ndarray, tuple | None]:
    """Early-stopping data taken from the training log itself: the last item of up to
    ``n_users`` shoppers (seeded sample of those with 3+ items) is removed from
    training and becomes their target. Returns the reduced (indptr, items) and
    (histories, lengths, targets), or None when nobody qualifies."""
    lengths = np.diff(indptr)
    eligible = np.flatnonzero(lengths >= 3)
    if not len(eligible):
        return indptr, items, None
    rng = np.random.default_rng(seed + 11)
    # At most a tenth of them: on short-session logs the last items are much of the data.
    n_users = min(n_users, max(1, len(eligible) // 10))
    chosen = np.sort(rng.choice(eligible, n_users, replace=False))
    last = indptr[chosen + 1] - 1
    targets = items[last].astype(np.int64)
    keep = np.ones(len(items), dtype=bool)
    keep[last] = False
    new_lengths = lengths.copy()
    new_lengths[chosen] -= 1
    new_indptr = np.zeros_like(indptr)
    np.cumsum(new_lengths, out=new_indptr[1:])
    new_items = items[keep]
    seqs, hist_len = _histories(new_indptr, new_items, chosen, pad, max_len)
    return new_indptr, new_items, (seqs, hist_len, targets)


def _histories(
    indptr: np.ndarray, items: np.ndarray, users: np.ndarray, pad: int, max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each user's latest ``max_len`` items (right-padded) and how many there are."""
    ends = indptr[users + 1]
    starts = np.maximum(indptr[users], ends - max_len)
    return _windows(items, starts, ends, pad, max_len), ends - starts


def _tokens(text: str, max_tokens: int, buckets: int) -> list[int]:
    """Hashed distinct word tokens of a text (stable across processes: crc32)."""
    seen: dict[str, None] = {}
    for tok in _TOKEN.findall(text.lower()):
        if len(tok) > 1 and tok not in _STOPWORDS:
            seen.setdefault(tok)
    return [zlib.crc32(t.encode()) % (buckets - 1) + 1 for t in list(seen)[:max_tokens]]


def _feature_tables(
    features: ItemFeatures | None, counts: np.ndarray, p: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Integer feature codes per item index, plus a last all-zero row for padding.

    Code 0 always means unknown: items without events share id code 0 (the OOV bucket).
    """
    n = len(counts)
    id_code = np.zeros(n + 1, dtype=np.int32)
    id_code[:n] = np.where(counts > 0, np.arange(1, n + 1), 0)
    category = np.zeros(n + 1, dtype=np.int32)
    brand = np.zeros(n + 1, dtype=np.int32)
    price_band = np.zeros(n + 1, dtype=np.int32)
    tokens = np.zeros((n + 1, int(p["max_tokens"])), dtype=np.int32)
    if features is not None:
        if len(features.text) != n:
            raise ValueError("two_tower: features are not aligned with item_ids")
        category[:n] = np.maximum(np.asarray(features.category), -1) + 1
        brand[:n] = np.maximum(np.asarray(features.brand), -1) + 1
        price = np.asarray(features.price, dtype=np.float64)
        known = price > 0
        if known.any():
            qs = np.linspace(0, 1, int(p["price_bands"]) + 1)[1:-1]
            edges = np.quantile(price[known], qs)
            price_band[:n] = np.where(known, np.searchsorted(edges, price) + 1, 0)
        for i, text in enumerate(features.text):
            toks = _tokens(text or "", int(p["max_tokens"]), int(p["text_buckets"]))
            tokens[i, : len(toks)] = toks
    return {
        "id_code": id_code,
        "category": category,
        "brand": brand,
        "price_band": price_band,
        "tokens": tokens,
    }
