"""Per-log tuning, noise-aware choice and promotion (training/tuning.py)."""

import numpy as np
import pytest
import scipy.sparse as sp

from recommendations.training import tuning
from recommendations.training.algorithms.base import top_k
from recommendations.training.dataset import KIND_CODES
from recommendations.training.evaluation import (
    paired_bootstrap,
    ranking_metrics,
    split_leave_last_out,
)
from tests.recommendations.training.view_logs import views_dataset

VIEW = KIND_CODES["view"]


def chain_log(n_users: int = 120, n_items: int = 30, seed: int = 3):
    """Shoppers walk a chain of items (i -> i+1) with some noise: order matters."""
    rng = np.random.default_rng(seed)
    users, items, times = [], [], []
    for u in range(n_users):
        start = int(rng.integers(0, n_items - 6))
        length = int(rng.integers(4, 7))
        for step in range(length):
            item = start + step if rng.random() > 0.15 else int(rng.integers(0, n_items))
            users.append(f"u{u}")
            items.append(item)
            times.append(1_000_000.0 + u * 1000 + step * 60)
    return views_dataset(users, items, times, n_items)


def tuned(name, per_user, complexity_name=None):
    per_user = np.asarray(per_user, dtype=np.float64)
    return tuning.Tuned(
        name=complexity_name or name,
        params={},
        metrics={"ndcg@10": float(per_user.mean())},
        per_user=per_user,
    )


class TestTuningReadsOnlyValidation:
    def test_select_on_validation_never_touches_the_test_split(self, monkeypatch):
        test = split_leave_last_out(chain_log())
        seen_splits = []
        real = tuning.evaluate

        def spy(model, split, *args, **kwargs):
            seen_splits.append(split)
            return real(model, split, *args, **kwargs)

        monkeypatch.setattr(tuning, "evaluate", spy)
        validation, results, chosen, _ = tuning.select_on_validation(
            test, ["popularity", "transitions", "sknn", "hybrid"], min_budget=5.0
        )
        assert seen_splits and all(s is validation for s in seen_splits)
        assert all(s is not test for s in seen_splits)
        # Validation trains without the test split's held-out (last) interactions...
        assert (
            validation.train.n_events
            < test.train.n_events
            < test.train.n_events + len(test.test_users) + 1
        )
        # ...and its shoppers are judged on an earlier item than the test one.
        assert chosen.name in results and results["transitions"].tuned

    def test_tuned_hybrid_is_never_below_a_component(self):
        validation = split_leave_last_out(split_leave_last_out(chain_log()).train)
        results = tuning.tune_candidates(
            ["popularity", "cooccurrence", "transitions", "hybrid"], validation, min_budget=5.0
        )
        # On the shoppers its weights were searched on; the others judge it like the rest.
        searched = ~results["hybrid"].judge
        hybrid = tuning._mean_on(results["hybrid"], searched, "ndcg@10")
        for name in ("popularity", "cooccurrence", "transitions"):
            assert hybrid >= tuning._mean_on(results[name], searched, "ndcg@10") - 1e-12
        assert set(results["hybrid"].params["components"]) <= {
            "popularity",
            "cooccurrence",
            "transitions",
        }

    def test_hybrid_keeps_only_changes_that_gain_the_minimum(self, monkeypatch):
        validation = split_leave_last_out(split_leave_last_out(chain_log()).train)
        names = ["popularity", "cooccurrence", "transitions", "hybrid"]
        monkeypatch.setattr(tuning, "HYBRID_MIN_GAIN", 0.0)
        free = tuning.tune_candidates(names, validation, min_budget=5.0)["hybrid"]
        monkeypatch.setattr(tuning, "HYBRID_MIN_GAIN", 10.0)  # nothing gains 1,000%
        strict = tuning.tune_candidates(names, validation, min_budget=5.0)
        assert len(free.params["components"]) > 1
        best = max(
            ("popularity", "cooccurrence", "transitions"),
            key=lambda n: strict[n].metrics["ndcg@10"],
        )
        assert strict["hybrid"].params["components"] == {best: 1.0}

    def test_search_keeps_defaults_when_they_are_best_and_respects_fixed_params(self):
        validation = split_leave_last_out(chain_log())
        fixed = tuning.tune("transitions", validation, params={"window": 1}, min_budget=5.0)
        assert fixed.params["window"] == 1 and all(p["window"] == 1 for p, _ in fixed.trials)
        best_trial = max(score for _, score in fixed.trials)
        assert fixed.metrics["ndcg@10"] == pytest.approx(best_trial, abs=1e-9)


