"""The SASRec-style self-attention candidate: learns order, deterministic, early stopping."""

from __future__ import annotations

import logging
import re

import numpy as np
import pytest

from recommendations.training.algorithms import make_algorithm
from tests.recommendations.training.test_two_tower import ITEM_IDS, _dataset, _fold_in_data

FAST = {"min_steps": 150, "batch_size": 64, "embedding_dim": 16, "seed": 5, "patience": 2}


def _train_data():
    # Two chains; long histories so early stopping has shoppers with 3+ items to hold out.
    histories = {}
    for g, chain in enumerate(([101, 102, 103], [104, 105, 106])):
        for n in range(60):
            histories[f"u:{g}-{n}"] = chain * 2
    return _dataset(histories)


@pytest.mark.slow
def test_sasrec_learns_the_chains_deterministically_with_early_stopping():
    data = _train_data()
    model = make_algorithm("sasrec", **FAST).fit(data)
    top, _ = model.recommend(np.arange(4), k=1, data=_fold_in_data())
    assert [ITEM_IDS[i] for i in top[:, 0]] == [102, 103, 105, 106]
    assert model.epochs_trained is not None and model.epochs_trained >= 1

    again = make_algorithm("sasrec", **FAST).fit(data)
    users = np.arange(4)
    fresh = _fold_in_data()
    np.testing.assert_array_equal(again.score(users, fresh), model.score(users, fresh))
    assert again.epochs_trained == model.epochs_trained


@pytest.mark.slow
def test_long_epochs_are_judged_several_times(monkeypatch, caplog):
    from recommendations.training.algorithms import two_tower_model as tm

    monkeypatch.setattr(tm, "CHECK_STEPS", 4)  # about 10 steps an epoch here: 2 checks each
    with caplog.at_level(logging.DEBUG, logger=tm.__name__):  # the checks log at DEBUG
        model = make_algorithm("sasrec", **FAST).fit(_train_data())
    checks = [
        tuple(int(w) for w in re.findall(r"epoch (\d+) step (\d+)", r.getMessage())[0])
        for r in caplog.records
        if "early-stopping" in r.getMessage()
    ]
    epochs = [e for e, _ in checks]
    assert len(set(epochs)) < len(epochs)  # two checks within one epoch
    assert model.epochs_trained in epochs
