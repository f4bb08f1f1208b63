"""Content neighbours in chunks of alike products when a category is too large for all
its pairs (#26): the same top neighbours as all pairs where products form clusters, and
pairs compared growing linearly with the catalogue, counted, not timed."""

import numpy as np

from recommendations.training.algorithms import content
from recommendations.training.algorithms.content import (
    chunks,
    content_similarity,
    similarity_work,
    tfidf_matrix,
)
from recommendations.training.dataset import ItemFeatures


def _features(n_clusters: int, size: int = 6, seed: int = 3) -> ItemFeatures:
    """Products in clusters of ``size``: each describes itself with 4 of its cluster's
    6 words (no word shared across clusters), all in one category."""
    rng = np.random.default_rng(seed)
    text = [
        " ".join(f"c{c}w{w}" for w in rng.choice(6, 4, replace=False))
        for c in range(n_clusters)
        for _ in range(size)
    ]
    n = len(text)
    return ItemFeatures(
        text=text,
        category=np.zeros(n, dtype=np.int32),
        brand=np.full(n, -1, dtype=np.int32),
        price=np.zeros(n, dtype=np.float32),
    )


def _same_neighbours(found, vectors, k: int) -> None:
    """Each row of ``found`` holds k products among the k most similar by all pairs
    (any of those tied with the k-th will do), with the same similarities."""
    full = (vectors @ vectors.T).toarray()
    np.fill_diagonal(full, 0.0)
    for item, row in enumerate(full):
        best = np.sort(row)[::-1][:k]
        got = found[item]
        assert np.allclose(np.sort(got.data)[::-1], best, atol=1e-5)
        assert set(got.indices) <= set(np.flatnonzero(row >= best[-1] - 1e-5))


def test_chunks_cover_every_product_once_within_the_size():
    vectors = tfidf_matrix(_features(10))
    parts = chunks(vectors, np.arange(60), max_size=13)
    assert sorted(np.concatenate(parts).tolist()) == list(range(60))
    assert max(len(p) for p in parts) <= 13
    assert len(parts) > 1


def test_chunked_neighbours_are_the_all_pairs_neighbours_of_clustered_products():
    vectors = tfidf_matrix(_features(8))
    _same_neighbours(content_similarity(vectors, k=3), vectors, 3)  # the reference
    chunked = content_similarity(vectors, k=3, max_group=12)
    assert len(chunks(vectors, np.arange(48), 12)) > 1
    _same_neighbours(chunked, vectors, 3)


def test_a_small_catalogue_is_compared_in_full():
    vectors = tfidf_matrix(_features(8))
    assert (
        content_similarity(vectors, k=5, max_group=48) != content_similarity(vectors, k=5)
    ).nnz == 0
    assert similarity_work(48) == 48**2


def test_pairs_compared_grow_linearly_with_a_large_category(monkeypatch):
    monkeypatch.setattr(content, "ALL_PAIRS_MAX_ITEMS", 20)
    vectors = {n: tfidf_matrix(_features(n)) for n in (16, 32, 64)}
    pairs = {
        n: sum(len(p) ** 2 for p in chunks(v, np.arange(v.shape[0]), 12))
        for n, v in vectors.items()
    }
    for n, v in vectors.items():
        assert pairs[n] <= v.shape[0] * 12  # at most g x the chunk size
    assert pairs[32] <= 2.2 * pairs[16] and pairs[64] <= 2.2 * pairs[32]
    monkeypatch.setattr(content, "MAX_BLOCK_ITEMS", 12)
    assert similarity_work(384, (384,)) == 384 * 12  # budget.py's bound, g x the chunk
    assert similarity_work(384, (200, 184)) == (200 + 184) * 12
