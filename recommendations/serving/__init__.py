"""Serving: what should this shopper see in this slot, now (contract: docs/serving.md).

The web process's one path to recommendations (widgets, API, admin). It reads the
active version's precomputed rows, this shopper's recent behaviour and fresh product
rows; it imports no training code, no Celery tasks and no TensorFlow.
"""

from .cache import prefetched
from .core import demoted_with, recommend, recommend_page
from .types import PAGES, RELATED_KINDS, WIDGETS, Rules, Served, ServedItem, Shopper, page_widgets
from .warmup import warm_up

__all__ = [
    "PAGES",
    "RELATED_KINDS",
    "WIDGETS",
    "Rules",
    "Served",
    "ServedItem",
    "Shopper",
    "demoted_with",
    "page_widgets",
    "prefetched",
    "recommend",
    "recommend_page",
    "warm_up",
]
