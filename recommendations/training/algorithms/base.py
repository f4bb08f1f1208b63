"""The one interface every recommender implements, so the pipeline can train several,
compare them on the same split and keep the best."""

from __future__ import annotations

import pickle
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

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

    def recommend(
        self, users: np.ndarray, k: int, data: Dataset | None = None, exclude_seen: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k item indices and scores per user, best first; seen items get -inf."""
        data = data if data is not None else self.data
        assert data is not None, "fit() first or pass data"
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
