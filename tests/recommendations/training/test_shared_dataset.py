"""The Dataset is written once per run and memory-mapped by every precompute process,
and the neighbour table behind reasons comes from the model when it has one (#26)."""

import multiprocessing
import pickle

import numpy as np

from recommendations.training.algorithms import make_algorithm
from recommendations.training.algorithms.cooccurrence import binary_matrix, cosine_similarity
from recommendations.training.dataset import KIND_CODES, build_dataset, share_dataset
from recommendations.training.lists import REASON_NEIGHBOURS, reason_neighbours

VIEW, PURCHASE = KIND_CODES["view"], KIND_CODES["purchase"]


def _data():
    rng = np.random.default_rng(3)
    n = 400
    return build_dataset(
        np.array([f"u:{u}" for u in rng.integers(0, 40, n)], dtype=object),
        rng.integers(1, 30, n),
        rng.choice([VIEW, PURCHASE], n, p=[0.8, 0.2]),
        rng.uniform(0, 1e6, n),
    )


def _digest(data):
    """What a precompute process reads, reduced to comparable numbers."""
    return (
        [str(k) for k in data.user_keys],
        data.matrix.toarray().tolist(),
        data.baskets.toarray().tolist(),
        data.seq_items.tolist(),
        data.seq_times.tolist(),
        data.seq_indptr.tolist(),
    )


def _mapped(array):
    """Whether ``array`` is (a view of) a memory-mapped file."""
    while array is not None:
        if isinstance(array, np.memmap):
            return True
        array = getattr(array, "base", None)
    return False


def _read_in_child(path):
    with open(path, "rb") as fh:
        model = pickle.load(fh)
    data = model.data
    arrays = (data.seq_items, data.seq_times, data.user_keys, data.matrix.data)
    mapped = all(_mapped(a) for a in (*arrays, data.matrix.indices, data.baskets.indptr))
    return mapped, _digest(data)


def test_two_processes_map_the_same_shared_dataset(settings, tmp_path):
    settings.MODEL_DIR = tmp_path
    data = _data()
    expected = _digest(data)
    model = make_algorithm("popularity").fit(data)
    plain = len(pickle.dumps(model))
    share_dataset(5, data)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    assert path.stat().st_size < plain / 2  # the arrays are not in the pickle any more

    with multiprocessing.get_context("fork").Pool(2) as pool:
        results = pool.map(_read_in_child, [path, path])

    for mapped, digest in results:
        assert mapped
        assert digest == expected


def test_reason_neighbours_reuse_a_cosine_model_and_match_computing_them():
    data = _data()
    model = make_algorithm("cooccurrence", k=50).fit(data)
    computed = cosine_similarity(binary_matrix(data), REASON_NEIGHBOURS)
    reused = reason_neighbours(model)
    other = reason_neighbours(make_algorithm("popularity").fit(data))
    assert (reused != other).nnz == 0
    computed.data[computed.data < 0.05] = 0
    computed.eliminate_zeros()
    assert (reused != computed).nnz == 0 and reused.nnz > 0
