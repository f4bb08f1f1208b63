"""Each classical algorithm on small hand-built data with known answers."""

import pickle

import numpy as np
import pytest

from recommendations.training.algorithms import make_algorithm
from recommendations.training.algorithms.content import tfidf_matrix
from recommendations.training.dataset import KIND_CODES, Dataset, ItemFeatures, build_dataset

VIEW, PURCHASE = KIND_CODES["view"], KIND_CODES["purchase"]
CLASSICAL = ["popularity", "cooccurrence", "content", "ease", "transitions", "sknn", "hybrid"]


def make_data(
    sequences: dict[str, list[int]],
    n_items: int = 6,
    kind: int = VIEW,
    baskets: dict[str, list[str]] | None = None,
    features: ItemFeatures | None = None,
) -> Dataset:
    """One event per listed item, one minute apart, in list order."""
    users, items, times, orders = [], [], [], []
    for user, seq in sequences.items():
        for step, item in enumerate(seq):
            users.append(user)
            items.append(item)
            times.append(1_000_000.0 + step * 60.0)
            orders.append(baskets[user][step] if baskets else "")
    return build_dataset(
        np.array(users, dtype=object),
        np.array(items),
        np.full(len(items), kind),
        np.array(times),
        np.array(orders, dtype=object),
        item_ids=np.arange(n_items),
        features=features,
    )


def features(texts: list[str]) -> ItemFeatures:
    n = len(texts)
    return ItemFeatures(
        text=texts,
        category=np.full(n, -1, dtype=np.int32),
        brand=np.full(n, -1, dtype=np.int32),
        price=np.zeros(n, dtype=np.float32),
    )


# Items 0 and 1 always co-occur; 2 and 3 co-occur; 4 is with everyone once.
PAIRS = {"a": [0, 1], "b": [0, 1, 4], "c": [1, 0], "d": [2, 3], "e": [3, 2, 4], "f": [2, 3]}


@pytest.mark.parametrize("name", ["cooccurrence", "ease", "transitions", "sknn"])
def test_co_occurring_items_are_top_neighbours(name):
    model = make_algorithm(name).fit(make_data(PAIRS))
    idx, scores = model.similar_items(np.array([0, 1, 2, 3]), k=2)
    assert idx[:, 0].tolist() == [1, 0, 3, 2]
    assert (scores[:, 0] > 0).all()
    assert idx.shape == scores.shape == (4, 2)


@pytest.mark.parametrize("name", ["cooccurrence", "ease", "transitions", "sknn", "hybrid"])
def test_fold_in_scores_new_histories_without_retraining(name):
    model = make_algorithm(name).fit(make_data(PAIRS))
    fresh = make_data({"new": [2], "other": [0]})
    scores = model.score(np.array([0, 1]), fresh)
    assert scores.shape == (2, 6) and scores.dtype == np.float32
    order = [fresh.user_keys.tolist().index(k) for k in ("new", "other")]
    idx, _ = model.recommend(np.array(order), k=1, data=fresh)
    assert idx[:, 0].tolist() == [3, 1]


def test_cooccurrence_modes():
    # baskets: 0+1 bought together; views: 2 then 3 viewed by the same shoppers
    purchases = make_data(
        {"a": [0, 1, 5], "b": [0, 1, 5]},
        kind=PURCHASE,
        baskets={"a": ["o1", "o1", "o2"], "b": ["o3", "o3", "o4"]},
    )
    together = make_algorithm("cooccurrence", mode="baskets").fit(purchases)
    idx, _ = together.similar_items(np.array([0, 5]), k=1)
    assert idx.tolist() == [[1], [-1]]  # 5 was never in a basket with anything
    everything = make_algorithm("cooccurrence", mode="all").fit(purchases)
    assert everything.similar_items(np.array([5]), k=1)[0][0, 0] in (0, 1)
    views = make_algorithm("cooccurrence", mode="views").fit(purchases)
    assert (views.similar_items(np.array([0]), k=2)[0] == -1).all()
    with pytest.raises(ValueError):
        make_algorithm("cooccurrence", mode="bogus").fit(purchases)


def test_cooccurrence_recency_prefers_neighbours_of_recent_items():
    model = make_algorithm("cooccurrence", recency=0.5).fit(make_data(PAIRS))
    idx, _ = model.recommend(np.array([0]), k=1, data=make_data({"x": [0, 2]}))
    assert idx[0, 0] == 3  # neighbour of the most recent item (2) first


def test_transitions_learn_what_comes_next():
    data = make_data({f"s{i}": [0, 1, 2] for i in range(5)} | {"t": [3, 4, 5]})
    model = make_algorithm("transitions", backward_weight=0.0, cooc_weight=0.0).fit(data)
    probe = make_data({"p": [0], "q": [3, 4], "r": [1]})
    idx, _ = model.recommend(np.arange(3), k=1, data=probe)
    keys = probe.user_keys.tolist()
    after = {keys[u]: int(idx[u, 0]) for u in range(3)}
    assert after == {"p": 1, "q": 5, "r": 2}
    # distance matters: 2 (two steps after 0) scores below 1 (one step after 0)
    scores = model.score(np.array([keys.index("p")]), probe)[0]
    assert scores[1] > scores[2] > scores[5]


