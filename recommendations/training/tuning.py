"""Per-log tuning and noise-aware selection, on one evaluation split only.

Everything here reads ``split.train`` (to fit) and ``split.test_items`` (to judge),
nothing else: the caller decides which split that is. The pipeline passes the split
of today's log that holds out each shopper's last interaction; ``bench/quality.py``
passes the same kind of split of the *test split's training part* (the
second-to-last interaction, the validation split), so the test part is never read
while tuning or choosing.

- ``tune``: a coordinate search per algorithm over a small grid of its key
  parameters, starting from its defaults, inside a time budget proportional to what
  one fit and evaluation of the defaults costs on this log (so large logs get fewer
  trials and small logs the whole grid). Trials are judged on a seeded sample of the
  split's shoppers; the chosen configuration is then judged on the full sample.
- ``tune_hybrid``: the hybrid's component weights (and score normalisation) are
  chosen from the components' cached scores on the split, without refitting them.
  The weights are searched on half the split's shoppers (``judging_rows``); the
  other half judges every candidate in ``choose``, so the hybrid is not judged on the
  shoppers its weights were chosen for.
- ``choose``: the candidate with the best primary metric, unless a simpler one is
  within noise of it (a paired bootstrap over the same shoppers cannot tell them
  apart at 95%): then the simplest such candidate.
- ``promotion_decision``: a challenger replaces the champion only when the paired
  bootstrap says it is better with 95% confidence, or by at least a margin.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .algorithms import make_algorithm
from .algorithms.base import Recommender
from .algorithms.hybrid import Hybrid, normalise_scores
from .evaluation import Split, evaluate, metrics_from_ranks, paired_bootstrap, split_leave_last_out

log = logging.getLogger(__name__)

# Key parameters searched per algorithm, in the order they are visited. Each list
# holds the default too, so the search can always keep it.
SEARCH_SPACES: dict[str, dict[str, list]] = {
    "popularity": {},
    "content": {"k": [20, 50, 200], "recency": [0.5, 0.8, 1.0]},
    "cooccurrence": {"k": [20, 50, 200], "alpha": [0.5, 0.8], "recency": [0.8, 1.0]},
    "ease": {"l2": [50.0, 200.0, 500.0, 1500.0, 5000.0]},
    "transitions": {
        # First, so a trial-count budget always reaches it: on sparse session logs
        # (DIGINETICA) the second hop is worth more than any other parameter.
        "hop_weight": [0.0, 0.3, 1.0, 2.0],
        "window": [1, 2, 3, 5, 10],
        "recency": [0.3, 0.5, 0.8, 1.0],
        "last_n": [3, 5, 10],
        "backward_weight": [0.0, 0.5, 1.0],
        "cooc_weight": [0.0, 0.5],
        "distance_power": [0.5, 1.0, 2.0],
        "alpha": [0.0, 0.5],
    },
    "sknn": {
        "proximity": [0.3, 0.5, 1.0],
        "before_weight": [0.0, 0.5, 1.0],
        "recency": [0.3, 0.5, 0.8],
        "k": [20, 100, 300],
        "length_norm": [0.0, 0.5],
    },
    # "auto" is the full softmax up to full_softmax_items products, sampled above.
    "two_tower": {"softmax": ["auto", "sampled"], "embedding_dim": [32, 64], "epochs": [3, 6]},
    "sasrec": {"softmax": ["auto", "sampled"], "embedding_dim": [32, 64], "blocks": [1, 2]},
    "lightgcn": {
        "layers": [1, 2, 3],
        "recency_decay": [0.5, 0.7, 0.9],
        "softmax": ["auto", "sampled"],
    },
}
# Simpler first: between candidates that noise cannot tell apart, the cheaper wins.
COMPLEXITY: dict[str, int] = {
    "popularity": 0,
    "cooccurrence": 1,
    "content": 1,
    "transitions": 1,
    "sknn": 1,
    "ease": 2,
    "two_tower": 3,
    "sasrec": 3,
    "lightgcn": 3,
    "hybrid": 4,
}
HYBRID_WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)
HYBRID_NORMALISATIONS = ("minmax", "zscore")
# A weight change is kept only when it raises the split's metric by this share (1%):
# the weights are judged on the same shoppers they are chosen on, so smaller gains are
# mostly noise, and every component they add makes the blend slower to serve and its
# comparison with the simpler candidates less certain.
HYBRID_MIN_GAIN = 0.01
# The weight search starts from each of this many best components alone, and from all
# of them at weight 1 (``_starts``).
HYBRID_STARTS = 2
# Share of the split's tested shoppers that judge the choice when a hybrid's weights are
# searched: the weights are chosen on the others (``judging_rows``).
JUDGE_SHARE = 0.5
# "Better with 95% confidence" is one-sided: the lower end of the paired bootstrap's
# two-sided 90% interval above 0 (a two-sided 95% interval would demand 97.5%).
DECISION_INTERVAL = 0.90
# Cached component scores for the hybrid search: at most this many bytes.
HYBRID_CACHE_BYTES = 600 * 1024**2


@dataclass
class Tuned:
    """One candidate after tuning: its configuration and its scores on the split."""

    name: str
    params: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    per_user: np.ndarray | None = None  # primary metric per evaluated shopper
    rows: np.ndarray | None = None  # the rows of split.test_users ``per_user`` covers
    # A searched hybrid's ``judging_rows`` (bool per row of split.test_users): the
    # shoppers its weights never saw, on which ``choose`` judges every candidate.
    judge: np.ndarray | None = None
    model: Recommender | None = None
    trials: list[tuple[dict, float]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    tuned: bool = False
    error: str = ""

    @property
    def complexity(self) -> int:
        return COMPLEXITY.get(self.name, 3)


def _split_metric(metric: str) -> tuple[str, int]:
    name, _, k = metric.partition("@")
    return name, int(k or 10)


def _evaluate(
    model: Recommender, split: Split, metric: str, max_users: int | None, fit: bool, seed: int
) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """Metrics (primary first), the per-shopper primary metric of ``model`` and the rows
    of ``split.test_users`` it covers."""
    name, k = _split_metric(metric)
    result = evaluate(model, split, k=k, max_users=max_users, fit=fit, seed=seed, per_user=True)
    per_user = result.pop("per_user")[name]
    return result, per_user, result.pop("rows")


def judging_rows(split: Split, seed: int = 0) -> np.ndarray:
    """A seeded partition of ``split.test_users``: True for the shoppers that judge the
    choice between candidates, False for those the hybrid's weights are searched on.

    The weights are chosen to score well on their own shoppers; judged on the same
    ones, the hybrid would look better than it is next to the single candidates.
    """
    rng = np.random.default_rng([seed, 24])
    return rng.random(len(split.test_users)) < JUDGE_SHARE


def tune(
    name: str,
    split: Split,
    metric: str = "ndcg@10",
    *,
    params: dict[str, Any] | None = None,
    budget_factor: float = 1.0,
    min_budget: float = 2.0,
    max_users: int | None = 20000,
    trial_users: int = 5000,
    seed: int = 0,
    search: bool = True,
    max_trials: int | None = None,
) -> Tuned:
    """Fit ``name`` with ``params`` (its defaults when None), then, if ``search``,
    visit the grid of SEARCH_SPACES[name] one parameter at a time.

    The search stops when the next trial would exceed the budget:
    ``max(min_budget, budget_factor x cost of the first fit and evaluation)`` seconds,
    or, when ``max_trials`` is given, after that many trials whatever they cost (the
    same choice on a busy machine as on an idle one).
    """
    fixed = dict(params or {})
    out = Tuned(name=name, params=fixed)
    started = time.perf_counter()
    space = SEARCH_SPACES.get(name, {}) if search else {}
    budget = (budget_factor, min_budget, max_trials)
    try:
        best_model = _coordinate_search(
            name,
            split,
            metric,
            fixed,
            space,
            out.trials,
            budget,
            trial_users=trial_users,
            seed=seed,
        )
    except Exception as exc:  # one broken candidate must not stop the others
        log.exception("candidate %s failed", name)
        out.error = f"{type(exc).__name__}: {exc}"
        return out
    tune_seconds = time.perf_counter() - started
    out.params = {**fixed, **_diff(best_model.params, best_model.defaults)}
    out.tuned = search and len(out.trials) > 1
    t0 = time.perf_counter()
    out.metrics, out.per_user, out.rows = _evaluate(
        best_model, split, metric, max_users, False, seed
    )
    return _finish(out, best_model, tune_seconds, t0)


def _coordinate_search(
    name: str,
    split: Split,
    metric: str,
    fixed: dict[str, Any],
    space: dict[str, list],
    trials: list[tuple[dict, float]],
    budget: tuple[float, float, int | None],
    *,
    trial_users: int,
    seed: int,
) -> Recommender:
    """The best model found from ``fixed`` by changing one parameter of ``space`` at a
    time, within ``max(min_budget, budget_factor x cost of the first trial)`` seconds, or
    ``max_trials`` trials when that is not None (``budget`` = (budget_factor,
    min_budget, max_trials)); every trial is appended to ``trials``."""
    started = time.perf_counter()
    best_model = make_algorithm(name, **fixed)
    first, _, _ = _evaluate(best_model, split, metric, trial_users, True, seed)
    best_score = first[metric]
    trials.append((dict(fixed), best_score))
    last_cost = time.perf_counter() - started
    seconds = max(budget[1], budget[0] * last_cost)
    for key, value in ((key, value) for key, values in space.items() for value in values):
        current = {**best_model.params, key: value}
        if key in fixed or value == best_model.params.get(key):
            continue
        if _spent(budget[2], len(trials), time.perf_counter() - started + last_cost, seconds):
            log.info("tune %s: budget spent after %d trials", name, len(trials))
            break
        trial_start = time.perf_counter()
        candidate_params = {**fixed, **_diff(current, best_model.defaults)}
        model = make_algorithm(name, **candidate_params)
        result, _, _ = _evaluate(model, split, metric, trial_users, True, seed)
        last_cost = time.perf_counter() - trial_start
        trials.append((candidate_params, result[metric]))
        if result[metric] > best_score + 1e-12:
            best_model, best_score = model, result[metric]
        else:
            del model
    return best_model


def _spent(max_trials: int | None, done: int, seconds_after_next: float, seconds: float) -> bool:
    """Whether the search budget is spent: a trial count when given, else wall-clock."""
    if max_trials is not None:
        return done >= max_trials
    return seconds_after_next > seconds


def _finish(out: Tuned, model: Recommender, tune_seconds: float, evaluated_from: float) -> Tuned:
    """``out`` with its model and timings; fit and score times are not metrics here."""
    out.model = model
    out.timings = {
        "tune": round(tune_seconds, 3),
        "evaluate": round(time.perf_counter() - evaluated_from, 3),
    }
    out.metrics.pop("fit_seconds", None)
    out.metrics.pop("score_seconds", None)
    return out


def _diff(params: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``params`` that differ from ``defaults`` (what a version stores)."""
    return {key: value for key, value in params.items() if defaults.get(key) != value}


