"""Item-item co-occurrence (item-kNN): "also bought", "also viewed", "bought together".

Also home of the small sparse helpers the other item-based models share (history
vectors, row-wise top-k of a sparse similarity matrix, neighbour lists).
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from ..dataset import KIND_CODES, Dataset
from .base import Recommender

log = logging.getLogger(__name__)


def batch_events(data: Dataset, users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, offset in the user's sequence, sequence index) of every event of ``users``,
    rows indexing ``users``."""
    users = np.asarray(users, dtype=np.int64)
    starts, ends = data.seq_indptr[users], data.seq_indptr[users + 1]
    lens = ends - starts
    rows = np.repeat(np.arange(len(users)), lens)
    offsets = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
    return rows, offsets, np.repeat(starts, lens) + offsets


def recent_items(
    data: Dataset, users: np.ndarray, last_n: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, item, rank) of each user's distinct items, newest first (rank 0 = the most
    recent; at most ``last_n``), rows indexing ``users``."""
    rows, offsets, events = batch_events(data, users)
    items = data.seq_items[events].astype(np.int64)
    # Keep each (row, item)'s most recent occurrence: sort by row, item, then time desc.
    order = np.lexsort((-offsets, items, rows))
    rows, items, offsets = rows[order], items[order], offsets[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (items[1:] != items[:-1])
    rows, items, offsets = rows[first], items[first], offsets[first]
    # Rank distinct items by recency within each row (0 = most recent).
    order = np.lexsort((-offsets, rows))
    rows, items = rows[order], items[order]
    counts = np.bincount(rows, minlength=len(users))
    rank = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    if last_n is not None:
        keep = rank < last_n
        rows, items, rank = rows[keep], items[keep], rank[keep]
    return rows, items, rank


def user_history(
    data: Dataset, users: np.ndarray, recency: float = 1.0, last_n: int | None = None
) -> sp.csr_matrix:
    """Binary-ish history rows (len(users), n_items) built from the event sequences.

    An item's weight is ``recency ** p`` where ``p`` counts the shopper's distinct items
    seen after it (0 for the most recent); ``recency=1`` gives a plain binary history.
    ``last_n`` keeps only the ``last_n`` most recent distinct items.
    """
    rows, items, rank = recent_items(data, users, last_n)
    weights = np.power(np.float32(recency), rank).astype(np.float32)
    return sp.csr_matrix((weights, (rows, items)), shape=(len(users), data.n_items))


def binary_matrix(data: Dataset, kind: str | None = None) -> sp.csr_matrix:
    """Users x items with 1 where the user had an event (of ``kind``, if given)."""
    if kind is None:
        matrix = data.matrix.copy().astype(np.float32)
        matrix.data[:] = 1.0
        return matrix
    mask = data.seq_kinds == KIND_CODES[kind]
    users = np.repeat(np.arange(data.n_users), np.diff(data.seq_indptr))[mask]
    matrix = sp.csr_matrix(
        (np.ones(mask.sum(), dtype=np.float32), (users, data.seq_items[mask])),
        shape=(data.n_users, data.n_items),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def sparse_top_k_rows(matrix: sp.spmatrix, k: int) -> sp.csr_matrix:
    """Keep the k largest positive entries of each row (ties: lower column), vectorised."""
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    positive = matrix.data > 0
    if not positive.all():  # drop the rest, without a COO round trip (these are large)
        before = np.concatenate([[0], np.cumsum(positive)])
        matrix = sp.csr_matrix(
            (matrix.data[positive], matrix.indices[positive], before[matrix.indptr]),
            shape=matrix.shape,
        )
    del positive
    if not matrix.has_sorted_indices:
        matrix = matrix.sorted_indices()
    kept = top_k_entries(matrix, k)
    rows = np.searchsorted(matrix.indptr, kept, side="right") - 1
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=matrix.shape[0]))])
    out = sp.csr_matrix((matrix.data[kept], matrix.indices[kept], indptr), shape=matrix.shape)
    out.has_sorted_indices = True
    return out


def top_k_entries(matrix: sp.csr_matrix, k: int) -> np.ndarray:
    """Positions in ``matrix.data`` (indices sorted) of each row's k largest entries, in
    order. Ties go to the lower column.

    One stable argsort of a float key (row minus the value scaled into [0, 1)) rather
    than a three-key lexsort: three times faster on these, scoring's largest arrays, and
    two arrays per entry at a time. Needs entries >= 0; entries closer than about 1e-10
    of the matrix's largest count as ties.
    """
    counts = np.diff(matrix.indptr)
    if not len(matrix.data) or counts.max() <= k:
        return np.arange(len(matrix.data))
    key = matrix.data.astype(np.float64)
    key *= -1.0 / (max(float(key.max()), 1e-30) * (1.0 + 1e-9))
    key += np.repeat(np.arange(matrix.shape[0], dtype=np.float64), counts)
    order = np.argsort(key, kind="stable")
    del key
    rank = np.arange(len(order))
    rank -= np.repeat(matrix.indptr[:-1].astype(np.int64), counts)
    return np.sort(order[rank < k])


def neighbours(similarity: sp.csr_matrix, items: np.ndarray, k: int):
    """Top-k (indices, scores) per item from a sparse similarity matrix, padded -1/0."""
    items = np.asarray(items, dtype=np.int64)
    idx = np.full((len(items), k), -1, dtype=np.int64)
    val = np.zeros((len(items), k), dtype=np.float32)
    sub = sparse_top_k_rows(similarity[items], k)
    counts = np.diff(sub.indptr)
    rows = np.repeat(np.arange(len(items)), counts)
    order = np.lexsort((sub.indices, -sub.data, rows))
    rank = np.arange(len(order)) - np.repeat(sub.indptr[:-1], counts)
    idx[rows[order], rank] = sub.indices[order]
    val[rows[order], rank] = sub.data[order]
    return idx, val


def cosine_similarity(
    matrix: sp.csr_matrix, k: int, alpha: float = 0.5, shrink: float = 0.0
) -> sp.csr_matrix:
    """Item x item co-occurrence of a (rows x items) binary matrix, top-k per item.

    ``S[i, j] = C[i, j] / (n_i ** alpha * n_j ** (1 - alpha) + shrink)``: alpha=0.5 is
    cosine, alpha=1 the conditional probability P(j | i). The diagonal is dropped.
    """
    co = (matrix.T @ matrix).tocsr().astype(np.float32)
    co.setdiag(0)
    co.eliminate_zeros()
    counts = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float32)
    counts[counts == 0] = 1.0
    rows = np.repeat(np.arange(co.shape[0]), np.diff(co.indptr))
    denom = counts[rows] ** alpha * counts[co.indices] ** (1.0 - alpha) + shrink
    co.data = co.data / denom
    return sparse_top_k_rows(co, k)


class ItemNeighbourModel(Recommender):
    """Scores a shopper by their (recency-weighted) history times a sparse item-item
    similarity ``self.similarity``, plus ``self.tiebreak``; subclasses build both in fit."""

    similarity: sp.csr_matrix
    tiebreak: np.ndarray

    def score(self, users: np.ndarray, data: Dataset | None = None) -> np.ndarray:
        data = data if data is not None else self.data
        history = user_history(data, users, self.params["recency"])
        return np.asarray((history @ self.similarity).toarray(), dtype=np.float32) + self.tiebreak

    def votes(self, users: np.ndarray, data: Dataset) -> tuple[sp.csr_matrix, np.ndarray]:
        history = user_history(data, users, self.params["recency"])
        return (history @ self.similarity).tocsr(), self.tiebreak

    def similar_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return neighbours(self.similarity, items, k)


class ItemCooccurrence(ItemNeighbourModel):
    """Item-kNN: similar items from who interacted with both; score = history x S.

    ``mode``: "all" events, "views" only (also viewed) or purchase "baskets" (bought
    together). ``recency`` < 1 weights a shopper's recent items more.
    """

    name = "cooccurrence"
    defaults = {"mode": "all", "k": 50, "alpha": 0.5, "shrink": 0.0, "recency": 1.0}

    def fit(self, data: Dataset) -> ItemCooccurrence:
        mode = self.params["mode"]
        if mode == "all":
            source = binary_matrix(data)
        elif mode == "views":
            source = binary_matrix(data, "view")
        elif mode == "baskets":
            source = data.baskets.tocsr()
            if source.shape[0] == 0:
                log.warning("cooccurrence(baskets): no purchase baskets, no neighbours")
        else:
            raise ValueError(f"cooccurrence: mode must be all, views or baskets, not {mode!r}")
        if self.params["k"] < 1:
            raise ValueError("cooccurrence: k must be >= 1")
        self.similarity = cosine_similarity(
            source, self.params["k"], self.params["alpha"], self.params["shrink"]
        )
        log.info("cooccurrence(%s): %d neighbour pairs", mode, self.similarity.nnz)
        self.tiebreak = popularity_tiebreak(data)
        self.data = data
        return self


def popularity_tiebreak(data: Dataset, epsilon: float = 1e-6) -> np.ndarray:
    """A tiny per-item score (epsilon x share of shoppers) so ties go to popular items."""
    counts = np.bincount(data.matrix.indices, minlength=data.n_items).astype(np.float32)
    return (epsilon * counts / max(counts.max(initial=0.0), 1.0)).astype(np.float32)