class TestBlendSearch:
    def test_held_out_ranks_match_a_full_sort(self):
        rng = np.random.default_rng(5)
        scores = rng.integers(0, 6, size=(200, 40)).astype(np.float32)  # many ties
        scores[rng.random(scores.shape) < 0.1] = -np.inf  # seen items
        # Two held-out items for some rows, one for the others.
        rows = np.sort(np.concatenate([np.arange(200), rng.choice(200, 50, replace=False)]))
        items = rng.integers(0, 40, size=len(rows))

        def expected(row, item):
            order = np.lexsort((np.arange(40), -scores[row]))  # as top_k: ties by index
            rank = int(np.flatnonzero(order == item)[0])
            return rank if np.isfinite(scores[row, item]) and rank < 10 else 10

        ranks = tuning.held_out_ranks(scores, rows, items, k=10)
        pairs = zip(rows, items, strict=True)
        assert [min(r, 10) for r in ranks] == [expected(r, i) for r, i in pairs]
        # One item per row takes the no-copy path.
        ranks = tuning.held_out_ranks(scores, np.arange(200), items[:200], k=10)
        assert [min(r, 10) for r in ranks] == [expected(r, i) for r, i in enumerate(items[:200])]
        assert (np.minimum(ranks, 10) < 10).any() and (ranks >= 10).any()

    def test_blend_judge_matches_top_k_lists(self):
        rng = np.random.default_rng(6)
        a, b = rng.random((60, 30)).astype(np.float32), rng.random((60, 30)).astype(np.float32)
        seen = rng.random((60, 30)) < 0.2
        test_items = sp.csr_matrix(
            (np.ones(60), (np.arange(60), rng.integers(0, 30, 60))), shape=(60, 30)
        )
        blends = tuning._Blends({"a": a, "b": b}, seen, test_items, "ndcg@10")
        blends.set_base({"a": 1.0, "b": 0.0}, without="b")
        judged = blends.judge("b", 0.5)
        total = a + np.float32(0.5) * b
        total[seen] = -np.inf
        idx, top = top_k(total, 10)
        lists = np.where(np.isfinite(top), idx, -1)
        expected = ranking_metrics(lists, test_items, 10)["ndcg"].mean()
        assert judged == pytest.approx(expected, abs=1e-12)


class TestNoise:
    def test_paired_bootstrap_interval(self):
        rng = np.random.default_rng(0)
        base = rng.random(500)
        same = paired_bootstrap(base, base)
        assert same["diff"] == 0 and same["low"] == 0 and same["high"] == 0
        better = paired_bootstrap(base + 0.05, base)
        assert better["low"] > 0 and better["p_better"] == 1.0

    def test_champion_stays_on_a_tie_within_noise(self):
        rng = np.random.default_rng(1)
        champion = (rng.random(400) < 0.2).astype(float)
        challenger = champion.copy()
        challenger[:3] = 1.0 - challenger[:3]  # a few shoppers differ, either way
        challenger[3] = 1.0
        champion[3] = 0.0
        assert challenger.mean() >= champion.mean()  # ahead "by noise"
        decision = tuning.promotion_decision(challenger, champion, "ndcg@10")
        assert not decision.promote and decision.low <= 0 <= decision.high
        assert "not better beyond noise" in decision.note and "(one-sided 95%)" in decision.note

    def test_95_percent_confidence_is_one_sided(self):
        """Ahead in about 96% of resamples: better with 95% confidence, though a two-sided
        95% interval still reaches 0."""
        rng = np.random.default_rng(4)
        champion = rng.normal(0.0, 1.0, 400)
        challenger = champion + rng.normal(0.0, 1.0, 400)
        challenger += 0.09 - (challenger - champion).mean()  # mean difference 1.8 SE
        two_sided = paired_bootstrap(challenger, champion, level=0.95)
        assert two_sided["low"] < 0 < two_sided["high"] and two_sided["p_better"] > 0.95
        assert tuning.promotion_decision(challenger, champion, "ndcg@10").promote
        chosen, _ = tuning.choose(
            [tuned("hybrid", challenger + 1.0), tuned("transitions", champion + 1.0)], "ndcg@10"
        )
        assert chosen.name == "hybrid"  # not "within noise" of the simpler one

    def test_clearly_better_challenger_is_promoted(self):
        rng = np.random.default_rng(2)
        champion = (rng.random(400) < 0.1).astype(float)
        challenger = np.maximum(champion, (rng.random(400) < 0.3).astype(float))
        decision = tuning.promotion_decision(challenger, champion, "ndcg@10")
        assert decision.promote and decision.low > 0
        assert "better with 95% confidence" in decision.note

    def test_margin_promotes_without_significance(self):
        champion = np.zeros(20)
        challenger = np.zeros(20)
        challenger[0] = 1.0  # +0.05 on average, but one shopper
        assert not tuning.promotion_decision(challenger, champion, "ndcg@10").promote
        assert tuning.promotion_decision(challenger, champion, "ndcg@10", margin=0.04).promote

    def test_choose_prefers_the_simpler_candidate_within_noise(self):
        rng = np.random.default_rng(3)
        simple = (rng.random(300) < 0.2).astype(float)
        complex_ = simple.copy()
        complex_[:2] = 1.0  # slightly ahead, within noise
        chosen, notes = tuning.choose(
            [tuned("hybrid", complex_), tuned("transitions", simple)], "ndcg@10"
        )
        assert chosen.name == "transitions" and "within noise" in notes["hybrid"]

    def test_choose_never_prefers_a_weaker_candidate_of_the_same_complexity(self):
        # "sknn" is within noise of the hybrid only because its wins are on other
        # shoppers (little correlation); "transitions", as simple, scores higher.
        rng = np.random.default_rng(5)
        n = 600
        transitions = (rng.random(n) < 0.2).astype(float)
        best = transitions.copy()
        best[np.flatnonzero(transitions == 0)[:12]] = 1.0  # hybrid = transitions + 12 hits
        sknn = rng.permutation(transitions)  # as many hits, on other shoppers...
        sknn[np.flatnonzero(sknn)[:3]] = 0.0  # ...minus three: below transitions
        candidates = [tuned("hybrid", best), tuned("transitions", transitions), tuned("sknn", sknn)]
        assert "within noise" in tuning.choose(candidates[::2], "ndcg@10")[1]["sknn"]
        chosen, notes = tuning.choose(candidates, "ndcg@10")
        assert chosen.name == "hybrid"
        assert "clearly behind" in notes["transitions"]
        assert "at most as complex scores higher" in notes["sknn"]

    def test_choose_keeps_a_clearly_better_complex_candidate(self):
        rng = np.random.default_rng(4)
        simple = (rng.random(300) < 0.1).astype(float)
        complex_ = np.maximum(simple, (rng.random(300) < 0.3).astype(float))
        chosen, notes = tuning.choose(
            [tuned("hybrid", complex_), tuned("transitions", simple)], "ndcg@10"
        )
        assert chosen.name == "hybrid" and "clearly behind" in notes["transitions"]


