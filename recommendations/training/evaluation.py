"""Offline evaluation: one protocol (splits + metrics) for every algorithm.

Protocol (reproduces the reference figures in ../shared/datasets/README.md):
implicit feedback; each shopper's time-ordered history with *consecutive* repeats of
one item collapsed (a reload or a re-order in a row is one interaction); the last
``n`` interactions are held out; shoppers with fewer than ``min_items`` distinct items
are not tested (their events stay in train); every item is ranked and the items the
shopper already has in train are excluded, so a held-out item the shopper had
already interacted with earlier counts as a miss.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .algorithms.base import Recommender, top_k
from .dataset import KIND_CODES, KIND_WEIGHTS, Dataset, build_dataset

log = logging.getLogger(__name__)

# Shopper x product scores one evaluation computes, at most: 20,000 shoppers at 20,000
# products (the 1M-event demo log). On larger catalogues fewer shoppers are sampled, so
# evaluation grows with the catalogue, not with shoppers x catalogue (dense models and
# the hybrid spent 300 of 1,100 s evaluating at 4M events / 80,000 products); never
# fewer than MIN_EVAL_USERS, whose paired intervals still separate the candidates there.
MAX_EVAL_SCORES = 400_000_000
MIN_EVAL_USERS = 5_000


def evaluation_users(max_users: int | None, n_items: int) -> int | None:
    """How many test shoppers ``evaluate`` samples, given the caller's ``max_users``."""
    if max_users is None:
        return None
    return min(max_users, max(MIN_EVAL_USERS, MAX_EVAL_SCORES // max(n_items, 1)))


@dataclass
class Split:
    """Train data plus held-out items of the tested users.

    ``train`` has the same ``item_ids`` and user keys as the full data;
    ``test_users`` are row indices into ``train``; ``test_items`` is CSR
    (len(test_users), n_items) with a 1 for each held-out item of that user.
    """

    train: Dataset
    test_users: np.ndarray
    test_items: sp.csr_matrix

    def held_out(self, row: int) -> np.ndarray:
        """Held-out item indices of the ``row``-th tested user."""
        return self.test_items.indices[
            self.test_items.indptr[row] : self.test_items.indptr[row + 1]
        ]


def _event_users(data: Dataset) -> np.ndarray:
    """User row index of every sequence entry."""
    return np.repeat(np.arange(data.n_users), np.diff(data.seq_indptr))


def infer_half_life_days(data: Dataset, default: float = 30.0) -> float:
    """Recover the time-decay half-life ``data.matrix`` was built with.

    Uses (user, item) pairs with a single event older than ``now``: their matrix weight
    is kind weight x 0.5 ** (age / half-life).
    """
    users = _event_users(data)
    key = users.astype(np.int64) * data.n_items + data.seq_items
    uniq, first, counts = np.unique(key, return_index=True, return_counts=True)
    single = first[counts == 1]
    age = data.now - data.seq_times[single]
    single, age = single[age > 60], age[age > 60]
    if not len(single):
        return default
    kind_weight = np.array(
        [KIND_WEIGHTS[k] for k in sorted(KIND_CODES, key=KIND_CODES.get)], dtype=np.float64
    )[data.seq_kinds[single]]
    w = np.asarray(data.matrix[users[single], data.seq_items[single]]).ravel().astype(np.float64)
    ratio = np.log2(kind_weight / np.maximum(w, 1e-30))
    ok = ratio > 1e-6
    if not ok.any():
        return default
    return float(np.median(age[ok] / 86400.0 / ratio[ok]))


def _subset(data: Dataset, keep: np.ndarray, half_life_days: float | None) -> Dataset:
    """A Dataset of the kept sequence entries, same item columns and user keys.

    Baskets are rebuilt from the kept purchases grouped by (shopper, time), i.e. one
    order per checkout, so held-out purchases never leak through the basket matrix.
    """
    if half_life_days is None:
        half_life_days = infer_half_life_days(data)
    users = _event_users(data)[keep]
    kinds = data.seq_kinds[keep]
    times = data.seq_times[keep]
    return build_dataset(
        users,
        data.item_ids[data.seq_items[keep]],
        kinds,
        times,
        _checkout_codes(users, kinds, times),
        item_ids=data.item_ids,
        features=data.features,
        half_life_days=half_life_days,
        now=data.now,
        user_keys=data.user_keys,
    )


def _checkout_codes(users: np.ndarray, kinds: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Integer order code per event: purchases of one (shopper, time) share one; -1 else."""
    codes = np.full(len(kinds), -1, dtype=np.int64)
    bought = np.flatnonzero(kinds == KIND_CODES["purchase"])
    if not len(bought):
        return codes
    order = bought[np.lexsort((times[bought], users[bought]))]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (users[order][1:] != users[order][:-1]) | (times[order][1:] != times[order][:-1])
    codes[order] = np.cumsum(new) - 1
    return codes


def _distinct_counts(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int):
    """Number of distinct items per user among the given events."""
    pairs = np.unique(users.astype(np.int64) * n_items + items)
    return np.bincount(pairs // n_items, minlength=n_users)


def _make_split(
    data: Dataset,
    train_mask: np.ndarray,
    test_mask: np.ndarray,
    tested: np.ndarray,
    half_life_days: float | None,
) -> Split:
    """Train on the ``train_mask`` events; ``tested`` users (bool per user) are judged on
    the items of their ``test_mask`` events."""
    users = _event_users(data)
    train = _subset(data, train_mask, half_life_days)
    test_users_full = np.flatnonzero(tested)
    # Train rows are the full data's shoppers with train events, in the same order.
    kept = np.flatnonzero(np.bincount(users[train_mask], minlength=data.n_users))
    test_users = np.searchsorted(kept, test_users_full)
    row_of = np.full(data.n_users, -1, dtype=np.int64)
    row_of[test_users_full] = np.arange(len(test_users_full))
    ev = test_mask & tested[users]
    test_items = sp.csr_matrix(
        (np.ones(ev.sum(), dtype=np.float32), (row_of[users[ev]], data.seq_items[ev])),
        shape=(len(test_users_full), data.n_items),
    )
    test_items.sum_duplicates()
    test_items.data[:] = 1.0
    return Split(train=train, test_users=test_users.astype(np.int64), test_items=test_items)


def split_leave_last_out(
    data: Dataset, n: int = 1, min_items: int = 3, half_life_days: float | None = None
) -> Split:
    """Hold out each shopper's last ``n`` interactions (consecutive repeats collapsed).

    Shoppers with fewer than ``min_items`` distinct items (or no interaction left for
    training) are not tested and keep all their events in train. A validation split is
    ``split_leave_last_out(split.train)`` (holds out the second-to-last interaction).
    """
    if n < 1 or min_items < 1:
        raise ValueError("n and min_items must be >= 1")
    users = _event_users(data)
    items = data.seq_items
    new_run = np.ones(len(items), dtype=bool)
    new_run[1:] = (items[1:] != items[:-1]) | (users[1:] != users[:-1])
    run_id = np.cumsum(new_run) - 1
    runs_per_user = np.bincount(users[new_run], minlength=data.n_users)
    last_run = np.cumsum(runs_per_user) - 1  # global run id of each user's last run
    from_end = last_run[users] - run_id  # 0 = the last run
    distinct = _distinct_counts(users, items, data.n_users, data.n_items)
    tested = (distinct >= min_items) & (runs_per_user > n)
    test_mask = (from_end < n) & tested[users]
    if not tested.any():
        raise ValueError(f"no shopper has {min_items} distinct items and more than {n} left")
    return _make_split(data, ~test_mask, test_mask, tested, half_life_days)


def split_time_cut(
    data: Dataset,
    cut_epoch: float | None = None,
    fraction: float | None = None,
    min_items: int = 1,
    half_life_days: float | None = None,
) -> Split:
    """Train on events before a time cut, test on the items shoppers interact with after.

    Give ``cut_epoch`` (seconds) or ``fraction`` (share of events, by time, kept for
    training). Tested shoppers have at least ``min_items`` distinct items before the cut
    and at least one new item after it; items already seen before the cut are not
    test targets. Events after the cut never reach train.
    """
    if (cut_epoch is None) == (fraction is None):
        raise ValueError("give exactly one of cut_epoch or fraction")
    if fraction is not None:
        if not 0.0 < fraction < 1.0:
            raise ValueError("fraction must be in (0, 1)")
        cut_epoch = float(np.quantile(data.seq_times, fraction))
    users = _event_users(data)
    key = users.astype(np.int64) * data.n_items + data.seq_items
    before = data.seq_times < cut_epoch
    distinct = _distinct_counts(users[before], data.seq_items[before], data.n_users, data.n_items)
    new_item = ~before & ~np.isin(key, np.unique(key[before]))
    has_new = np.bincount(users[new_item], minlength=data.n_users) > 0
    tested = (distinct >= max(min_items, 1)) & has_new
    if not tested.any():
        raise ValueError("no shopper has history before the cut and a new item after it")
    return _make_split(data, before, new_item, tested, half_life_days)


# ---------------------------------------------------------------- metrics


def _item_popularity(train: Dataset) -> np.ndarray:
    """Number of train users who interacted with each item."""
    return np.bincount(train.matrix.indices, minlength=train.n_items).astype(np.float64)


def _category_similarity(train: Dataset) -> np.ndarray | None:
    """Item category codes when features define them for some items, else None."""
    f = train.features
    if f is None or not len(f.category) or (np.asarray(f.category) < 0).all():
        return None
    return np.asarray(f.category)


def intra_list_similarity(lists: np.ndarray, train: Dataset) -> np.ndarray:
    """Mean pairwise similarity inside each recommendation list (rows of item indices).

    Two items are similar (1) when they share a known category; without categories the
    cosine of their binary train-matrix columns is used. Padding (-1) is ignored.
    """
    n, k = lists.shape
    if k < 2:
        return np.zeros(n)
    categories = _category_similarity(train)
    cols = None
    if categories is None:
        binary = train.matrix.tocsc(copy=True)
        binary.data[:] = 1.0
        norms = np.sqrt(np.asarray(binary.sum(axis=0)).ravel())
        norms[norms == 0] = 1.0
        cols = (binary @ sp.diags(1.0 / norms)).T.tocsr()  # items x users, unit rows
    total = np.zeros(n)
    pairs = np.zeros(n)
    for p in range(k):
        for q in range(p + 1, k):
            a, b = lists[:, p], lists[:, q]
            valid = (a >= 0) & (b >= 0)
            if categories is not None:
                sim = (categories[a] == categories[b]) & (categories[a] >= 0)
                sim = sim.astype(np.float64)
            else:
                sim = np.asarray(cols[a].multiply(cols[b]).sum(axis=1)).ravel()
            total += np.where(valid, sim, 0.0)
            pairs += valid
    return np.divide(total, pairs, out=np.zeros(n), where=pairs > 0)


def metrics_from_ranks(
    rows: np.ndarray, ranks: np.ndarray, n_relevant: np.ndarray, k: int
) -> dict[str, np.ndarray]:
    """Per-user HR, Recall, NDCG (log2 discounts) and MAP at k from held-out item ranks.

    ``rows``/``ranks``: one entry per held-out (user row, item) pair, rank 0 = first
    place (any rank >= k, e.g. for an excluded item, is a miss); ``n_relevant``: number
    of held-out items per user row.
    """
    n = len(n_relevant)
    n_rel = np.asarray(n_relevant, dtype=np.float64)
    hit = ranks < k
    rows, ranks = rows[hit], ranks[hit].astype(np.int64)
    hits_per_row = np.bincount(rows, minlength=n).astype(np.float64)
    dcg = np.bincount(rows, weights=1.0 / np.log2(ranks + 2.0), minlength=n)
    ideal_len = np.minimum(n_rel, k).astype(np.int64)
    idcg = np.concatenate([[0.0], np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))])[ideal_len]
    # Average precision: the j-th hit (by rank) at position r contributes j / (r + 1).
    order = np.lexsort((ranks, rows))
    rows, ranks = rows[order], ranks[order]
    starts = np.cumsum(hits_per_row.astype(np.int64)) - hits_per_row.astype(np.int64)
    nth_hit = np.arange(len(rows)) - starts[rows] + 1
    ap = np.bincount(rows, weights=nth_hit / (ranks + 1.0), minlength=n)
    return {
        "hr": (hits_per_row > 0).astype(np.float64),
        "recall": np.divide(hits_per_row, n_rel, out=np.zeros(n), where=n_rel > 0),
        "ndcg": np.divide(dcg, idcg, out=np.zeros(n), where=idcg > 0),
        "map": np.divide(ap, ideal_len, out=np.zeros(n), where=ideal_len > 0),
    }


def ranking_metrics(lists: np.ndarray, test_items: sp.csr_matrix, k: int) -> dict[str, np.ndarray]:
    """Per-user HR, Recall, NDCG and MAP at k for top-k item lists (rows padded with -1)."""
    lists = lists[:, :k]
    n, width = lists.shape
    rows = np.repeat(np.arange(n), width)
    positions = np.tile(np.arange(width), n)
    flat = lists.ravel()
    valid = flat >= 0
    hit = np.zeros(len(flat), dtype=bool)
    hit[valid] = np.asarray(test_items[rows[valid], flat[valid]]).ravel() > 0
    return metrics_from_ranks(rows[hit], positions[hit], np.diff(test_items.indptr), k)


def _optimistic_ranks(scores: np.ndarray, test_items: sp.csr_matrix) -> tuple[np.ndarray, ...]:
    """(rows, ranks) of held-out items counting only strictly higher scores as ahead.

    This is how the README's reference figures rank (see docs/quality.md): ties,
    including the common all-zero tie of sparse models, are resolved in favour of the
    held-out item. Excluded (-inf) held-out items get rank n_items (a miss).
    """
    rows = np.repeat(np.arange(test_items.shape[0]), np.diff(test_items.indptr))
    items = test_items.indices
    target = scores[rows, items]
    ranks = (scores[rows] > target[:, None]).sum(axis=1)
    ranks = np.where(np.isfinite(target), ranks, scores.shape[1])
    return rows, ranks


def list_metrics(lists: np.ndarray, train: Dataset) -> dict[str, float]:
    """Catalogue coverage, intra-list diversity and novelty of top-k lists."""
    valid = lists[lists >= 0]
    coverage = len(np.unique(valid)) / max(train.n_items, 1)
    diversity = float(np.mean(1.0 - intra_list_similarity(lists, train))) if len(lists) else 0.0
    share = np.maximum(_item_popularity(train), 1.0) / max(train.n_users, 1)
    novelty = float(np.mean(-np.log2(share[valid]))) if len(valid) else 0.0
    return {"coverage": coverage, "diversity": diversity, "novelty": novelty}


def _mask_seen(scores: np.ndarray, users: np.ndarray, data: Dataset) -> np.ndarray:
    """Set the scores of items the users already have in ``data`` to -inf (in place)."""
    seen = data.matrix[users]
    scores[np.repeat(np.arange(len(users)), np.diff(seen.indptr)), seen.indices] = -np.inf
    return scores


def evaluate(
    algorithm: Recommender,
    split: Split,
    k: int = 10,
    max_users: int | None = None,
    seed: int = 0,
    fit: bool = True,
    batch_size: int = 1000,
    ties: str = "index",
    per_user: bool = False,
) -> dict[str, float]:
    """Fit ``algorithm`` on ``split.train`` (unless ``fit=False``) and report metrics at k.

    Keys: ``hr@k``, ``recall@k``, ``ndcg@k``, ``map@k``, ``coverage@k``,
    ``diversity@k``, ``novelty@k``, ``users``, ``fit_seconds``, ``score_seconds``.
    ``max_users`` evaluates a seeded random sample of the test users, of at most
    ``evaluation_users(max_users, n_items)`` on large catalogues. ``ties``:
    "index" ranks exactly like ``recommend`` (equal scores: lower item index first);
    "optimistic" resolves ties in favour of the held-out item, only to reproduce the
    README's reference figures (a constant scorer gets a high hit rate that way).
    ``per_user`` adds ``per_user`` ({metric: array per evaluated user}) and ``rows``
    (the evaluated rows of ``split.test_users``), for paired bootstraps: two models
    evaluated with the same ``max_users`` and ``seed`` are judged on the same shoppers.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    if ties not in ("index", "optimistic"):
        raise ValueError("ties must be 'index' or 'optimistic'")
    rows = np.arange(len(split.test_users))
    max_users = evaluation_users(max_users, split.train.n_items)
    if max_users is not None and len(rows) > max_users:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_users, replace=False))
    test_items = split.test_items[rows]
    started = time.perf_counter()
    if fit:
        algorithm.fit(split.train)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    lists, ranked = _rank_test_users(algorithm, split, rows, test_items, k, batch_size, ties)
    score_seconds = time.perf_counter() - started
    if ties == "optimistic":
        ranking = metrics_from_ranks(*ranked, np.diff(test_items.indptr), k)
    else:
        ranking = ranking_metrics(lists, test_items, k)
    result = {f"{name}@{k}": float(values.mean()) for name, values in ranking.items()}
    result.update(
        {f"{name}@{k}": value for name, value in list_metrics(lists, split.train).items()}
    )
    result.update(users=len(rows), fit_seconds=fit_seconds, score_seconds=score_seconds)
    log.debug("%s: %s", getattr(algorithm, "name", algorithm), result)
    if per_user:
        result["per_user"] = ranking
        result["rows"] = rows
    return result


def _rank_test_users(
    algorithm: Recommender,
    split: Split,
    rows: np.ndarray,
    test_items: sp.csr_matrix,
    k: int,
    batch_size: int,
    ties: str,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """Top-k lists (-1 = none) of the test users at ``rows``, scored in batches with
    their seen items excluded; with optimistic ``ties``, also (rows, ranks) of their
    held-out items (else None)."""
    if algorithm.uses_candidates(split.train):
        return _rank_candidates(algorithm, split, rows, test_items, k, batch_size, ties)
    lists = np.full((len(rows), k), -1, dtype=np.int64)
    rank_rows, ranks = [], []
    for start in range(0, len(rows), batch_size):
        users = split.test_users[rows[start : start + batch_size]]
        scores = _mask_seen(algorithm.score(users, split.train), users, split.train)
        idx, top = top_k(scores, k)
        lists[start : start + len(users), : idx.shape[1]] = np.where(np.isfinite(top), idx, -1)
        if ties == "optimistic":
            r, rank = _optimistic_ranks(scores, test_items[start : start + len(users)])
            rank_rows.append(r + start)
            ranks.append(rank)
    if ties != "optimistic":
        return lists, None
    return lists, (np.concatenate(rank_rows), np.concatenate(ranks))


def _rank_candidates(
    algorithm: Recommender,
    split: Split,
    rows: np.ndarray,
    test_items: sp.csr_matrix,
    k: int,
    batch_size: int,
    ties: str,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """``_rank_test_users`` for a model ranking candidates (``Recommender.recommend``):
    a held-out item outside the shopper's top-k candidates is a miss, as it would be in
    the shopper's list; with optimistic ``ties`` one inside counts only the candidates
    scored strictly higher as ahead."""
    lists = np.full((len(rows), k), -1, dtype=np.int64)
    rank_rows, ranks = [], []
    for start in range(0, len(rows), batch_size):
        users = split.test_users[rows[start : start + batch_size]]
        idx, top = algorithm.recommend(users, k, data=split.train)
        lists[start : start + len(users), : idx.shape[1]] = np.where(np.isfinite(top), idx, -1)
        if ties == "optimistic":
            held = test_items[start : start + len(users)]
            r = np.repeat(np.arange(held.shape[0]), np.diff(held.indptr))
            match = lists[start + r] == held.indices[:, None]
            target = np.where(match.any(axis=1), top[r, match.argmax(axis=1)], np.inf)
            rank = (top[r] > target[:, None]).sum(axis=1)
            rank_rows.append(r + start)
            ranks.append(np.where(np.isfinite(target), rank, split.train.n_items))
    if ties != "optimistic":
        return lists, None
    return lists, (np.concatenate(rank_rows), np.concatenate(ranks))


# ---------------------------------------------------------------- noise


def bootstrap_ci(
    values: np.ndarray, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """(mean, low, high): percentile bootstrap interval of the mean of per-user values."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return float("nan"), float("nan"), float("nan")
    means = _bootstrap_means(values, n_boot, seed)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(values.mean()), float(low), float(high)


def paired_bootstrap(
    challenger: np.ndarray,
    champion: np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, float]:
    """Paired bootstrap of mean(challenger - champion) over the same shoppers.

    Both arrays hold one value per shopper, aligned (same shoppers, same order).
    Returns the observed difference ``diff``, the percentile interval ``low``/``high``
    at ``level``, ``p_better`` (share of resamples where the challenger is ahead) and
    ``n`` (shoppers). "Better with 95% confidence" is ``low > 0``.
    """
    a = np.asarray(challenger, dtype=np.float64)
    b = np.asarray(champion, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError("paired_bootstrap: both models must be judged on the same shoppers")
    diff, low, high = bootstrap_ci(a - b, n_boot, seed, level)
    means = _bootstrap_means(a - b, n_boot, seed)
    return {
        "diff": diff,
        "low": low,
        "high": high,
        "p_better": float((means > 0).mean()) if len(means) else 0.0,
        "n": int(len(a)),
    }


def _bootstrap_means(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement) of ``values``, seeded."""
    if not len(values):
        return np.zeros(0)
    rng = np.random.default_rng(seed)
    n = len(values)
    out = np.empty(n_boot)
    chunk = max(1, 4_000_000 // n)  # bound memory: ~32 MB of indices at a time
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        out[start : start + size] = values[rng.integers(0, n, size=(size, n))].mean(axis=1)
    return out
