"""Hybrid: a weighted blend of other algorithms after per-user score normalisation."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..dataset import Dataset
from .base import Recommender
from .cooccurrence import neighbours

log = logging.getLogger(__name__)


def normalise_rows(scores: np.ndarray, inplace: bool = False) -> np.ndarray:
    """Scale each row to [0, 1] by (s - min) / (max - min) over finite scores.

    ``inplace`` reuses ``scores`` (float32) for the result. Scores are nearly always
    all finite: that case takes three passes instead of about ten (same values).
    """
    if scores.dtype == np.float32 and np.isfinite(scores).all():
        low = scores.min(axis=1, keepdims=True)
        high = scores.max(axis=1, keepdims=True)
        span = np.where(high > low, high - low, np.float32(1.0))
        out = np.subtract(scores, low, out=scores if inplace else None)
        return np.divide(out, span, out=out)
    finite = np.where(np.isfinite(scores), scores, np.nan)
    low = np.nanmin(finite, axis=1, keepdims=True)
    high = np.nanmax(finite, axis=1, keepdims=True)
    span = np.where(high > low, high - low, 1.0)
    return np.nan_to_num((finite - low) / span, nan=0.0).astype(np.float32)


def standardise_rows(scores: np.ndarray, inplace: bool = False) -> np.ndarray:
    """Z-score each row: (s - mean) / std over finite scores (std 0: all zeros).

    ``inplace`` reuses ``scores`` (float32) for the result when they are all finite.
    """
    if scores.dtype == np.float32 and np.isfinite(scores).all():
        mean = scores.mean(axis=1, keepdims=True)
        std = scores.std(axis=1, keepdims=True)
        std = np.where(std > 0, std, np.float32(1.0))
        out = np.subtract(scores, mean, out=scores if inplace else None)
        return np.divide(out, std, out=out)
    finite = np.where(np.isfinite(scores), scores, np.nan).astype(np.float32)
    mean = np.nanmean(finite, axis=1, keepdims=True)
    std = np.nanstd(finite, axis=1, keepdims=True)
    std = np.where(std > 0, std, 1.0)
    return np.nan_to_num((finite - mean) / std, nan=0.0).astype(np.float32)


NORMALISERS = {"minmax": normalise_rows, "zscore": standardise_rows}


def normalise_scores(scores: np.ndarray, how: str, inplace: bool = False) -> np.ndarray:
    """Scores made comparable across models: "minmax" to [0, 1], or "zscore".

    ``inplace``: the result may overwrite ``scores`` (callers that own them)."""
    try:
        normaliser = NORMALISERS[how]
    except KeyError:
        raise ValueError(f"hybrid: normalise must be one of {sorted(NORMALISERS)}") from None
    return normaliser(scores, inplace=inplace)


class Hybrid(Recommender):
    """Fits every component and scores sum(weight x normalised scores).

    ``components``: {algorithm name: weight}; ``params``: {algorithm name: {param:
    value}} for the components; ``normalise``: "minmax" (each shopper's scores to
    [0, 1]) or "zscore" (standardised). The pipeline tunes weights, component
    parameters and normalisation on each log (training/tuning.py); these defaults
    are only the starting point when a hybrid is trained untuned.
    """

    name = "hybrid"
    defaults: dict[str, Any] = {
        "components": {"transitions": 0.5, "content": 1.0, "ease": 0.5, "popularity": 0.05},
        "params": {},
        "normalise": "minmax",
    }

    def fit(self, data: Dataset) -> Hybrid:
        from . import make_algorithm  # the registry imports this module lazily

        components = self.params["components"]
        if not components or any(w < 0 for w in components.values()):
            raise ValueError("hybrid: components must be a non-empty {name: weight >= 0}")
        if "hybrid" in components:
            raise ValueError("hybrid: a hybrid cannot contain itself")
        if self.params["normalise"] not in NORMALISERS:
            raise ValueError(f"hybrid: normalise must be one of {sorted(NORMALISERS)}")
        unknown = set(self.params["params"]) - set(components)
        if unknown:
            raise ValueError(f"hybrid: params for unknown component(s) {sorted(unknown)}")
        self.models: dict[str, Recommender] = {}
        for name, weight in components.items():
            if weight > 0:
                log.info("hybrid: fitting %s", name)
                model = make_algorithm(name, **self.params["params"].get(name, {}))
                self.models[name] = model.fit(data)
        self.data = data
        return self

    def refit(self, data: Dataset) -> Hybrid:
        """The same blend for serving ``data``: each component refitted its own way (the
        TensorFlow ones keep their trained weights, the counts-based ones fit again)."""
        model = Hybrid(**self.params)
        model.models = {name: m.refit(data) for name, m in self.models.items()}
        model.data = data
        return model

    def reused_components(self) -> list[str]:
        """Components whose ``refit`` keeps their trained weights."""
        return [name for name, m in self.models.items() if m.refit_reuses_weights]

    def score(self, users: np.ndarray, data: Dataset | None = None) -> np.ndarray:
        data = data if data is not None else self.data
        total = np.zeros((len(users), data.n_items), dtype=np.float32)
        how = self.params.get("normalise", "minmax")
        for name, model in self.models.items():
            # Each component's scores are a fresh array: normalise and weight in place.
            scores = normalise_scores(model.score(users, data), how, inplace=True)
            scores *= np.float32(self.params["components"][name])
            total += scores
        return total

    def similar_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        items = np.asarray(items, dtype=np.int64)
        n = self.data.n_items
        blended = sp.csr_matrix((len(items), n), dtype=np.float32)
        for name, model in self.models.items():
            try:
                idx, val = model.similar_items(items, 2 * k)
            except NotImplementedError:
                continue
            peak = np.maximum(val.max(axis=1, keepdims=True), 1e-12)
            ok = idx >= 0
            rows = np.repeat(np.arange(len(items)), ok.sum(axis=1))
            part = sp.csr_matrix(
                ((val / peak)[ok] * self.params["components"][name], (rows, idx[ok])),
                shape=(len(items), n),
            )
            blended = blended + part
        return neighbours(blended.tocsr(), np.arange(len(items)), k)