class TestSeparateShoppers:
    def test_weight_search_never_sees_the_judging_shoppers(self, monkeypatch):
        validation = split_leave_last_out(split_leave_last_out(chain_log(n_users=200)).train)
        judge = tuning.judging_rows(validation, seed=0)
        judges = set(validation.test_users[judge].tolist())
        assert 0 < len(judges) < len(validation.test_users)
        searched = []
        real = tuning._search_weights

        def spy(comps, split, sample, *args, **kwargs):
            searched.append(sample[0].copy())
            return real(comps, split, sample, *args, **kwargs)

        monkeypatch.setattr(tuning, "_search_weights", spy)
        results = tuning.tune_candidates(
            ["popularity", "cooccurrence", "transitions", "hybrid"], validation, max_trials=3
        )
        assert searched and all(len(users) for users in searched)
        assert not judges & set(np.concatenate(searched).tolist())
        # The hybrid keeps the partition, and only the judging shoppers judge the choice.
        hybrid = results["hybrid"]
        assert np.array_equal(hybrid.judge, judge)
        _, notes = tuning.choose(list(results.values()), "ndcg@10")
        judged_mean = hybrid.per_user[judge[hybrid.rows]].mean()
        assert f"{judged_mean:.4f}" in notes["hybrid"]
        # As the task graph calls it: tune_hybrid alone searches on the same half.
        searched.clear()
        pool = [t for n, t in results.items() if n != "hybrid"]
        alone = tuning.tune_hybrid(pool, validation)
        assert np.array_equal(alone.judge, judge)
        assert searched and not judges & set(np.concatenate(searched).tolist())

    def test_partition_is_seeded(self):
        validation = split_leave_last_out(chain_log())
        a, b = tuning.judging_rows(validation, 0), tuning.judging_rows(validation, 0)
        assert np.array_equal(a, b) and not np.array_equal(a, tuning.judging_rows(validation, 1))

    def test_trial_budget_ignores_the_clock(self):
        validation = split_leave_last_out(chain_log())
        t = tuning.tune("transitions", validation, min_budget=0.0, max_trials=4)
        assert len(t.trials) == 4
        again = tuning.tune("transitions", validation, min_budget=1e6, max_trials=4)
        assert again.trials == t.trials and again.params == t.params


def test_top_k_keeps_the_lowest_indices_tied_at_the_kth_place():
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 3, size=(50, 40)).astype(np.float32)  # many ties
    scores[rng.random(scores.shape) < 0.2] = -np.inf
    for k in (1, 5, 10, 39, 40):
        idx, vals = top_k(scores, k)
        for row in range(len(scores)):
            expected = np.lexsort((np.arange(40), -scores[row]))[:k]
            assert idx[row].tolist() == expected.tolist()
            assert vals[row].tolist() == scores[row, expected].tolist()


def test_weight_search_starts_from_the_best_two_alone_then_all_together():
    comps = [tuned(name, [0.1]) for name in ("sknn", "transitions", "ease")]
    starts = tuning._starts(comps)
    assert starts == [
        {"sknn": 1.0, "transitions": 0.0, "ease": 0.0},
        {"sknn": 0.0, "transitions": 1.0, "ease": 0.0},
        {"sknn": 1.0, "transitions": 1.0, "ease": 1.0},
    ]
    assert tuning._starts(comps[:1]) == [{"sknn": 1.0}]
