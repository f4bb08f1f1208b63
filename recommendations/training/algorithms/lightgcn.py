"""LightGCN-style graph model (He et al. 2020) for next-item recommendation.

Product embeddings (id, plus category, brand and price-band embeddings so a product
without events still has a vector) are propagated over the normalised shopper-product
graph of the training log: each layer takes every product to the shoppers who had it
and back (``D^-1/2 A D^-1/2`` both ways, no weights or non-linearities between
layers), and a product's vector is the mean of its layers. A shopper is not a free
parameter: their vector is the recency-weighted mean of the propagated vectors of
their latest items, which is LightGCN's one-hop shopper vector with the newest items
counted more. So a new or changed history is scored without retraining (fold-in), as
the two-tower models do, and scoring needs numpy only.

Trained on every next-item step of the training log with a full softmax over the
products with events up to ``full_softmax_items`` products, else an in-batch sampled
softmax with logQ correction; early stopping on held-out last items like the other
TensorFlow models. One training step propagates the whole graph, so steps are few and
batches large; time grows with events x layers (bounded by ``max_examples`` targets
and ``epochs``, and to ``max_graph_work`` / (edges x layers) steps).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..dataset import Dataset
from .two_tower import (
    TwoTower,
    _collapse_repeats,
    _feature_tables,
    _histories,
    _hold_out_last,
    _training_windows,
    full_softmax,
)


class LightGCN(TwoTower):
    """Graph-propagated product vectors; shoppers as the mean of their recent items."""

    name = "lightgcn"
    defaults = {
        **TwoTower.defaults,
        "layers": 2,  # shopper <- product -> shopper rounds of propagation
        "embedding_dim": 64,
        "recency_decay": 0.7,
        "id_dropout": 0.1,
        "batch_size": 2048,  # a step propagates the whole graph: few, large batches
        "epochs": 2,  # at most, on large logs; early stopping usually ends sooner
        "min_steps": 600,
        "learning_rate": 0.005,
        "temperature": 0.1,
        "patience": 2,
        # Training steps x graph edges x layers, at most: one step propagates the whole
        # graph, so this bounds the time on large logs (1M events: about 110 steps)
        # while small logs train min_steps steps.
        "max_graph_work": 200_000_000,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        layers = self.params["layers"]
        if not isinstance(layers, int) or isinstance(layers, bool) or not 0 <= layers <= 6:
            raise ValueError(f"lightgcn: layers must be an integer in [0, 6], got {layers!r}")
        if not int(self.params["max_graph_work"]) > 0:
            raise ValueError("lightgcn: max_graph_work must be positive")

    def fit(self, data: Dataset) -> LightGCN:
        """Train the product embeddings on every next-item step of every history."""
        from . import lightgcn_model as gm

        p = self.params
        indptr, items = _collapse_repeats(data.seq_indptr, data.seq_items)
        pad, max_len, seed = data.n_items, int(p["max_len"]), int(p["seed"])
        validation = None
        if int(p["patience"]) > 0:
            indptr, items, validation = _hold_out_last(
                indptr, items, pad, max_len, int(p["early_stopping_users"]), seed
            )
        inputs, targets = _training_windows(
            indptr, items, pad, max_len, int(p["max_examples"]), seed
        )
        flat_targets = targets[targets >= 0]
        if len(flat_targets) == 0:
            raise ValueError("lightgcn: no shopper has two different items in a row to learn from")
        counts = np.bincount(items, minlength=data.n_items)
        tables = _feature_tables(data.features, counts, p)
        tables.pop("tokens")  # text is left to the two-tower models
        self.tables = tables
        target_counts = np.bincount(flat_targets, minlength=data.n_items).astype(np.float64)
        log_q = np.log(np.maximum(target_counts, 1.0) / len(flat_targets))
        cfg = {**p, "full_softmax": full_softmax(p, data.n_items)}
        graph = normalised_graph(indptr, items, data.n_items)
        work = len(graph[0]) * max(int(p["layers"]), 1)
        cfg["max_steps"] = max(1, int(p["max_graph_work"]) // max(work, 1))
        net = gm.train(tables, graph, cfg, (inputs, targets, log_q), validation=validation)
        self.epochs_trained = net.best_epoch
        self.data = data
        self.item_ids = np.asarray(data.item_ids).copy()
        self.item_popularity = counts.astype(np.float32)
        self.weights = [w.copy() for w in net.get_weights()]
        self.item_vectors = gm.final_vectors(net)
        return self

    def score(self, users: np.ndarray, data: Dataset | None = None) -> np.ndarray:
        """Cosine of each shopper's vector (recency-weighted mean of their latest items'
        vectors) with every product; numpy only."""
        data = data if data is not None else self.data
        if data is None or not hasattr(self, "item_vectors"):
            raise RuntimeError("lightgcn: fit() first")
        if not np.array_equal(np.asarray(data.item_ids), self.item_ids):
            raise ValueError("lightgcn: data.item_ids differ from the fitted item_ids")
        users = np.asarray(users, dtype=np.int64)
        if len(users) and (users.min() < 0 or users.max() >= data.n_users):
            raise ValueError("lightgcn: user index out of range")
        indptr, items = self._collapsed(data)
        seqs, lengths = _histories(indptr, items, users, data.n_items, int(self.params["max_len"]))
        queries = shopper_vectors(self.item_vectors, seqs, lengths, self.params["recency_decay"])
        scores = queries @ self.item_vectors.T
        known = lengths > 0
        pop = self.item_popularity  # no history: popularity, in the cosine range
        scores[~known] = pop / max(float(pop.max()), 1.0)
        return scores

    def _network(self) -> Any:
        raise RuntimeError("lightgcn scores with numpy; it keeps no network")


def shopper_vectors(
    vectors: np.ndarray, seqs: np.ndarray, lengths: np.ndarray, decay: float
) -> np.ndarray:
    """Unit vectors of right-padded histories: item vectors weighted ``decay`` ** (items
    after it), as ``lightgcn_model.GraphNet.encode`` computes them in training."""
    dim = vectors.shape[1]
    padded = np.vstack([vectors, np.zeros((1, dim), dtype=vectors.dtype)])
    positions = np.arange(seqs.shape[1])[None, :]
    age = lengths[:, None] - 1 - positions
    weights = np.where(positions < lengths[:, None], float(decay) ** np.maximum(age, 0), 0.0)
    queries = np.einsum("bl,bld->bd", weights.astype(np.float32), padded[seqs])
    norms = np.linalg.norm(queries, axis=1, keepdims=True)
    return (queries / np.maximum(norms, 1e-12)).astype(np.float32)


def normalised_graph(
    indptr: np.ndarray, items: np.ndarray, n_items: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """The shopper-product graph of the histories as COO (shopper rows, product columns,
    1 / sqrt(shopper degree x product degree), shape): each pair once."""
    n_users = len(indptr) - 1
    users = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(indptr))
    pairs = np.unique(users * n_items + items.astype(np.int64))
    rows, cols = pairs // n_items, pairs % n_items
    user_degree = np.bincount(rows, minlength=n_users).astype(np.float64)
    item_degree = np.bincount(cols, minlength=n_items).astype(np.float64)
    values = 1.0 / np.sqrt(user_degree[rows] * item_degree[cols])
    return rows, cols, values.astype(np.float32), (n_users, n_items)
