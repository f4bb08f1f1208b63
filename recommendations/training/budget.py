"""What a candidate would cost on this log, estimated before it trains.

A candidate whose estimate exceeds the run's budget
(RECOMMENDATIONS["CANDIDATE_BUDGET_SECONDS"], env RECS_CANDIDATE_BUDGET_SECONDS) is
skipped with a note naming the estimate and the budget; the run goes on with the
others (pipeline._skip_over_budget).

The cost model is deliberately simple: seconds of one default fit plus its evaluation
on this 2-core machine, from the log's size (events E, shoppers U, products I, the
category sizes) and the candidate's parameters. Each algorithm's term is the work that
grows fastest in its fit; the constants are rough fits to docs/performance.md's growth
table (1M, 2M, 4M events) and only need to be right within a small factor. At 4M / 400k
/ 80k (12 categories) they give 17 s (EASE) to 90 s (sasrec, measured 59 s + 11 s),
the hybrid 81 s; at 10M / 1M / 100k at most 162 s: the default budget of 1800 s leaves
every candidate of today in, and still catches a cost gone cubic or quadratic (EASE
asked to model 50,000 products: 2,500 s; co-occurrence over 10M events of 10,000
shoppers: E²/U, about 10,000 s).

- popularity, transitions, sknn: linear in E;
- cooccurrence: XᵀX has about Σ_u n_u² ≈ E²/U entries to add up;
- content: the similarity entries it computes (content.similarity_work: pairs within
  each chunk of each category above ALL_PAIRS_MAX_ITEMS, all pairs below);
- EASE: inverting a min(I, max_items)² Gram matrix, min(I, max_items)³;
- two_tower, sasrec, lightgcn: min(E, max_examples) × epochs training targets, at least
  min_steps × batch_size (small logs train min_steps batches);
- hybrid: the sum of its components (its refit fits each of them).
Every candidate adds its evaluation: the shoppers ``evaluation.evaluation_users`` samples
scored against at most the products dense scoring would (candidate ranking above that).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .evaluation import evaluation_users

# Seconds per unit of each term (rough fits, see the module docstring).
PER_EVENT = 2e-6
PER_COOCCURRENCE = 1e-6
PER_CONTENT_PAIR = 3e-8
PER_EASE_FLOP = 2e-11
PER_TF_TARGET = 2.5e-5
PER_SCORED = 1e-8
SCORED_ITEMS_MAX = 10_000  # above this, evaluation ranks candidates (algorithms/base.py)
DEFAULT_BUDGET_SECONDS = 1800.0


@dataclass(frozen=True)
class LogSize:
    """What the estimates read from a log: counts, and products per category."""

    events: int
    users: int
    items: int
    categories: tuple[int, ...] = field(default=())  # products per category (-1 included)

    @classmethod
    def of(cls, data) -> LogSize:
        """The size of a training Dataset."""
        cats: tuple[int, ...] = ()
        if data.features is not None:
            _, counts = np.unique(np.asarray(data.features.category), return_counts=True)
            cats = tuple(int(c) for c in counts)
        return cls(int(data.n_events), int(data.n_users), int(data.n_items), cats)


@dataclass(frozen=True)
class Estimate:
    name: str
    seconds: float
    why: str  # the term that dominates, in words and numbers


def _params(name: str, params: dict[str, Any] | None) -> dict[str, Any]:
    from .algorithms import algorithm_class

    return {**algorithm_class(name).defaults, **(params or {})}


def _tf_targets(p: dict[str, Any], size: LogSize) -> tuple[float, str]:
    targets = max(
        min(size.events, int(p["max_examples"])) * int(p["epochs"]),
        int(p["min_steps"]) * int(p["batch_size"]),
    )
    return targets * PER_TF_TARGET, f"{targets:,.0f} training targets (sample cap × epochs)"


def _fit_term(name: str, p: dict[str, Any], size: LogSize) -> tuple[float, str]:
    """Seconds of the dominant term of ``name``'s fit, and what it is."""
    from .algorithms.content import similarity_work

    if name == "cooccurrence":
        nnz = size.events**2 / max(size.users, 1)
        return nnz * PER_COOCCURRENCE, f"about {nnz:,.0f} co-occurrences (E²/U)"
    if name == "content":
        pairs = similarity_work(size.items, size.categories)
        return pairs * PER_CONTENT_PAIR, f"{pairs:,} product pairs compared"
    if name == "ease":
        n = min(size.items, int(p["max_items"]))
        return float(n) ** 3 * PER_EASE_FLOP, f"min(products, cap)³ = {n:,}³"
    if name in ("two_tower", "sasrec", "lightgcn"):
        return _tf_targets(p, size)
    return size.events * PER_EVENT, f"{size.events:,} events"


def estimate(
    name: str, params: dict[str, Any] | None, size: LogSize, eval_users: int = 20_000
) -> Estimate:
    """The estimated seconds of one fit and evaluation of ``name`` on a log of ``size``."""
    p = _params(name, params)
    users = min(size.users, evaluation_users(eval_users, size.items))
    scored = users * min(size.items, SCORED_ITEMS_MAX) * PER_SCORED
    linear = size.events * PER_EVENT
    if name == "hybrid":
        parts = [estimate(c, p["params"].get(c), size, eval_users) for c in p["components"]]
        seconds = sum(e.seconds for e in parts) + scored
        why = "; ".join(f"{e.name}: {e.why}" for e in parts)
        return Estimate(name, seconds, f"its components ({why})")
    seconds, why = _fit_term(name, p, size)
    return Estimate(name, seconds + linear + scored, why)


def budget_seconds() -> float:
    """The run's per-candidate budget (RECOMMENDATIONS["CANDIDATE_BUDGET_SECONDS"])."""
    from django.conf import settings

    value = settings.RECOMMENDATIONS.get("CANDIDATE_BUDGET_SECONDS", DEFAULT_BUDGET_SECONDS)
    return float(value)


def over_budget(est: Estimate, budget: float) -> str:
    """The skip note when ``est`` breaks ``budget``, else ""."""
    if est.seconds <= budget:
        return ""
    return (
        f"Skipped: estimated {est.seconds:,.0f} s for one fit and evaluation on this log "
        f"({est.why}), over the budget of {budget:,.0f} s per candidate "
        "(RECS_CANDIDATE_BUDGET_SECONDS)."
    )
