"""MMR re-ranking (recommendations/diversity.py)."""

import numpy as np
import pytest

from recommendations.diversity import mmr_rerank

CATEGORY = {10: 0, 11: 0, 12: 0, 20: 1, 30: 2}


def same_category(items, item):
    return np.array([float(CATEGORY[int(i)] == CATEGORY[int(item)]) for i in items])


def test_lambda_zero_keeps_the_score_order():
    items = np.array([12, 10, 20, 11])
    out = mmr_rerank(items, np.array([0.5, 0.9, 0.1, 0.7]), same_category, 0.0, 3)
    assert out.tolist() == [10, 11, 12]


def test_diversity_pulls_other_categories_up():
    items = np.array([10, 11, 12, 20, 30])
    scores = np.array([1.0, 0.95, 0.9, 0.5, 0.4])
    assert mmr_rerank(items, scores, same_category, 0.5, 3).tolist() == [10, 20, 30]
    assert mmr_rerank(items, scores, same_category, 0.1, 3).tolist() == [10, 11, 12]


def test_skips_non_finite_and_checks_inputs():
    out = mmr_rerank(np.array([1, 2]), np.array([-np.inf, 1.0]), lambda a, b: a * 0.0, 0.3, 5)
    assert out.tolist() == [2]
    with pytest.raises(ValueError):
        mmr_rerank(np.array([1]), np.array([1.0, 2.0]), same_category, 0.1, 1)
