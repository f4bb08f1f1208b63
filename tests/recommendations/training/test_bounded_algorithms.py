"""Algorithms bounded at scale (#26): content pairs within a category on large
catalogues, EASE's item cap stated in the version's notes."""

import numpy as np
import pytest

from recommendations.models import ModelVersion
from recommendations.training import pipeline
from recommendations.training.algorithms import content, make_algorithm
from recommendations.training.dataset import KIND_CODES, ItemFeatures, build_dataset
from tests.recommendations.training.pipeline_support import seed_log

VIEW = KIND_CODES["view"]


def _catalogue(n_items=40):
    words = ["red kettle steel", "blue kettle steel", "red mug ceramic", "blue mug ceramic"]
    rng = np.random.default_rng(2)
    users = rng.integers(0, 30, 400)
    items = rng.integers(0, n_items, 400)
    return build_dataset(
        np.array([f"u:{u}" for u in users], dtype=object),
        items,
        np.full(len(items), VIEW),
        rng.uniform(0, 1e5, len(items)),
        item_ids=np.arange(n_items),
        features=ItemFeatures(
            text=[words[i % 4] for i in range(n_items)],
            category=np.array([i % 2 for i in range(n_items)], dtype=np.int32),
            brand=np.full(n_items, -1, dtype=np.int32),
            price=np.zeros(n_items, dtype=np.float32),
        ),
    )


def test_content_neighbours_stay_within_a_category_on_a_large_catalogue(monkeypatch):
    data = _catalogue()
    everything = make_algorithm("content", k=10).fit(data)
    assert everything.scale_note == ""
    crosses = everything.similarity.tocoo()
    assert (crosses.row % 2 != crosses.col % 2).any()  # "kettle" links both categories

    monkeypatch.setattr(content, "ALL_PAIRS_MAX_ITEMS", 10)
    bounded = make_algorithm("content", k=10).fit(data)
    pairs = bounded.similarity.tocoo()
    assert pairs.nnz and (pairs.row % 2 == pairs.col % 2).all()
    assert "within each category" in bounded.scale_note
    # Within a category the neighbours are the all-pairs ones.
    same = everything.similarity.multiply(
        np.equal.outer(np.arange(40) % 2, np.arange(40) % 2)
    ).tocsr()
    for item in range(40):
        best = bounded.similarity[item].toarray().max()
        assert np.isclose(best, same[item].toarray().max())


def test_ease_says_how_much_of_the_catalogue_it_modelled():
    data = _catalogue()
    assert make_algorithm("ease").fit(data).scale_note == ""
    capped = make_algorithm("ease", max_items=10).fit(data)
    assert "EASE modelled the 10 products" in capped.scale_note
    assert "25% of the 40 with events" in capped.scale_note


@pytest.mark.django_db
def test_the_cap_is_noted_on_the_version():
    seed_log()
    result = pipeline.run_pipeline(algorithms=["ease"], params={"ease": {"max_items": 3}})
    version = ModelVersion.objects.get(pk=result.versions[0].pk)
    assert "EASE modelled the 3 products with the most shoppers" in version.notes
