"""bench/quality.py's goal against the README's blend, and what a test set can show."""

import sys

import numpy as np

from tests.paths import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from quality import readme_goal  # noqa: E402


def _row(values) -> dict:
    values = np.asarray(values, dtype=np.float64)
    return {"ndcg_users": values, "ndcg@10": float(values.mean())}


def test_the_goal_and_the_gain_a_test_set_needs_to_show_it():
    rng = np.random.default_rng(0)
    base = rng.random(2000) * (rng.random(2000) < 0.1)  # sparse hits, like NDCG@10
    readme = _row(base)
    ahead = _row(np.where(rng.random(2000) < 0.3, np.maximum(base, 0.5), base))
    level = _row(base.copy())
    other = _row(np.where(rng.random(2000) < 0.1, 1.0, 0.0))

    won = readme_goal(ahead, readme, [ahead, other])
    assert won["met"] and won["gain"] > won["needed"] >= 0.05
    tie = readme_goal(level, readme, [level, other])
    assert not tie["met"] and tie["needed"] == 0.05  # no spread: 5% would show
    # After-the-fact best candidate per shopper: at least every candidate's mean.
    assert won["ceiling"] >= max(ahead["ndcg@10"], other["ndcg@10"])
    assert 0.0 <= won["power"] <= 1.0 and "observed gain" in won["text"]
    noisy = readme_goal(_row(base + rng.normal(0, 0.2, 2000)), readme, [other])
    assert noisy["needed"] > 0.05 and noisy["power"] < 0.5


def test_full_softmax_rows_only_where_tuning_kept_the_sampled_one(monkeypatch):
    import quality

    from recommendations.training.tuning import Tuned

    fitted = []
    monkeypatch.setattr(
        quality, "scored", lambda model, test: fitted.append(model) or {"ndcg@10": 0.0}
    )
    test = type("Split", (), {"train": type("Data", (), {"n_items": 50})()})()
    tuned = {
        "two_tower": Tuned(name="two_tower", params={}),  # auto: full at 50 products
        "sasrec": Tuned(name="sasrec", params={"softmax": "sampled", "blocks": 1}),
        "lightgcn": Tuned(name="lightgcn", params={"softmax": "full"}),
    }
    monkeypatch.setattr(quality, "table", lambda rows, paired: f"{len(rows)} rows")
    rows = quality.full_softmax_rows(tuned, test)
    assert [m.name for m in fitted] == ["sasrec"]
    assert fitted[0].params["softmax"] == "full" and fitted[0].params["blocks"] == 1
    assert rows[0]["label"] == "sasrec, full softmax"
    assert "1 rows" in quality.full_softmax_text(rows)
    assert "Every TensorFlow candidate" in quality.full_softmax_text([])
