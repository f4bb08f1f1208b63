"""The one interface every recommender implements, so the pipeline can train several,
compare them on the same split and keep the best."""

from __future__ import annotations

import pickle
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from ..dataset import Dataset


class Recommender(ABC):
    """Fit on a Dataset, then score its users and list similar items.

    Row/column indices are the Dataset's: user ``u`` is ``data.user_keys[u]``, item
    ``i`` is ``data.item_ids[i]``. Scores are "higher is better"; items a user has
    already seen are masked by the caller (see ``recommend``), not by ``score``.
    """

    name: ClassVar[str]
    # Default hyper-parameters; __init__ accepts any subset as keyword arguments.
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any) -> None:
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise ValueError(f"{self.name}: unknown parameter(s) {sorted(unknown)}")
        self.params: dict[str, Any] = {**self.defaults, **params}
        self.data: Dataset | None = None

    @abstractmethod
    def fit(self, data: Dataset) -> Recommender:
        """Learn from ``data`` and keep what scoring needs; returns self."""

    @abstractmethod
    def score(self, users: np.ndarray, data: Dataset | None = None) -> np.ndarray:
        """Dense float32 scores, shape (len(users), n_items), for user row indices: a new
        array the caller owns (evaluation and the hybrid modify it in place).

        ``data`` defaults to the fitted Dataset. Passing another Dataset with the same
        ``item_ids`` scores its users from their own histories without retraining
        (fold-in): this is how fresh events are served between retrains.
        """

    # What the last fit left out at this scale (say, the share of the catalogue it
    # covered), for the version's notes; "" when nothing was left out.
    scale_note: str = ""

    # True when ``refit`` keeps the trained parameters instead of fitting again.
    refit_reuses_weights: ClassVar[bool] = False

    def refit(self, data: Dataset) -> Recommender:
        """This configuration for serving ``data``: the log it was fitted on plus the
        events held out from it (same items, same shoppers). Default: a fresh fit."""
        return type(self)(**self.params).fit(data)

    def similar_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k other items for each item index: (indices, scores), each (len(items), k).

        Rows may be padded with index -1 / score 0 where fewer than k neighbours exist.
        """
        raise NotImplementedError(f"{self.name} does not list similar items")

    def votes(self, users: np.ndarray, data: Dataset) -> tuple[sp.csr_matrix, np.ndarray] | None:
        """The model's candidates, for ranking without a dense score row: (sparse
        len(users) x n_items scores, per-item base score) such that ``score`` equals the
        sparse entries plus the base (the popularity tie-break) everywhere, or None
        when the model has no such form (it is then ranked from dense rows)."""
        return None

    # Candidates replace dense rows from CANDIDATE_MIN_ITEMS x this many products: where
    # ranking them pays for this model (bench/candidate_crossover.py, docs/performance.md).
    candidate_scale: float = 1.0

    def uses_candidates(self, data: Dataset) -> bool:
        """Whether ``recommend`` ranks candidates (a large catalogue and a model that
        proposes them) rather than a dense score row per shopper."""
        large = data.n_items >= CANDIDATE_MIN_ITEMS * self.candidate_scale
        return large and type(self).votes is not Recommender.votes

    def recommend(
        self, users: np.ndarray, k: int, data: Dataset | None = None, exclude_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k item indices and scores per user, best first; seen items get -inf.

        On a large catalogue a model with ``votes`` ranks only its candidates, topped
        up by the base score (trending); the lists are the dense ones (ties aside), and
        padding is index -1 with score -inf."""
        data = data if data is not None else self.data
        assert data is not None, "fit() first or pass data"
        users = np.asarray(users, dtype=np.int64)
        if self.uses_candidates(data):
            sparse, base = self.votes(users, data)
            seen = data.matrix[users] if exclude_seen else None
            return rank_candidates(sparse, base, seen, k)
        scores = self.score(users, data)
        if exclude_seen:
            seen = data.matrix[users]
            rows = np.repeat(np.arange(len(users)), np.diff(seen.indptr))
            scores[rows, seen.indices] = -np.inf
        return top_k(scores, k)

    # Persistence: plain pickles of numpy state by default; TensorFlow-backed
    # models export their embeddings to numpy so loading never needs TensorFlow.
    def save(self, path: Path) -> None:
        """Write the fitted model to ``path`` (a file)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)

    @staticmethod
    def load(path: Path) -> Recommender:
        """Read a model written by ``save``."""
        with open(path, "rb") as fh:
            return pickle.load(fh)


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the k largest scores per row, best first (ties: lower index)."""
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(scores, part, axis=1)
    # argpartition keeps any of the items tied at the k-th place: keep the lowest ones.
    kth = part_scores.min(axis=1, keepdims=True)
    tied = np.flatnonzero(np.count_nonzero(scores >= kth, axis=1) > k)
    if len(tied):
        sub, kth = scores[tied], kth[tied]
        equal = sub == kth
        need = k - np.count_nonzero(sub > kth, axis=1)
        keep = (sub > kth) | (equal & (np.cumsum(equal, axis=1) <= need[:, None]))
        part[tied] = np.nonzero(keep)[1].reshape(len(tied), k)
        part_scores[tied] = np.take_along_axis(sub, part[tied], axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    return idx, np.take_along_axis(part_scores, order, axis=1)


# From this many items on, models with ``votes`` rank candidates instead of dense rows:
# below it a dense row costs nothing worth saving.
CANDIDATE_MIN_ITEMS = 10_000


def rank_candidates(
    votes: sp.csr_matrix, base: np.ndarray, seen: sp.csr_matrix | None, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k per row of ``votes`` + ``base`` without a dense row: the rows' sparse
    entries (each scored vote + base), then items by base score (trending) to fill up;
    ``seen`` entries are never taken. Ties: the lower index, as ``top_k``. A row with
    no candidates gets the trending head. Padding: index -1, score -inf."""
    votes = sp.csr_matrix(votes, dtype=np.float32)
    votes.sum_duplicates()
    n_rows, n_items = votes.shape
    k = min(k, n_items)
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(votes.indptr))
    cols = votes.indices.astype(np.int64)
    values = votes.data + base[cols]
    if seen is not None and seen.nnz:
        seen_rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(seen.indptr))
        seen_keys = np.sort(seen_rows * n_items + seen.indices)
        keys = rows * n_items + cols
        at = np.minimum(np.searchsorted(seen_keys, keys), len(seen_keys) - 1)
        unseen = seen_keys[at] != keys
        rows, cols, values = rows[unseen], cols[unseen], values[unseen]
    idx = np.full((n_rows, k), -1, dtype=np.int64)
    top = np.full((n_rows, k), -np.inf, dtype=np.float32)
    order = _row_value_order(rows, values)
    rows, cols, values = rows[order], cols[order], values[order]
    counts = np.bincount(rows, minlength=n_rows)
    rank = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    keep = rank < k
    idx[rows[keep], rank[keep]] = cols[keep]
    top[rows[keep], rank[keep]] = values[keep]
    _top_up(idx, top, base, seen, np.minimum(counts, k))
    return idx, top


def _row_value_order(rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The order of entries by (row, value descending), entries given in (row, column)
    order and kept in it among equal values: one stable sort of a float key (row plus
    the value's rank in [0, 1) within the batch), a third of a three-key lexsort.

    Distinct values closer than about 1e-13 of the batch's range sort as ties; the
    float32 scores ranked here differ by more unless both are within ~1e-6 of the
    smallest (far below any list's top)."""
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    low = float(values.min())
    span = max(float(values.max()) - low, 1e-30) * (1.0 + 1e-9)
    key = rows + (1.0 - (values.astype(np.float64) - low) / span)
    return np.argsort(key, kind="stable")


def _top_up(
    idx: np.ndarray,
    top: np.ndarray,
    base: np.ndarray,
    seen: sp.csr_matrix | None,
    filled: np.ndarray,
) -> None:
    """Fill each row's free places (after ``filled``) with the best base-score items it
    has neither seen nor already taken, in place; stops at the catalogue's end."""
    n_rows, k = idx.shape
    short = np.flatnonzero(filled < k)
    if not len(short):
        return
    n_items = len(base)
    seen_counts = np.diff(seen.indptr)[short] if seen is not None else np.zeros(len(short))
    depth = int(min(n_items, k + int(seen_counts.max(initial=0))))
    head = np.lexsort((np.arange(n_items), -base))[:depth]  # trending, ties: lower index
    blocked = np.zeros((len(short), depth), dtype=bool)
    position = np.full(n_items, -1, dtype=np.int64)
    position[head] = np.arange(depth)
    for source in ([seen[short]] if seen is not None else []) + [idx[short]]:
        r, c = _pairs(source)
        at = position[c]
        blocked[r[at >= 0], at[at >= 0]] = True
    free = ~blocked
    place = filled[short][:, None] + np.cumsum(free, axis=1) - 1
    ok = free & (place < k)
    r, j = np.nonzero(ok)
    idx[short[r], place[r, j]] = head[j]
    top[short[r], place[r, j]] = base[head[j]]


def _pairs(source) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of a CSR's entries, or of a dense index array's valid (>= 0) cells."""
    if sp.issparse(source):
        return np.repeat(np.arange(source.shape[0]), np.diff(source.indptr)), source.indices
    r, j = np.nonzero(source >= 0)
    return r, source[r, j]
