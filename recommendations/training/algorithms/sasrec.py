"""SASRec-style self-attention sequence model (Kang & McAuley 2018), on the two-tower code.

Item embeddings (id, plus the item's category/brand/price/text codes when the log has
them, so new products still get a vector) plus learned position embeddings, a few
causal pre-norm self-attention blocks over the shopper's recent items, and the output
at the newest item scored against every item vector. Trained on every next-item step
with a full softmax over every product with events when the catalogue has at most
``full_softmax_items`` products (10,000: the shared datasets; the cross-entropy over
all items is what makes SASRec competitive, Klenitskiy & Vasilev 2023), else a sampled
softmax: each batch's distinct targets are the candidates (in-batch negatives, drawn in
proportion to popularity) with a logQ correction, CPU-friendly at any catalogue size.
``softmax`` ("auto", "full", "sampled") is tuned on validation like the rest. Early
stopping on held-out last items of the training log picks the number of epochs;
training is deterministic under ``seed`` (TensorFlow op determinism, seeded batches and
dropout).

Numpy-only at import like ``two_tower``: pickles hold numpy weights.
"""

from __future__ import annotations

from .two_tower import TwoTower


class SASRec(TwoTower):
    """Self-attention next-item model; see the module docstring."""

    name = "sasrec"
    defaults = {
        **TwoTower.defaults,
        "encoder": "attention",
        "embedding_dim": 64,
        "blocks": 2,
        "heads": 2,
        "dropout": 0.5,
        "id_dropout": 0.0,
        "max_len": 20,
        "epochs": 8,  # at most, on large logs; early stopping usually ends sooner
        "min_steps": 2000,  # small logs: up to this many batches, early stopping decides
        "temperature": 0.2,
        "max_examples": 400_000,
        "patience": 2,
    }
