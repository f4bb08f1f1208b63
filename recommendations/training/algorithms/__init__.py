"""Algorithm registry. Classes are imported lazily by dotted path, so importing this
package (as the web process may) never pulls in TensorFlow."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Recommender

# name -> "module:Class". Every entry is trained and compared by the pipeline.
ALGORITHMS: dict[str, str] = {
    "popularity": "recommendations.training.algorithms.popularity:Popularity",
    "cooccurrence": "recommendations.training.algorithms.cooccurrence:ItemCooccurrence",
    "content": "recommendations.training.algorithms.content:ContentSimilarity",
    "ease": "recommendations.training.algorithms.ease:EASE",
    "transitions": "recommendations.training.algorithms.transitions:SequentialTransitions",
    "sknn": "recommendations.training.algorithms.sknn:SessionKNN",
    "two_tower": "recommendations.training.algorithms.two_tower:TwoTower",
    "sasrec": "recommendations.training.algorithms.sasrec:SASRec",
    "lightgcn": "recommendations.training.algorithms.lightgcn:LightGCN",
    "hybrid": "recommendations.training.algorithms.hybrid:Hybrid",
}


def algorithm_class(name: str) -> type[Recommender]:
    """The class registered under ``name``; ValueError names the valid choices."""
    try:
        module_name, class_name = ALGORITHMS[name].split(":")
    except KeyError:
        raise ValueError(
            f"unknown algorithm {name!r}; choose from {', '.join(sorted(ALGORITHMS))}"
        ) from None
    return getattr(import_module(module_name), class_name)


def make_algorithm(name: str, **params: Any) -> Recommender:
    """A fresh, unfitted instance of the named algorithm."""
    return algorithm_class(name)(**params)
