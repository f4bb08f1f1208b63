"""Maximal marginal relevance (MMR) re-ranking, pure numpy.

Shared by serving (RECS_DIVERSITY) and the offline benchmark, so it imports nothing
from the project: no Django, no training code.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def mmr_rerank(
    candidates: np.ndarray,
    scores: np.ndarray,
    similarity_fn: Callable[[np.ndarray, int], np.ndarray],
    lam: float,
    k: int,
) -> np.ndarray:
    """Pick ``k`` of ``candidates`` greedily by (1 - lam) x relevance - lam x redundancy.

    ``candidates``: item ids (any integers), ``scores``: their relevance (higher is
    better), aligned. Relevance is min-max normalised to [0, 1] within the candidates
    (all equal: 1). Redundancy of a candidate is its largest similarity to an item
    already picked; ``similarity_fn(items, item)`` returns the similarity of each of
    ``items`` to ``item`` (e.g. cosine of item vectors, or category equality), in
    [0, 1]. ``lam`` = 0 keeps the order by score; ties go to the earlier candidate.
    Returns the picked item ids in order (at most ``k``; non-finite scores are skipped).
    """
    candidates = np.asarray(candidates)
    scores = np.asarray(scores, dtype=np.float64)
    if candidates.shape != scores.shape:
        raise ValueError("mmr_rerank: candidates and scores must be aligned")
    if not 0.0 <= lam <= 1.0:
        raise ValueError("mmr_rerank: lam must be in [0, 1]")
    finite = np.isfinite(scores)
    candidates, scores = candidates[finite], scores[finite]
    n = len(candidates)
    k = min(int(k), n)
    if k <= 0:
        return candidates[:0]
    low, high = scores.min(), scores.max()
    relevance = (scores - low) / (high - low) if high > low else np.ones(n)
    redundancy = np.zeros(n)
    free = np.ones(n, dtype=bool)
    picked = np.empty(k, dtype=np.int64)
    for step in range(k):
        value = np.where(free, (1.0 - lam) * relevance - lam * redundancy, -np.inf)
        best = int(np.argmax(value))  # first maximum: the earlier candidate wins ties
        picked[step] = best
        free[best] = False
        if lam > 0 and step + 1 < k:
            sim = np.asarray(similarity_fn(candidates, candidates[best]), dtype=np.float64)
            np.maximum(redundancy, sim, out=redundancy)
    return candidates[picked]
