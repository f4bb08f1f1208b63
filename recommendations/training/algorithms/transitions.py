"""Order-aware "what comes next": transitions between a shopper's consecutive items."""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from ..dataset import Dataset
from .base import Recommender
from .cooccurrence import (
    binary_matrix,
    cosine_similarity,
    neighbours,
    popularity_tiebreak,
    sparse_top_k_rows,
    user_history,
)

log = logging.getLogger(__name__)


def collapsed_sequences(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """(user, item) of every sequence entry with consecutive repeats of an item dropped."""
    users = np.repeat(np.arange(data.n_users), np.diff(data.seq_indptr))
    items = data.seq_items.astype(np.int64)
    keep = np.ones(len(items), dtype=bool)
    keep[1:] = (items[1:] != items[:-1]) | (users[1:] != users[:-1])
    return users[keep], items[keep]


def transition_matrix(
    data: Dataset, window: int, distance_power: float, alpha: float
) -> sp.csr_matrix:
    """T[a, b] = sum over shoppers' sequences of 1 / d**distance_power where b came d
    steps (1..window) after a; rows divided by (occurrences of a) ** alpha."""
    users, items = collapsed_sequences(data)
    rows, cols, weights = [], [], []
    for d in range(1, window + 1):
        same = (users[d:] == users[:-d]) & (items[d:] != items[:-d])
        rows.append(items[:-d][same])
        cols.append(items[d:][same])
        weights.append(np.full(same.sum(), 1.0 / d**distance_power, dtype=np.float32))
    n = data.n_items
    matrix = sp.csr_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    matrix.sum_duplicates()
    occurrences = np.bincount(items, minlength=n).astype(np.float32)
    scale = 1.0 / np.maximum(occurrences, 1.0) ** alpha
    return sp.diags(scale) @ matrix


class SequentialTransitions(Recommender):
    """Scores what followed the shopper's last items in other shoppers' sequences.

    Blends three sparse item x item matrices: forward transitions within ``window``
    steps (weighted 1/d**distance_power), backward transitions (what preceded it) and
    session co-occurrence cosine, then scores ``history(last_n items, recency) x M``.
    """

    name = "transitions"
    # Tuned on the validation split (second-to-last item) of the diginetica sessions.
    defaults = {
        "window": 5,
        "distance_power": 1.0,
        "alpha": 0.5,
        "last_n": 10,
        "recency": 1.0,
        "backward_weight": 1.0,
        "cooc_weight": 0.0,
        "k": 200,
    }

    def fit(self, data: Dataset) -> SequentialTransitions:
        p = self.params
        if p["window"] < 1 or p["last_n"] < 1 or p["k"] < 1:
            raise ValueError("transitions: window, last_n and k must be >= 1")
        forward = transition_matrix(data, p["window"], p["distance_power"], p["alpha"])
        combined = _max_normalised(forward)
        if p["backward_weight"]:
            backward = transition_matrix(data, p["window"], p["distance_power"], 0.0).T
            combined = combined + p["backward_weight"] * _max_normalised(backward.tocsr())
        if p["cooc_weight"]:
            cooc = cosine_similarity(binary_matrix(data), p["k"])
            combined = combined + p["cooc_weight"] * _max_normalised(cooc)
        self.similarity = sparse_top_k_rows(combined, p["k"])
        self.tiebreak = popularity_tiebreak(data)
        log.info("transitions: %d item pairs", self.similarity.nnz)
        self.data = data
        return self

    def score(self, users: np.ndarray, data: Dataset | None = None) -> np.ndarray:
        data = data if data is not None else self.data
        history = user_history(data, users, self.params["recency"], self.params["last_n"])
        return np.asarray((history @ self.similarity).toarray(), dtype=np.float32) + self.tiebreak

    def votes(self, users: np.ndarray, data: Dataset) -> tuple[sp.csr_matrix, np.ndarray]:
        history = user_history(data, users, self.params["recency"], self.params["last_n"])
        return (history @ self.similarity).tocsr(), self.tiebreak

    def similar_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return neighbours(self.similarity, items, k)


def _max_normalised(matrix: sp.spmatrix) -> sp.csr_matrix:
    """Each row divided by its largest entry, so matrices of different scales blend."""
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    peak = np.zeros(matrix.shape[0], dtype=np.float32)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    np.maximum.at(peak, rows, matrix.data)
    matrix.data = matrix.data / peak[rows]
    return matrix
