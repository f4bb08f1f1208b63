"""Splits and metrics of the offline protocol, against hand-computed values."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.training.algorithms.base import Recommender
from recommendations.training.algorithms.popularity import Popularity
from recommendations.training.dataset import KIND_CODES, Dataset, ItemFeatures, build_dataset
from recommendations.training.evaluation import (
    evaluate,
    infer_half_life_days,
    list_metrics,
    ranking_metrics,
    split_leave_last_out,
    split_time_cut,
)
from tests.recommendations.training.view_logs import views_dataset

VIEW, PURCHASE = KIND_CODES["view"], KIND_CODES["purchase"]


def make_data(sequences: dict[str, list[int]], n_items: int = 8, **kwargs) -> Dataset:
    """One event per listed item, one day apart, in list order."""
    users, items, times = [], [], []
    for user, seq in sequences.items():
        for step, item in enumerate(seq):
            users.append(user)
            items.append(item)
            times.append(1_000_000.0 + step * 86400.0)
    return views_dataset(users, items, times, n_items, **kwargs)


def held_out_by_key(split) -> dict[str, list[int]]:
    return {
        split.train.user_keys[u]: sorted(split.held_out(r).tolist())
        for r, u in enumerate(split.test_users)
    }


class TestLeaveLastOut:
    def test_holds_out_last_item_and_drops_short_histories(self):
        data = make_data({"a": [0, 1, 2, 3], "b": [0, 1], "c": [4, 2, 2], "d": [0, 1, 2, 2]})
        split = split_leave_last_out(data)
        assert held_out_by_key(split) == {"a": [3], "d": [2]}
        assert split.train.user_keys.tolist() == data.user_keys.tolist()
        np.testing.assert_array_equal(split.train.item_ids, data.item_ids)
        for row, user in enumerate(split.test_users):
            assert not set(split.held_out(row)) & set(split.train.sequence(user).tolist())
        # untested shoppers keep every event
        b = data.user_keys.tolist().index("b")
        assert split.train.sequence(b).tolist() == [0, 1]
        assert split.train.sequence(data.user_keys.tolist().index("a")).tolist() == [0, 1, 2]

    def test_earlier_repeat_of_the_held_out_item_stays_in_train(self):
        data = make_data({"e": [0, 1, 2, 0]})
        split = split_leave_last_out(data)
        assert held_out_by_key(split) == {"e": [0]}
        assert split.train.sequence(0).tolist() == [0, 1, 2]
        # ...so the protocol counts it as a miss: seen items are excluded
        result = evaluate(Popularity(), split, k=3)
        assert result["hr@3"] == 0.0

    def test_validation_split_holds_out_second_to_last(self):
        data = make_data({"a": [0, 1, 2, 3, 4]})
        validation = split_leave_last_out(split_leave_last_out(data).train)
        assert held_out_by_key(validation) == {"a": [3]}
        assert validation.train.sequence(0).tolist() == [0, 1, 2]

    def test_n_and_min_items(self):
        data = make_data({"a": [0, 1, 2, 3, 4], "b": [0, 1, 2, 3]})
        split = split_leave_last_out(data, n=2, min_items=5)
        assert held_out_by_key(split) == {"a": [3, 4]}
        with pytest.raises(ValueError):
            split_leave_last_out(data, n=0)
        with pytest.raises(ValueError):
            split_leave_last_out(make_data({"a": [0, 1]}))

    def test_keeps_decay_and_rebuilds_baskets_without_leaks(self):
        users = np.array(["u1"] * 4 + ["u2"] * 2, dtype=object)
        items = np.array([0, 1, 2, 3, 0, 1])
        times = np.array([0, 0, 86400, 86400, 0, 0], dtype=float) + 1e6
        data = build_dataset(
            users,
            items,
            np.full(6, PURCHASE),
            times,
            np.array(["o1", "o1", "o2", "o2", "o3", "o3"], dtype=object),
            item_ids=np.arange(5),
            half_life_days=7.0,
        )
        assert infer_half_life_days(data) == pytest.approx(7.0, rel=1e-3)
        split = split_leave_last_out(data)
        # u1's last item (3) is held out: its order keeps only item 2
        assert split.train.baskets[:, 3].sum() == 0
        assert sorted(split.train.baskets.sum(axis=1).A1.tolist()) == [1, 2, 2]
        np.testing.assert_allclose(
            split.train.matrix.toarray(), data.matrix.toarray() * [1, 1, 1, 0, 1], rtol=1e-5
        )


def test_time_cut_split():
    data = make_data({"a": [0, 1, 2, 3], "b": [4, 5], "c": [0, 0, 0, 0, 1]}, n_items=8)
    # times are day 0..n; cut at day 2: a keeps 0,1 and must find 2,3; c's days 2-3 are
    # repeats of 0 (not targets) and day 4 is item 1
    cut = 1_000_000.0 + 2 * 86400.0
    split = split_time_cut(data, cut_epoch=cut)
    assert held_out_by_key(split) == {"a": [2, 3], "c": [1]}
    assert split.train.n_events == 2 + 2 + 2
    assert (split.train.seq_times < cut).all()
    with pytest.raises(ValueError):
        split_time_cut(data)
    with pytest.raises(ValueError):
        split_time_cut(data, fraction=1.5)


def three_user_example():
    lists = np.array([[5, 1, 2], [3, 4, 0], [1, 2, 3]])
    test_items = sp.csr_matrix(([1.0, 1.0, 1.0, 1.0], ([0, 1, 1, 2], [1, 0, 4, 5])), shape=(3, 8))
    return lists, test_items


def test_ranking_metrics_by_hand():
    lists, test_items = three_user_example()
    m = ranking_metrics(lists, test_items, k=3)
    np.testing.assert_allclose(m["hr"], [1, 1, 0])
    np.testing.assert_allclose(m["recall"], [1, 1, 0])
    ndcg0 = 1 / math.log2(3)
    ndcg1 = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    np.testing.assert_allclose(m["ndcg"], [ndcg0, ndcg1, 0])
    np.testing.assert_allclose(m["map"], [1 / 2, (1 / 2 + 2 / 3) / 2, 0])
    # at k=1 nothing is in first place
    assert ranking_metrics(lists, test_items, k=1)["hr"].sum() == 0


def test_list_metrics_by_hand():
    lists = np.array([[5, 1, 2], [3, 4, 0], [1, 2, 3]])
    # train: 4 users; item popularity (users): 0:4, 1:2, 2:1, 3:1, 4:0, 5:0
    data = make_data({"p": [0, 1], "q": [0, 1, 2], "r": [0, 3], "s": [0]})
    features = ItemFeatures(
        text=[""] * 8,
        category=np.array([0, 0, 1, 1, -1, 0, 2, 2], dtype=np.int32),
        brand=np.full(8, -1, dtype=np.int32),
        price=np.zeros(8, dtype=np.float32),
    )
    data.features = features
    m = list_metrics(lists, data)
    assert m["coverage"] == pytest.approx(6 / 8)
    # list 0: cats (0,0,1): one of 3 pairs similar; list 1: (1,-1,0): none; list 2: (0,1,1): 1/3
    assert m["diversity"] == pytest.approx(1 - (1 / 3 + 0 + 1 / 3) / 3)
    share = {0: 4 / 4, 1: 2 / 4, 2: 1 / 4, 3: 1 / 4, 4: 1 / 4, 5: 1 / 4}  # zero counted as 1
    expected = np.mean([-math.log2(share[i]) for i in lists.ravel()])
    assert m["novelty"] == pytest.approx(expected)


def test_diversity_falls_back_to_cooccurrence_cosine():
    # items 0 and 1 always together, item 2 alone: list [0, 1] similar, [0, 2] not
    data = make_data({"a": [0, 1], "b": [0, 1], "c": [2]}, n_items=3)
    assert list_metrics(np.array([[0, 1]]), data)["diversity"] == pytest.approx(0.0, abs=1e-6)
    assert list_metrics(np.array([[0, 2]]), data)["diversity"] == pytest.approx(1.0)


class Fixed(Recommender):
    """Scores every user with the same fixed vector (to test the evaluator)."""

    name = "fixed"
    defaults = {"scores": None}

    def fit(self, data):
        self.data = data
        return self

    def score(self, users, data=None):
        return np.tile(np.asarray(self.params["scores"], dtype=np.float32), (len(users), 1))


def test_evaluate_end_to_end_and_tie_modes():
    data = make_data({"a": [0, 1, 2, 3], "b": [0, 1, 4, 5], "c": [1, 2, 6]}, n_items=8)
    split = split_leave_last_out(data)
    # held out: a->3, b->5, c->6; seen items are masked, so only unseen items compete:
    # a ranks 4, 3 (hit at rank 1); b ranks 2, 3 (miss); c ranks 0, 4 (miss)
    scores = [9, 9, 9, 1, 5, 0, 0, 0]
    result = evaluate(Fixed(scores=scores), split, k=2)
    assert result["hr@2"] == pytest.approx(1 / 3)
    assert result["ndcg@2"] == pytest.approx(1 / math.log2(3) / 3)
    assert result["users"] == 3
    # constant zero scores: index ties rank item 0.. first; optimistic ties count every hit
    zeros = Fixed(scores=[0] * 8)
    assert evaluate(zeros, split, k=2)["hr@2"] < 1.0
    assert evaluate(zeros, split, k=2, ties="optimistic")["hr@2"] == 1.0
    with pytest.raises(ValueError):
        evaluate(zeros, split, ties="random")
    sampled = evaluate(Fixed(scores=scores), split, k=2, max_users=2, seed=1)
    assert sampled["users"] == 2


def test_large_catalogues_sample_fewer_shoppers(monkeypatch):
    """Shoppers x products scored stay bounded: 8 products x 2 shoppers fit, 3 do not."""
    from recommendations.training import evaluation

    data = make_data({"a": [0, 1, 2, 3], "b": [0, 1, 4, 5], "c": [1, 2, 6]}, n_items=8)
    split = split_leave_last_out(data)
    monkeypatch.setattr(evaluation, "MAX_EVAL_SCORES", 16)
    monkeypatch.setattr(evaluation, "MIN_EVAL_USERS", 1)
    scores = [9, 9, 9, 1, 5, 0, 0, 0]
    assert evaluate(Fixed(scores=scores), split, k=2, max_users=3)["users"] == 2
    assert evaluate(Fixed(scores=scores), split, k=2, max_users=1)["users"] == 1
    monkeypatch.setattr(evaluation, "MIN_EVAL_USERS", 3)  # the floor wins over the cap
    assert evaluate(Fixed(scores=scores), split, k=2, max_users=3)["users"] == 3
    assert evaluation.evaluation_users(None, 10**9) is None  # no sampling asked: none
