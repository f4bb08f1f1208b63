"""Score candidates, not the catalogue (#26): on a large catalogue a model ranks its
candidates topped up by trending, with the same lists as dense scoring, and the
evaluation counts a held-out item outside the candidates as a miss."""

import numpy as np
import pytest

from recommendations.training import evaluation
from recommendations.training.algorithms import base, make_algorithm
from recommendations.training.dataset import KIND_CODES, build_dataset

VIEW = KIND_CODES["view"]


def _log(n_users=300, n_items=120, n=3000, seed=5):
    rng = np.random.default_rng(seed)
    users = rng.integers(0, n_users, n)
    # Shoppers stay within a band of the catalogue, so neighbours are few and real.
    items = (users % 6) * (n_items // 6) + rng.integers(0, n_items // 6, n)
    return build_dataset(
        np.array([f"u:{u}" for u in users], dtype=object),
        items,
        np.full(n, VIEW),
        rng.uniform(0, 1e6, n),
        item_ids=np.arange(n_items + 30),  # 30 products nobody touched
    )


@pytest.fixture
def candidates(monkeypatch):
    """Every catalogue counts as large: models with votes rank candidates."""
    monkeypatch.setattr(base, "CANDIDATE_MIN_ITEMS", 0)


@pytest.mark.parametrize(
    "name, params",
    [("cooccurrence", {}), ("transitions", {}), ("sknn", {}), ("popularity", {})],
)
def test_candidate_lists_are_the_dense_lists(name, params, monkeypatch):
    data = _log()
    model = make_algorithm(name, **params).fit(data)
    users = np.arange(data.n_users)
    assert not model.uses_candidates(data)
    dense = evaluation._mask_seen(model.score(users, data), users, data)
    # The dense ranking in full: score, then the lower index (top_k's argpartition may
    # cut a run of equal scores anywhere).
    expected = np.array([np.lexsort((np.arange(data.n_items), -row))[:20] for row in dense])
    monkeypatch.setattr(base, "CANDIDATE_MIN_ITEMS", 0)
    assert model.uses_candidates(data)
    idx, scores = model.recommend(users, 20)
    assert np.allclose(scores, np.take_along_axis(dense, expected, axis=1), rtol=1e-5, atol=0)
    assert (idx == expected).all()


def test_a_shopper_without_candidates_gets_trending(candidates):
    # Item 9 co-occurs with nothing: its only shopper has no neighbours to follow.
    log = {"a": [0, 1], "b": [0, 1, 2], "c": [1, 2], "d": [0, 2], "e": [9]}
    users = [u for u, seq in log.items() for _ in seq]
    items = [i for seq in log.values() for i in seq]
    data = build_dataset(
        np.array(users, dtype=object),
        np.array(items),
        np.full(len(items), VIEW),
        np.arange(len(items), dtype=float),
        item_ids=np.arange(12),
    )
    model = make_algorithm("cooccurrence").fit(data)
    row = int(np.flatnonzero(data.user_keys == "e")[0])
    idx, scores = model.recommend(np.array([row]), 5)
    # Trending: by shoppers, most first (0, 1, 2 have three each; ties: lower index),
    # then the untouched catalogue in index order; never the shopper's own item 9.
    assert idx[0].tolist() == [0, 1, 2, 3, 4]
    assert np.isfinite(scores).all()


def test_a_held_out_item_outside_the_candidates_is_a_miss(candidates):
    data = _log()
    split = evaluation.split_leave_last_out(data)
    model = make_algorithm("cooccurrence").fit(split.train)
    rows = np.arange(len(split.test_users))
    lists, (rank_rows, ranks) = evaluation._rank_test_users(
        model, split, rows, split.test_items, 10, 100, "optimistic"
    )
    held = split.test_items.indices  # one held-out item per shopper
    inside = (lists[rank_rows] == held[:, None]).any(axis=1)
    assert inside.any() and (~inside).any()
    assert (ranks[~inside] == split.train.n_items).all()  # a miss, whatever its score
    assert (ranks[inside] < 10).all()
    result = evaluation.evaluate(model, split, k=10, fit=False)
    assert result["hr@10"] == pytest.approx(inside.mean())


def test_evaluation_with_candidates_matches_dense_on_every_model(monkeypatch):
    data = _log()
    split = evaluation.split_leave_last_out(data)
    for name in ("cooccurrence", "sknn", "popularity"):
        model = make_algorithm(name).fit(split.train)
        dense = evaluation.evaluate(model, split, k=10, fit=False)
        monkeypatch.setattr(base, "CANDIDATE_MIN_ITEMS", 0)
        sparse = evaluation.evaluate(model, split, k=10, fit=False)
        monkeypatch.setattr(base, "CANDIDATE_MIN_ITEMS", 10**9)
        assert sparse["ndcg@10"] == pytest.approx(dense["ndcg@10"], abs=0.01), name


def test_each_model_ranks_candidates_from_its_own_catalogue_size(monkeypatch):
    data = _log()  # 150 products
    monkeypatch.setattr(base, "CANDIDATE_MIN_ITEMS", 100)
    assert make_algorithm("cooccurrence").fit(data).uses_candidates(data)
    sknn = make_algorithm("sknn").fit(data)
    assert not sknn.uses_candidates(data)  # from 4 x 100 products (candidate_scale)
    monkeypatch.setattr(base, "CANDIDATE_MIN_ITEMS", 30)
    assert sknn.uses_candidates(data)
