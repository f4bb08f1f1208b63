"""Vectorised weighted sampling of items within groups (category, type, brand)."""

from __future__ import annotations

import numpy as np


class GroupSampler:
    """Draw item indices from a weighted distribution restricted to one group per draw.

    All groups share one sorted array of cumulative weights in which group g spans
    (g, g + 1], so a whole vector of draws, each from its own group, is a single
    ``searchsorted``.
    """

    def __init__(self, groups: np.ndarray, weights: np.ndarray, n_groups: int) -> None:
        groups = np.asarray(groups, dtype=np.int64)
        weights = np.asarray(weights, dtype=np.float64)
        order = np.argsort(groups, kind="stable")
        g, w = groups[order], weights[order]
        totals = np.bincount(g, weights=w, minlength=n_groups)
        ids = np.arange(n_groups)
        start = np.searchsorted(g, ids, side="left")
        cs = np.cumsum(w)
        before = np.concatenate(([0.0], cs))[start]
        within = (cs - before[g]) / np.where(totals > 0, totals, 1.0)[g]
        positive = np.flatnonzero(w > 0)
        last = np.full(n_groups, -1, dtype=np.int64)
        np.maximum.at(last, g[positive], positive)
        first = np.full(n_groups, len(g), dtype=np.int64)
        np.minimum.at(first, g[positive], positive)
        self.order = order
        self.cum = g + within
        self.first = first
        self.last = last
        self.nonempty = totals > 0
        self.sizes = np.bincount(g[positive], minlength=n_groups)

    def sample(self, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One item per entry of ``groups``; every group asked for must be non-empty."""
        groups = np.asarray(groups, dtype=np.int64)
        if groups.size and not self.nonempty[groups].all():
            raise ValueError("cannot sample from an empty group")
        u = rng.random(groups.shape)
        pos = np.searchsorted(self.cum, groups + u, side="right")
        pos = np.clip(pos, self.first[groups], self.last[groups])
        return self.order[pos]


def sample_rows(cum_rows: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Column index drawn from each selected row of a row-wise cumulative distribution."""
    u = rng.random(len(rows)) * cum_rows[rows, -1]
    return (cum_rows[rows] < u[:, None]).sum(axis=1)


def cumulative_choice(weights: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` indices drawn with probability proportional to ``weights``."""
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    idx = np.searchsorted(cum, rng.random(size) * cum[-1], side="right")
    return np.minimum(idx, len(cum) - 1)
