"""Time-decayed popularity ("trending"): the baseline and the cold-start fallback."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..dataset import Dataset
from .base import Recommender


class Popularity(Recommender):
    """Scores every item by the sum of its decayed event weights; same list for everyone."""

    name = "popularity"
    defaults = {}

    def fit(self, data: Dataset) -> Popularity:
        self.data = data
        self.item_scores = np.asarray(data.matrix.sum(axis=0), dtype=np.float32).ravel()
        return self

    def score(self, users: np.ndarray, data: Dataset | None = None) -> np.ndarray:
        return np.broadcast_to(self.item_scores, (len(users), len(self.item_scores))).copy()

    def votes(self, users: np.ndarray, data: Dataset) -> tuple[sp.csr_matrix, np.ndarray]:
        """No candidates of its own: every list is the trending top-up."""
        empty = sp.csr_matrix((len(users), len(self.item_scores)), dtype=np.float32)
        return empty, self.item_scores
