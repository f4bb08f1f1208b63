"""The TensorFlow two-tower recommender on tiny datasets with an obvious answer."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.training.algorithms import make_algorithm, two_tower
from recommendations.training.algorithms.base import Recommender
from recommendations.training.dataset import KIND_CODES, Dataset, ItemFeatures, build_dataset
from tests.paths import ROOT

# Items 101..106 form two chains, 101 -> 102 -> 103 and 104 -> 105 -> 106, bought by
# two groups of shoppers with disjoint tastes; 107 has no events but the features of 101.
ITEM_IDS = np.arange(101, 108)
CHAINS = ([101, 102, 103], [104, 105, 106])
FAST = {"min_steps": 150, "batch_size": 64, "seed": 3}


def _features() -> ItemFeatures:
    text = [
        "red wool scarf knitted",
        "blue ceramic mug",
        "green garden hose",
        "steel kitchen knife",
        "oak picture frame",
        "silver table lamp",
        "red wool scarf knitted winter",  # the new product: a near twin of 101
    ]
    return ItemFeatures(
        text=text,
        category=np.array([0, 1, 2, 3, 4, 5, 0], dtype=np.int32),
        brand=np.array([0, 1, 2, 3, 4, 5, 0], dtype=np.int32),
        price=np.array([10, 20, 30, 40, 50, 60, 11], dtype=np.float32),
    )


def _dataset(histories: dict[str, list[int]]) -> Dataset:
    """A Dataset of view events, one per history entry, in list order."""
    users, items, times = [], [], []
    t = 1_700_000_000.0
    for user, history in histories.items():
        for item in history:
            users.append(user)
            items.append(item)
            times.append(t)
            t += 60.0
    return build_dataset(
        np.array(users, dtype=object),
        np.array(items),
        np.full(len(items), KIND_CODES["view"], dtype=np.int8),
        np.array(times),
        item_ids=ITEM_IDS,
        features=_features(),
    )


def _train_data() -> Dataset:
    histories = {}
    for g, chain in enumerate(CHAINS):
        for n in range(40):
            histories[f"u:{g}-{n}"] = chain * (1 + n % 2)  # one or two passes
    return _dataset(histories)


def _fold_in_data() -> Dataset:
    """New shoppers (never trained on) with partial chains."""
    return _dataset({"s:a": [101], "s:b": [101, 102], "s:c": [104], "s:d": [104, 105]})


def _col(item_id: int) -> int:
    return int(np.searchsorted(ITEM_IDS, item_id))


@pytest.fixture(scope="module")
def trained():
    return make_algorithm("two_tower", **FAST).fit(_train_data())


def test_unknown_or_bad_parameters_are_rejected():
    with pytest.raises(ValueError, match="unknown parameter"):
        make_algorithm("two_tower", layers=3)
    for bad in ({"encoder": "lstm"}, {"embedding_dim": 0}, {"dropout": 1.5}, {"heads": 5}):
        with pytest.raises(ValueError):
            make_algorithm("two_tower", **bad)


def test_ranks_the_next_item_of_the_chain_first_for_new_shoppers(trained):
    data = _fold_in_data()
    users = np.arange(4)  # s:a .. s:d (keys sort alphabetically)
    assert list(data.user_keys[:4]) == ["s:a", "s:b", "s:c", "s:d"]
    top, _ = trained.recommend(users, k=1, data=data)
    assert [ITEM_IDS[i] for i in top[:, 0]] == [102, 103, 105, 106]
    scores = trained.score(users, data)
    assert scores.dtype == np.float32 and scores.shape == (4, len(ITEM_IDS))


def test_trained_users_get_their_own_group(trained):
    data = trained.data
    scores = trained.score(np.arange(data.n_users))
    group_one = np.array([k.startswith("u:0-") for k in data.user_keys])
    own = scores[:, [_col(i) for i in CHAINS[0]]].mean(1)
    other = scores[:, [_col(i) for i in CHAINS[1]]].mean(1)
    assert np.all((own > other) == group_one)


def test_shopper_without_history_gets_popular_items(trained):
    data = _fold_in_data()
    # Append a shopper row without any events (as a Dataset from another source may have).
    data = replace(
        data,
        matrix=sp.vstack([data.matrix, sp.csr_matrix((1, data.n_items))]).tocsr(),
        user_keys=np.append(data.user_keys, "s:e"),
        seq_indptr=np.append(data.seq_indptr, data.seq_indptr[-1]),
    )
    scores = trained.score(np.array([4, 0]), data)
    assert scores[0, _col(107)] == scores[0].min() < scores[0].max()  # 107: no events
    np.testing.assert_array_equal(scores[1], trained.score(np.array([0]), data)[0])


def test_fold_in_needs_the_same_items(trained):
    other = build_dataset(
        np.array(["s:x"], dtype=object),
        np.array([101]),
        np.zeros(1, dtype=np.int8),
        np.array([0.0]),
        item_ids=np.array([101, 999]),
    )
    with pytest.raises(ValueError, match="item_ids"):
        trained.score(np.array([0]), other)


def test_new_product_gets_a_vector_from_its_features(trained):
    assert trained.tables["id_code"][_col(107)] == 0  # the out-of-vocabulary bucket
    idx, sims = trained.similar_items(np.array([_col(107)]), k=3)
    assert ITEM_IDS[idx[0, 0]] == 101
    assert sims[0, 0] > 0.5
    assert sims[0, 0] > sims[0, 1]


def test_similar_items_pads_and_excludes_the_item_itself(trained):
    idx, sims = trained.similar_items(np.array([0, 3]), k=10)
    assert idx.shape == (2, 10)
    assert 0 not in idx[0] and 3 not in idx[1]
    assert (idx[:, 6:] == -1).all() and (sims[:, 6:] == 0).all()


def test_similar_items_in_blocks_equal_one_block(trained, monkeypatch):
    items = np.arange(7)
    whole = trained.similar_items(items, k=4)
    monkeypatch.setattr(two_tower, "SIMILAR_BLOCK", 2)  # 7 items: blocks of 2, 2, 2, 1
    blocked = trained.similar_items(items, k=4)
    np.testing.assert_array_equal(blocked[0], whole[0])
    np.testing.assert_allclose(blocked[1], whole[1], rtol=1e-5)  # BLAS may round otherwise


@pytest.mark.slow
def test_same_seed_same_scores_other_seed_differs(trained):
    data = _fold_in_data()
    users = np.arange(4)
    again = make_algorithm("two_tower", **FAST).fit(_train_data())
    np.testing.assert_array_equal(again.score(users, data), trained.score(users, data))
    other = make_algorithm("two_tower", **{**FAST, "seed": 4}).fit(_train_data())
    assert not np.array_equal(other.score(users, data), trained.score(users, data))


@pytest.mark.slow
def test_attention_encoder_learns_the_chains():
    model = make_algorithm("two_tower", encoder="attention", **FAST).fit(_train_data())
    top, _ = model.recommend(np.arange(4), k=1, data=_fold_in_data())
    assert [ITEM_IDS[i] for i in top[:, 0]] == [102, 103, 105, 106]


@pytest.mark.slow
def test_saved_model_scores_the_same_in_a_fresh_process(trained, tmp_path):
    path = tmp_path / "two_tower.pkl"
    trained.save(path)
    expected = trained.score(np.arange(4), _fold_in_data())
    code = f"""