def test_transitions_second_hop_reaches_what_follows_what_follows():
    # 0 -> 1 in some sessions, 1 -> 2 in others: no session ever has 0 and 2.
    sessions = {f"a{i}": [0, 1] for i in range(3)} | {f"b{i}": [1, 2] for i in range(3)}
    data = make_data(sessions | {"c": [3, 4]})
    probe = make_data({"p": [0]}, n_items=data.n_items)
    one = make_algorithm("transitions", backward_weight=0.0).fit(data)
    assert one.score(np.array([0]), probe)[0, 2] < 1e-3  # only the popularity epsilon
    two = make_algorithm("transitions", backward_weight=0.0, hop_weight=0.5).fit(data)
    scores = two.score(np.array([0]), probe)[0]
    assert scores[1] > scores[2] > 1e-3 > scores[4]  # one hop, then two; 4 is unrelated
    with pytest.raises(ValueError):
        make_algorithm("transitions", hop_weight=-1.0).fit(data)


def test_ease_caps_items_and_scores_the_rest_by_popularity_epsilon():
    model = make_algorithm("ease", l2=1.0, max_items=4).fit(make_data(PAIRS))
    assert len(model.items) == 4 and 5 not in model.items
    scores = model.score(np.array([0]))
    assert scores[0, 5] == 0.0  # no events at all
    assert abs(scores[0, 5]) < 1e-5


def test_content_finds_textual_neighbours_and_serves_new_items():
    texts = ["red wool hat", "red wool scarf", "blue metal lamp", "blue metal desk lamp", ""]
    texts.append("blue metal floor lamp")  # item 5: in the catalogue, no events yet
    data = make_data({"a": [0, 2], "b": [1, 3]}, n_items=6, features=features(texts))
    model = make_algorithm("content").fit(data)
    idx, _ = model.similar_items(np.arange(6), k=1)
    assert idx[:, 0].tolist() == [1, 0, 3, 2, -1, 2]
    vectors = tfidf_matrix(data.features)
    norms = np.sqrt(vectors.multiply(vectors).sum(axis=1)).A1
    np.testing.assert_allclose(norms, [1, 1, 1, 1, 0, 1], rtol=1e-5)
    fresh = make_data({"z": [2]}, n_items=6)
    assert set(model.recommend(np.array([0]), k=2, data=fresh)[0][0].tolist()) == {3, 5}


def test_content_without_features_degrades_to_no_neighbours(caplog):
    model = make_algorithm("content").fit(make_data(PAIRS))
    assert "no item features" in caplog.text
    assert (model.similar_items(np.array([0]), k=3)[0] == -1).all()
    assert model.score(np.array([0])).shape == (1, 6)


def test_hybrid_blends_components():
    data = make_data(PAIRS)
    hybrid = make_algorithm(
        "hybrid", components={"cooccurrence": 1.0, "popularity": 0.5}, params={}
    ).fit(data)
    assert set(hybrid.models) == {"cooccurrence", "popularity"}
    scores = hybrid.score(np.arange(data.n_users))
    assert scores.max() <= 1.5 + 1e-6 and scores.min() >= 0.0
    idx, _ = hybrid.similar_items(np.array([0]), k=1)
    assert idx[0, 0] == 1
    with pytest.raises(ValueError):
        make_algorithm("hybrid", components={}).fit(data)
    with pytest.raises(ValueError):
        make_algorithm("hybrid", components={"ease": 1.0}, params={"content": {}}).fit(data)
    with pytest.raises(ValueError):
        make_algorithm("hybrid", components={"hybrid": 1.0}).fit(data)


@pytest.mark.parametrize("name", CLASSICAL)
def test_every_algorithm_is_deterministic_and_pickles(name):
    data = make_data(PAIRS)
    first = make_algorithm(name).fit(data)
    second = make_algorithm(name).fit(data)
    users = np.arange(data.n_users)
    np.testing.assert_array_equal(first.score(users), second.score(users))
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.score(users), first.score(users))
    idx, scores = first.recommend(users, k=3)
    assert idx.shape == (data.n_users, 3)
    # seen items are never recommended
    for u in users:
        seen = set(data.sequence(u).tolist())
        assert not seen & set(idx[u][np.isfinite(scores[u])].tolist())


@pytest.mark.parametrize("name", CLASSICAL)
def test_unknown_parameters_are_rejected(name):
    with pytest.raises(ValueError, match="unknown parameter"):
        make_algorithm(name, nonsense=1)


def test_one_shopper_repeating_an_event_cannot_outweigh_the_crowd():
    """A client that sends 1,000 views of one product weighs as one heavy shopper."""
    from recommendations.training.algorithms.popularity import Popularity
    from recommendations.training.dataset import CELL_WEIGHT_CAP
    from tests.recommendations.training.view_logs import views_dataset

    users = ["spammer"] * 1000 + [f"shopper-{n}" for n in range(30)]
    items = [0] * 1000 + [1] * 30  # thirty real shoppers viewed product 1 once each
    data = views_dataset(users, items, [0.0] * len(items), n_items=2)
    assert data.matrix.max() == CELL_WEIGHT_CAP
    scores = Popularity().fit(data).score(np.array([0]))[0]
    assert scores[1] > scores[0]
