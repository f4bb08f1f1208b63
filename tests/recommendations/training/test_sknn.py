"""Session-kNN (training/algorithms/sknn.py) on small logs whose neighbours are known."""

import numpy as np
import pytest

from recommendations.training.algorithms import make_algorithm
from recommendations.training.algorithms import sknn as sknn_module
from recommendations.training.dataset import KIND_CODES
from tests.recommendations.training.view_logs import views_dataset

VIEW = KIND_CODES["view"]
# Items by name, so the expected votes read like the logs.
A, B, C, P, Q, R, X, Y, Z = range(9)
N_ITEMS = 9
# Plain voting: every neighbour item counts its neighbour's similarity.
FLAT = {"proximity": 1.0, "before_weight": 1.0}


def log(sequences: dict[str, list[int]], start: dict[str, float] | None = None, n_items=N_ITEMS):
    """One view per listed item, a minute apart; ``start``: a history's first time."""
    users, items, times = [], [], []
    for user, seq in sequences.items():
        t0 = (start or {}).get(user, 1_000_000.0)
        for step, item in enumerate(seq):
            users.append(user)
            items.append(item)
            times.append(t0 + step * 60.0)
    return views_dataset(users, items, times, n_items)


def scores_of(model, data, user: str) -> np.ndarray:
    """The user's scores without the popularity tie-break epsilon."""
    row = data.user_keys.tolist().index(user)
    return model.score(np.array([row]), data)[0] - model.tiebreak


def test_neighbours_sharing_recent_items_weigh_more():
    # The shopper saw a, then b. n1 shares a (weight 0.5), n2 shares b (weight 1).
    data = log({"me": [A, B], "n1": [A, X], "n2": [B, Y], "n3": [C, Z]})
    model = make_algorithm("sknn", recency=0.5, **FLAT).fit(data)
    s = scores_of(model, data, "me")
    np.testing.assert_allclose(s[[X, Y, Z, C]], [0.5, 1.0, 0.0, 0.0], atol=1e-6)
    assert s[A] == s[B] == 0.0  # the shopper's own items get no votes


def test_only_the_k_most_similar_neighbours_vote():
    data = log({"me": [A, B], "n1": [A, X], "n2": [B, Y]})
    model = make_algorithm("sknn", k=1, recency=0.5, **FLAT).fit(data)
    s = scores_of(model, data, "me")
    assert s[Y] == pytest.approx(1.0) and s[X] == 0.0


def test_a_shopper_is_never_their_own_neighbour():
    # With k=1 the shopper's own history (it shares both items) would be the only voter.
    data = log({"me": [A, B, C], "other": [A, X]})
    model = make_algorithm("sknn", k=1, **FLAT).fit(data)
    s = scores_of(model, data, "me")
    assert s[X] > 0


def test_votes_decay_with_distance_from_the_anchor_and_before_it():
    # Anchor: b, the shared item the shopper saw most recently (a is shared too).
    data = log({"me": [A, B], "n": [P, A, Q, B, R, X]})
    model = make_algorithm("sknn", recency=0.5, proximity=0.5, before_weight=0.25).fit(data)
    s = scores_of(model, data, "me")
    similarity = 1.0 + 0.5  # b (most recent) + a
    # After b: r at distance 1, x at 2; before b: q at 1, p at 3.
    expected = {R: 1.0, X: 0.5, Q: 0.25 * 1.0, P: 0.25 * 0.25}
    for item, weight in expected.items():
        assert s[item] == pytest.approx(similarity * weight), item
    only_next = make_algorithm("sknn", recency=0.5, proximity=0.5, before_weight=0.0).fit(data)
    s = scores_of(only_next, data, "me")
    assert s[Q] == s[P] == 0.0 and s[R] > s[X] > 0