import sys, numpy as np
sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
from recommendations.training.algorithms.base import Recommender
model = Recommender.load({str(path)!r})
model.similar_items(np.array([0]), 3)
assert not any(m.split(".")[0] in ("tensorflow", "keras") for m in sys.modules), "TF loaded"
from test_two_tower import _fold_in_data
np.save({str(tmp_path / "scores.npy")!r}, model.score(np.arange(4), _fold_in_data()))
"""
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=300)
    np.testing.assert_allclose(np.load(tmp_path / "scores.npy"), expected, atol=1e-6)
    assert isinstance(Recommender.load(path), type(trained))


def _graded_log(n_sources: int = 4, shoppers: tuple[int, ...] = (30, 18, 12)) -> Dataset:
    """Shoppers view a source item, then one of its three successors, with 30 / 18 / 12
    shoppers each: the next item's ranking after a source is b > c > d, by construction."""
    users, items = [], []
    for s in range(n_sources):
        for rank, count in enumerate(shoppers):
            for n in range(count):
                users += [f"u{s}-{rank}-{n:02d}"] * 2
                items += [s, n_sources + 3 * s + rank]
    return build_dataset(
        np.array(users, dtype=object),
        np.array(items),
        np.full(len(items), KIND_CODES["view"], dtype=np.int8),
        1_700_000_000.0 + 60.0 * np.arange(len(items)),
        item_ids=np.arange(4 * n_sources),
    )


@pytest.mark.parametrize("name", ["two_tower", pytest.param("sasrec", marks=pytest.mark.slow)])
def test_full_and_sampled_softmax_agree_in_ranking(name):
    data = _graded_log()
    fold_in = build_dataset(
        np.array(["s0", "s1", "s2", "s3"], dtype=object),
        np.arange(4),
        np.full(4, KIND_CODES["view"], dtype=np.int8),
        np.arange(4) * 60.0,
        item_ids=np.arange(16),
    )
    fast = {"min_steps": 300, "batch_size": 64, "embedding_dim": 16, "id_dropout": 0.0}
    expected = [[4 + 3 * s, 5 + 3 * s, 6 + 3 * s] for s in range(4)]
    for softmax in ("full", "sampled"):
        model = make_algorithm(name, softmax=softmax, seed=1, **fast).fit(data)
        top, _ = model.recommend(np.arange(4), k=3, data=fold_in)
        assert top.tolist() == expected, softmax


def test_full_softmax_up_to_the_threshold_by_default():
    p = make_algorithm("two_tower").params
    assert p["softmax"] == "auto"
    assert two_tower.full_softmax(p, p["full_softmax_items"])
    assert not two_tower.full_softmax(p, p["full_softmax_items"] + 1)
    assert two_tower.full_softmax({**p, "softmax": "full"}, 10**6)
    assert not two_tower.full_softmax({**p, "softmax": "sampled"}, 10)
    with pytest.raises(ValueError, match="softmax"):
        make_algorithm("two_tower", softmax="hierarchical")
