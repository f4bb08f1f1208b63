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
    ``hop_weight`` adds a second hop, ``M + hop_weight * P M`` with ``P`` the blend's
    rows normalised to sum 1 (what follows what follows the shopper's items), both
    factors cut to their ``hop_k`` strongest entries per row: on sparse session logs
    most pairs are never seen one step apart.
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
        "hop_weight": 0.0,
        "hop_k": 20,
        "k": 200,
    }

    def fit(self, data: Dataset) -> SequentialTransitions:
        p = self.params
        if min(p["window"], p["last_n"], p["k"], p["hop_k"]) < 1:
            raise ValueError("transitions: window, last_n, k and hop_k must be >= 1")
        if p["hop_weight"] < 0:
            raise ValueError("transitions: hop_weight must be >= 0")
        forward = transition_matrix(data, p["window"], p["distance_power"], p["alpha"])
        combined = _max_normalised(forward)
        if p["backward_weight"]:
            backward = transition_matrix(data, p["window"], p["distance_power"], 0.0).T
            combined = combined + p["backward_weight"] * _max_normalised(backward.tocsr())
        if p["cooc_weight"]:
            cooc = cosine_similarity(binary_matrix(data), p["k"])
            combined = combined + p["cooc_weight"] * _max_normalised(cooc)
        if p["hop_weight"]:
            combined = combined + p["hop_weight"] * _second_hop(combined, p["hop_k"])
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


def _second_hop(matrix: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """P @ M over each row's k strongest entries, P's rows summing to 1: at most k * k
    entries per row."""
    strongest = sparse_top_k_rows(matrix, k)
    sums = np.asarray(strongest.sum(axis=1)).ravel()
    step = sp.diags(1.0 / np.maximum(sums, 1e-12)).astype(np.float32) @ strongest
    return (step @ strongest).tocsr()


def _max_normalised(matrix: sp.spmatrix) -> sp.csr_matrix:
    """Each row divided by its largest entry, so matrices of different scales blend."""
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    peak = np.zeros(matrix.shape[0], dtype=np.float32)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    np.maximum.at(peak, rows, matrix.data)
    matrix.data = matrix.data / peak[rows]
    return matrix
