"""Maximal-marginal-relevance re-ranking (pure numpy), shared by serving and evaluation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np


def mmr_rerank(
    candidates: Sequence[Any],
    scores: Sequence[float] | np.ndarray,
    similarity_fn: Callable[[Any, Any], float],
    lam: float,
    k: int,
) -> list[Any]:
    """Pick ``k`` candidates greedily by lam * relevance - (1 - lam) * max similarity.

    Relevance is ``scores`` scaled to [0, 1]; ``similarity_fn(a, b)`` is in [0, 1].
    ``lam`` = 1 keeps the ranking by score; smaller values trade relevance for
    variety. Ties keep the input order.
    """
    n = len(candidates)
    k = max(0, min(int(k), n))
    if k == 0:
        return []
    rel = np.asarray(scores, dtype=np.float64).reshape(-1)
    if rel.shape[0] != n:
        raise ValueError("candidates and scores differ in length")
    span = rel.max() - rel.min()
    rel = (rel - rel.min()) / span if span > 0 else np.ones(n)
    if lam >= 1.0:
        return [candidates[i] for i in np.argsort(-rel, kind="stable")[:k]]
    chosen: list[int] = []
    max_sim = np.zeros(n)
    left = np.ones(n, dtype=bool)
    for _ in range(k):
        value = lam * rel - (1.0 - lam) * max_sim
        value[~left] = -np.inf
        best = int(np.argmax(value))  # first of equals: input order breaks ties
        chosen.append(best)
        left[best] = False
        for j in np.flatnonzero(left):
            max_sim[j] = max(max_sim[j], similarity_fn(candidates[best], candidates[j]))
    return [candidates[i] for i in chosen]