def test_each_item_looks_at_its_most_recent_histories_only():
    data = log(
        {"me": [A], "old": [A, X], "new": [A, Y]},
        start={"me": 500_000.0, "old": 1_000_000.0, "new": 2_000_000.0},
    )
    model = make_algorithm("sknn", sample_size=1, **FLAT).fit(data)
    s = scores_of(model, data, "me")
    assert s[Y] > 0 and s[X] == 0.0
    everyone = make_algorithm("sknn", sample_size=10, **FLAT).fit(data)
    s = scores_of(everyone, data, "me")
    assert s[X] == pytest.approx(s[Y]) and s[X] > 0


def test_length_norm_favours_short_neighbours():
    # Both neighbours share a; the long one also holds three other items.
    data = log({"me": [A], "short": [A, X], "long": [A, Y, Z, Q]})
    plain = scores_of(make_algorithm("sknn", **FLAT).fit(data), data, "me")
    assert plain[X] == pytest.approx(1.0) and plain[Y] == pytest.approx(1.0)
    normed = scores_of(make_algorithm("sknn", length_norm=1.0, **FLAT).fit(data), data, "me")
    assert normed[X] == pytest.approx(0.5) and normed[Y] == pytest.approx(0.25)


def test_fold_in_uses_the_new_history_and_every_training_history():
    data = log({"a1": [A, X], "a2": [B, Y], "a3": [C, Z]})
    model = make_algorithm("sknn", **FLAT).fit(data)
    # "a1" in fresh data is a new visit by the same key: its training row is excluded.
    fresh = log({"new": [B], "a1": [C]})
    s = model.score(np.array([0, 1]), fresh) - model.tiebreak
    rows = {k: i for i, k in enumerate(fresh.user_keys.tolist())}
    assert s[rows["new"], Y] > 0 and s[rows["new"], X] == 0.0
    assert s[rows["a1"], Z] > 0


def test_chunked_scoring_equals_scoring_one_by_one(monkeypatch):
    rng = np.random.default_rng(7)
    seqs = {f"u{i}": rng.integers(0, 30, rng.integers(2, 8)).tolist() for i in range(60)}
    data = log(seqs, n_items=30)
    model = make_algorithm("sknn", k=5).fit(data)
    users = np.arange(data.n_users)
    whole = model.score(users)
    monkeypatch.setattr(sknn_module, "_BATCH_ENTRIES", 1)  # one row per chunk
    np.testing.assert_array_equal(model.score(users), whole)
    singles = np.vstack([model.score(np.array([u])) for u in users])
    np.testing.assert_array_equal(singles, whole)


def test_similar_items_are_what_histories_with_the_item_contained():
    data = log({"s1": [A, X], "s2": [A, X, Y], "s3": [B, Z]})
    model = make_algorithm("sknn", **FLAT).fit(data)
    idx, val = model.similar_items(np.array([A, B, C]), k=3)
    assert idx[0].tolist() == [X, Y, -1] and val[0, 0] == pytest.approx(2.0)
    assert idx[1].tolist() == [Z, -1, -1]
    assert idx[2].tolist() == [-1, -1, -1]  # c was never seen: no neighbours


def test_histories_without_shared_items_score_only_the_tiebreak():
    data = log({"alone": [A], "b": [B, C], "c": [C, B]})
    model = make_algorithm("sknn").fit(data)
    s = scores_of(model, data, "alone")
    assert not s.any()
    long = log({f"u{i}": list(range(50)) for i in range(3)}, n_items=50)
    deep = make_algorithm("sknn", last_n=50, recency=0.3).fit(long)
    assert np.isfinite(deep.score(np.arange(3))).all()


def test_bad_parameters_are_rejected():
    data = log({"me": [A, B]})
    bad_params = (
        {"k": 0},
        {"last_n": 0},
        {"last_n": 51},
        {"recency": 0.0},
        {"proximity": 1.5},
        {"before_weight": -1.0},
    )
    for bad in bad_params:
        with pytest.raises(ValueError):
            make_algorithm("sknn", **bad).fit(data)
