"""The LightGCN-style graph candidate: planted communities, features, fold-in, pickles."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

from recommendations.training import tuning
from recommendations.training.algorithms import ALGORITHMS, make_algorithm
from recommendations.training.algorithms.lightgcn import normalised_graph
from recommendations.training.dataset import KIND_CODES, Dataset, ItemFeatures, build_dataset
from tests.paths import ROOT

N_ITEMS = 21  # two communities of 10 products, and product 20 without events
GROUP = np.array([i // 10 for i in range(20)] + [0])  # product 20 looks like group 0
FAST = {"min_steps": 120, "batch_size": 128, "embedding_dim": 16, "seed": 1}


def _features() -> ItemFeatures:
    # Categories and brands follow the communities.
    return ItemFeatures(
        text=[""] * N_ITEMS,
        category=GROUP.astype(np.int32),
        brand=GROUP.astype(np.int32) + 5,
        price=np.full(N_ITEMS, 10.0, dtype=np.float32),
    )


def _views(histories: dict[str, list[int]]) -> Dataset:
    users = [u for u, items in histories.items() for _ in items]
    items = [i for history in histories.values() for i in history]
    return build_dataset(
        np.array(users, dtype=object),
        np.array(items),
        np.full(len(items), KIND_CODES["view"], dtype=np.int8),
        1_700_000_000.0 + 60.0 * np.arange(len(items)),
        item_ids=np.arange(N_ITEMS),
        features=_features(),
    )


def planted(n_users: int = 80, per_user: int = 6, seed: int = 0) -> Dataset:
    """Shoppers of two groups, each viewing products of its own group only."""
    rng = np.random.default_rng(seed)
    histories = {}
    for u in range(n_users):
        pool = np.arange(10) + 10 * (u % 2)
        histories[f"u{u:03d}"] = [int(i) for i in rng.choice(pool, per_user, replace=False)]
    return _views(histories)


@pytest.fixture(scope="module")
def trained():
    return make_algorithm("lightgcn", **FAST).fit(planted())


def test_each_shopper_s_top_items_come_from_its_group(trained):
    data = trained.data
    group = np.array([int(key[1:]) % 2 for key in data.user_keys])
    top, _ = trained.recommend(np.arange(data.n_users), k=3)
    assert (GROUP[top] == group[:, None]).all()
    assert trained.epochs_trained is not None  # early stopping judged the weights


def test_new_shoppers_are_folded_in_from_their_items(trained):
    fresh = _views({"n:a": [1, 2], "n:b": [13]})
    top, _ = trained.recommend(np.arange(2), k=5, data=fresh)
    assert (GROUP[top[0]] == 0).all() and (GROUP[top[1]] == 1).all()


def test_a_new_product_gets_a_vector_from_its_category_and_brand(trained):
    assert trained.tables["id_code"][20] == 0  # no events: the out-of-vocabulary id
    idx, _ = trained.similar_items(np.array([20]), k=5)
    assert (GROUP[idx[0]] == 0).all()


def test_scores_survive_a_pickle(trained):
    again = pickle.loads(pickle.dumps(trained))
    users = np.arange(5)
    np.testing.assert_array_equal(again.score(users), trained.score(users))


def test_graph_is_symmetrically_normalised():
    # Shopper 0 had items 0, 1 (1 twice in a row is one edge); shopper 1 had item 1.
    rows, cols, values, shape = normalised_graph(np.array([0, 3, 4]), np.array([0, 1, 1, 1]), 3)
    assert shape == (2, 3)
    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == [(0, 0), (0, 1), (1, 1)]
    np.testing.assert_allclose(values, [1 / np.sqrt(2), 1 / 2, 1 / np.sqrt(2)], rtol=1e-6)


def test_registered_tuned_and_bad_parameters_rejected():
    assert "lightgcn" in ALGORITHMS and "lightgcn" in tuning.SEARCH_SPACES
    assert tuning.COMPLEXITY["lightgcn"] == tuning.COMPLEXITY["sasrec"]
    for bad in ({"layers": -1}, {"layers": 1.5}, {"softmax": "nope"}, {"embedding_dim": 0}):
        with pytest.raises(ValueError):
            make_algorithm("lightgcn", **bad)


@pytest.mark.slow
def test_scoring_a_saved_model_needs_no_tensorflow(trained, tmp_path):
    path = tmp_path / "lightgcn.pkl"
    trained.save(path)
    np.save(tmp_path / "expected.npy", trained.score(np.arange(5)))
    code = f"""
import sys, numpy as np
sys.path.insert(0, {str(ROOT)!r})
from recommendations.training.algorithms.base import Recommender
model = Recommender.load({str(path)!r})
np.testing.assert_allclose(model.score(np.arange(5)), np.load({str(tmp_path / "expected.npy")!r}))
model.similar_items(np.array([0]), 3)
assert not any(m.split(".")[0] in ("tensorflow", "keras") for m in sys.modules), "TF loaded"
"""
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=300)