# ---------------------------------------------------------------- hybrid


def _hybrid_users(
    split: Split, n_components: int, max_users: int | None, seed: int, allowed: np.ndarray
) -> np.ndarray:
    """Rows of split.test_users (among the ``allowed`` ones, a bool mask) whose component
    scores fit in HYBRID_CACHE_BYTES."""
    rows = np.flatnonzero(allowed)
    per_user_bytes = max(1, n_components) * split.train.n_items * 4
    cap = max(200, HYBRID_CACHE_BYTES // per_user_bytes)
    if max_users is not None:
        cap = min(cap, max_users)
    if len(rows) > cap:
        rows = np.sort(np.random.default_rng(seed).choice(rows, cap, replace=False))
    return rows


def held_out_ranks(scores: np.ndarray, rows: np.ndarray, items: np.ndarray, k: int) -> np.ndarray:
    """Rank (0 = first) of each held-out (row, item) in its row of ``scores``, ordered as
    ``top_k`` orders (higher first; ties: lower index); ranks >= k are misses.

    Exact and cheaper than a top-k per trial: one comparison pass over the scores, and
    ties are counted only where they could still make a hit. Excluded (-inf) held-out
    items are misses.
    """
    # One held-out item per row (leave-last-out): rank in place, no copy of the rows.
    one_each = len(rows) == len(scores) and np.array_equal(rows, np.arange(len(rows)))
    view = scores if one_each else scores[rows]
    target = view[np.arange(len(rows)), items]
    ranks = np.count_nonzero(view > target[:, None], axis=1)
    finite = np.isfinite(target)
    ranks[~finite] = k
    close = np.flatnonzero(finite & (ranks < k))
    if len(close):
        sub = view[close]
        before = np.arange(view.shape[1])[None, :] < items[close, None]
        ranks[close] += np.count_nonzero((sub == target[close, None]) & before, axis=1)
    return ranks


class _Blends:
    """Weighted blends of cached (normalised) component scores, judged on held-out items.

    A coordinate search changes one weight at a time, so the blend of the other
    components (``base``, with seen items at -inf) is computed once per component and
    each trial costs one multiply-add over the cache plus ``held_out_ranks``.
    """

    def __init__(self, cache: dict[str, np.ndarray], seen: np.ndarray, test_items, metric: str):
        self.cache, self.seen = cache, seen
        self.name, self.k = _split_metric(metric)
        self.rows = np.repeat(np.arange(test_items.shape[0]), np.diff(test_items.indptr))
        self.items = test_items.indices.astype(np.int64)
        self.n_relevant = np.diff(test_items.indptr)
        shape = seen.shape
        self.base = np.empty(shape, dtype=np.float32)
        self.trial = np.empty(shape, dtype=np.float32)

    def set_base(self, weights: dict[str, float], without: str | None = None) -> None:
        """``base`` = the blend of every weighted component but ``without``."""
        self.base.fill(0.0)
        for comp, w in weights.items():
            if w and comp != without:
                np.multiply(self.cache[comp], np.float32(w), out=self.trial)
                self.base += self.trial
        self.base[self.seen] = -np.inf

    def judge(self, comp: str | None = None, w: float = 0.0) -> float:
        """Mean primary metric of ``base`` plus ``w`` x component ``comp``."""
        if comp is None or not w:
            total = self.base
        else:
            np.multiply(self.cache[comp], np.float32(w), out=self.trial)
            self.trial += self.base
            total = self.trial
        ranks = held_out_ranks(total, self.rows, self.items, self.k)
        per_user = metrics_from_ranks(self.rows, ranks, self.n_relevant, self.k)
        return float(per_user[self.name].mean())


def tune_hybrid(
    components: list[Tuned],
    split: Split,
    metric: str = "ndcg@10",
    *,
    max_users: int | None = 20000,
    seed: int = 0,
    judge: np.ndarray | None = None,
) -> Tuned:
    """Choose the hybrid's weights over already tuned and fitted ``components``.

    ``judge`` (bool per row of ``split.test_users``; default ``judging_rows(split,
    seed)``): the shoppers kept for judging the choice, stored on the result for
    ``choose``; the weights are searched on the others only. Component scores on a
    sample of the searched shoppers are computed once and cached; a
    coordinate search over HYBRID_WEIGHTS (two passes) and the two score normalisations
    then only re-blends them (``_Blends``: one multiply-add and one ranking pass per
    trial). Starts from the best components alone (on the searched shoppers) and from
    all of them together (``_starts``), and keeps a change only when it gains at least
    HYBRID_MIN_GAIN.
    """
    started = time.perf_counter()
    comps = [c for c in components if c.model is not None and not c.error]
    out = Tuned(name="hybrid", params={})
    if not comps:
        out.error = "no fitted component to blend"
        return out
    judge = judging_rows(split, seed) if judge is None else judge
    out.judge, searched = judge, ~judge
    comps.sort(key=lambda c: -_mean_on(c, searched, metric))
    rows = _hybrid_users(split, len(comps), max_users, seed, searched)
    users = split.test_users[rows]
    sample = (users, split.test_items[rows], _seen(split, users))
    best_weights = _alone(comps)
    best_norm, best_score = HYBRID_NORMALISATIONS[0], -1.0
    for norm in HYBRID_NORMALISATIONS:
        weights, score = _search_weights(comps, split, sample, metric, norm, out.trials)
        if score > best_score + 1e-12:
            best_norm, best_weights, best_score = norm, weights, score
    used = {name: w for name, w in best_weights.items() if w > 0}
    by_name = {c.name: c for c in comps}
    hybrid = _hybrid(used, by_name, best_norm, split)
    tune_seconds = time.perf_counter() - started
    t0 = time.perf_counter()
    out.metrics, out.per_user, out.rows = _evaluate(hybrid, split, metric, max_users, False, seed)
    # Guarantee: never below its best component on the searched shoppers (equal alone).
    best_comp = comps[0]
    if _mean_on(out, searched, metric) < _mean_on(best_comp, searched, metric):
        used = {best_comp.name: 1.0}
        hybrid = _hybrid(used, by_name, best_norm, split)
        out.metrics, out.per_user, out.rows = _evaluate(
            hybrid, split, metric, max_users, False, seed
        )
    out.params = {
        "components": used,
        "params": {name: by_name[name].params for name in used},
        "normalise": best_norm,
    }
    out.tuned = True
    return _finish(out, hybrid, tune_seconds, t0)


def _mean_on(t: Tuned, allowed: np.ndarray, metric: str) -> float:
    """Mean primary metric of ``t`` over its evaluated shoppers whose row is ``allowed``
    (its whole-sample metric when it has no per-shopper rows)."""
    if t.per_user is None or t.rows is None:
        return t.metrics.get(metric, 0.0)
    keep = allowed[t.rows]
    return float(t.per_user[keep].mean()) if keep.any() else 0.0


def _seen(split: Split, users: np.ndarray) -> np.ndarray:
    """users x items: True where the shopper already has the item in ``split.train``."""
    seen = np.zeros((len(users), split.train.n_items), dtype=bool)
    seen_rows = split.train.matrix[users]
    seen[np.repeat(np.arange(len(users)), np.diff(seen_rows.indptr)), seen_rows.indices] = True
    return seen


def _alone(comps: list[Tuned]) -> dict[str, float]:
    """Weights of the first (best) component alone."""
    weights = {c.name: 0.0 for c in comps}
    weights[comps[0].name] = 1.0
    return weights


def _search_weights(
    comps: list[Tuned],
    split: Split,
    sample: tuple[np.ndarray, Any, np.ndarray],
    metric: str,
    norm: str,
    trials: list[tuple[dict, float]],
) -> tuple[dict[str, float], float]:
    """The best weights with normalisation ``norm`` and their score over ``sample``
    (users, held-out items, seen): up to two coordinate passes from each of
    ``_starts(comps)``; a later start's result replaces the first one's only when it
    gains at least HYBRID_MIN_GAIN (one start alone can stop where no single change
    gains enough, with a better blend two changes away)."""
    users, test_items, seen = sample
    # Scored again per normalisation (seconds) rather than keeping a raw copy of
    # every component's scores beside the normalised one (HYBRID_CACHE_BYTES more).
    cache = {
        c.name: normalise_scores(c.model.score(users, split.train), norm, inplace=True)
        for c in comps
    }
    blends = _Blends(cache, seen, test_items, metric)
    best_weights, best_score = {}, -1.0
    for weights in _starts(comps):
        blends.set_base(weights)
        score = blends.judge()
        trials.append(({"normalise": norm, "components": dict(weights)}, score))
        for _ in range(2):
            before = score
            for c in comps:
                weights, score = _search_weight(blends, c.name, weights, score, norm, trials)
            if score <= before + 1e-12:
                break  # a pass that changed nothing: another one would repeat it
        if not best_weights or score > best_score * (1.0 + HYBRID_MIN_GAIN) + 1e-12:
            best_weights, best_score = weights, score
    return best_weights, best_score


def _starts(comps: list[Tuned]) -> list[dict[str, float]]:
    """Where the weight search starts: each of the HYBRID_STARTS best components alone
    (best first), then every component at weight 1."""
    starts = []
    for c in comps[:HYBRID_STARTS]:
        weights = {o.name: 0.0 for o in comps}
        weights[c.name] = 1.0
        starts.append(weights)
    if len(comps) > 1:
        starts.append({c.name: 1.0 for c in comps})
    return starts


def _search_weight(
    blends: _Blends,
    name: str,
    weights: dict[str, float],
    score: float,
    norm: str,
    trials: list[tuple[dict, float]],
) -> tuple[dict[str, float], float]:
    """Try every HYBRID_WEIGHTS value for component ``name``, the others' kept; a change
    is kept only when it gains at least HYBRID_MIN_GAIN."""
    blends.set_base(weights, without=name)  # the others' weights stay put
    for w in HYBRID_WEIGHTS:
        if w == weights[name]:
            continue
        trial = {**weights, name: w}
        if not any(trial.values()):
            continue
        s = blends.judge(name, w)
        trials.append(({"normalise": norm, "components": trial}, s))
        if s > score * (1.0 + HYBRID_MIN_GAIN) + 1e-12:
            weights, score = trial, s
    return weights, score


def _hybrid(used: dict[str, float], by_name: dict[str, Tuned], norm: str, split: Split) -> Hybrid:
    """A Hybrid over the fitted components ``used`` (name -> weight)."""
    hybrid = Hybrid(
        components=used,
        params={name: by_name[name].params for name in used},
        normalise=norm,
    )
    hybrid.models = {name: by_name[name].model for name in used}
    hybrid.data = split.train
    return hybrid


def tune_candidates(
    names: list[str],
    split: Split,
    metric: str = "ndcg@10",
    *,
    params: dict[str, dict] | None = None,
    search: bool = True,
    budget_factor: float = 1.0,
    min_budget: float = 10.0,
    max_users: int | None = 20000,
    seed: int = 0,
    max_trials: int | dict[str, int] | None = None,
) -> dict[str, Tuned]:
    """Tune every named candidate on ``split`` (names with explicit ``params`` keep them).

    "hybrid" is blended from the other candidates' fitted models (from its default
    components, tuned here, when no other candidate ran), its weights searched on the
    shoppers ``judging_rows`` leaves out, the others kept for ``choose``. Fitted models
    stay on the results (``model``) for the caller to use or drop. ``max_trials``: see
    ``tune``; a dict gives it per name (names it leaves out get a wall-clock budget).
    """
    params = params or {}
    common = {"max_users": max_users, "seed": seed}
    out: dict[str, Tuned] = {}

    def budget(name: str) -> dict[str, Any]:
        trials = max_trials.get(name) if isinstance(max_trials, dict) else max_trials
        return {"budget_factor": budget_factor, "min_budget": min_budget, "max_trials": trials}

    for name in names:
        if name != "hybrid":
            search_it = search and name not in params
            out[name] = tune(
                name,
                split,
                metric,
                params=params.get(name),
                search=search_it,
                **budget(name),
                **common,
            )
    if "hybrid" not in names:
        return out
    if "hybrid" in params or not search:
        out["hybrid"] = tune(
            "hybrid", split, metric, params=params.get("hybrid"), search=False, **common
        )
        return out
    pool = [t for n, t in out.items() if n in COMPLEXITY and t.model is not None]
    if not pool:
        defaults = Hybrid.defaults["components"]
        pool = [tune(n, split, metric, **budget(n), **common) for n in defaults]
    out["hybrid"] = tune_hybrid(pool, split, metric, **common)
    return out


def select_on_validation(
    test: Split, names: list[str], metric: str = "ndcg@10", **kwargs: Any
) -> tuple[Split, dict[str, Tuned], Tuned, dict[str, str]]:
    """Tune and choose without reading ``test``'s held-out items.

    The validation split holds out the last interaction of ``test.train`` (the
    second-to-last one of the log); every candidate is tuned and the winner chosen
    on it. Returns (validation split, tuned candidates, chosen one, notes).
    """
    validation = split_leave_last_out(test.train)
    tuned = tune_candidates(names, validation, metric, **kwargs)
    chosen, notes = choose(list(tuned.values()), metric)
    return validation, tuned, chosen, notes


# ---------------------------------------------------------------- choosing


def choose(candidates: list[Tuned], metric: str, seed: int = 0) -> tuple[Tuned, dict[str, str]]:
    """The candidate to serve, and a note per candidate name.

    The best by ``metric`` wins unless a simpler candidate is within noise of it (the
    paired bootstrap cannot say best - simpler > 0 with 95% confidence: the lower end
    of its DECISION_INTERVAL reaches 0): then the simplest such candidate (ties in
    complexity: the better score). A candidate that
    another one at most as complex out-scores is never that simpler choice: pairwise
    intervals are not transitive (a weaker model less correlated with the best can be
    "within noise" where a stronger one of the same complexity is not), and serving
    the weaker of two equally simple models would be worse on every count.

    When a candidate is a hybrid whose weights were searched (``Tuned.judge``), every
    candidate is judged on the shoppers those weights never saw.
    """
    ok = [c for c in candidates if not c.error and c.per_user is not None]
    if not ok:
        raise ValueError("no candidate to choose from")
    judged = _judged(ok)
    score = {id(c): float(judged[id(c)].mean()) for c in ok}
    best = max(ok, key=lambda c: (score[id(c)], -c.complexity))
    notes: dict[str, str] = {}
    tied = [best]
    for c in ok:
        if c is best:
            continue
        b = paired_bootstrap(judged[id(best)], judged[id(c)], seed=seed, level=DECISION_INTERVAL)
        dominated = any(
            o is not c and o.complexity <= c.complexity and score[id(o)] > score[id(c)] + 1e-12
            for o in ok
        )
        within = b["low"] <= 0.0
        if within and not dominated:
            tied.append(c)
        verdict = "within noise" if within else "clearly behind"
        if within and dominated:
            verdict += ", but a candidate at most as complex scores higher"
        notes[c.name] = (
            f"{metric} {score[id(c)]:.4f} vs best {best.name} {score[id(best)]:.4f}: "
            f"difference {b['diff']:+.4f}, {_interval(b)} over {b['n']} shoppers ({verdict})"
        )
    chosen = min(tied, key=lambda c: (c.complexity, -score[id(c)]))
    if chosen is best:
        notes[best.name] = f"best {metric} {score[id(best)]:.4f}"
    else:
        notes[best.name] = (
            f"best {metric} {score[id(best)]:.4f}, but {chosen.name} is simpler and "
            f"within noise of it"
        )
        notes[chosen.name] = f"simplest candidate within noise of the best; {notes[chosen.name]}"
    return chosen, notes


def _judged(ok: list[Tuned]) -> dict[int, np.ndarray]:
    """Per-shopper scores by ``id`` of each candidate: on a searched hybrid's judging
    shoppers when there is one (and every candidate knows its rows), else all."""
    judge = next((c.judge for c in ok if c.judge is not None), None)
    if judge is None or any(c.rows is None for c in ok):
        return {id(c): c.per_user for c in ok}
    return {id(c): c.per_user[judge[c.rows]] for c in ok}


def judging_mask(candidates: list[Tuned], chosen: Tuned) -> np.ndarray | None:
    """Which of ``chosen``'s evaluated shoppers judged the choice (bool per entry of its
    ``per_user``), so the promotion is judged on them too; None: all of them."""
    judge = next((c.judge for c in candidates if c.judge is not None), None)
    if judge is None or chosen.rows is None:
        return None
    return judge[chosen.rows]


def _interval(b: dict) -> str:
    level = round(DECISION_INTERVAL * 100)
    return f"{level}% CI [{b['low']:+.4f}, {b['high']:+.4f}] (one-sided {(100 + level) // 2}%)"


@dataclass
class Decision:
    """Whether a challenger replaces the champion, and the evidence."""

    promote: bool
    diff: float
    low: float
    high: float
    n: int
    note: str


def promotion_decision(
    challenger: np.ndarray, champion: np.ndarray, metric: str, margin: float = 0.0, seed: int = 0
) -> Decision:
    """Promote only when the paired bootstrap puts the challenger ahead with 95%
    confidence (one-sided: the DECISION_INTERVAL's lower end is above 0), or when
    ``margin`` > 0 and the observed difference is at least ``margin``."""
    b = paired_bootstrap(challenger, champion, seed=seed, level=DECISION_INTERVAL)
    significant = b["low"] > 0.0
    by_margin = margin > 0 and b["diff"] >= margin
    promote = significant or by_margin
    if significant:
        why = "better with 95% confidence"
    elif by_margin:
        why = f"ahead by at least the margin {margin:.4f}"
    else:
        why = "not better beyond noise" + (f" nor by the margin {margin:.4f}" if margin else "")
    note = (
        f"{metric} difference {b['diff']:+.4f}, {_interval(b)} over {b['n']} shoppers "
        f"(paired bootstrap): {why}"
    )
    return Decision(promote, b["diff"], b["low"], b["high"], b["n"], note)
