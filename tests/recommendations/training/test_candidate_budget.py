"""A candidate whose estimated cost on this log breaks the per-candidate budget is
skipped with a note, never silently; the run goes on with the others (#26)."""

import pytest

from recommendations.models import ModelVersion, RunLock
from recommendations.training import budget, graph, pipeline
from recommendations.training.algorithms import ALGORITHMS
from recommendations.training.budget import LogSize, estimate
from tests.recommendations.training.pipeline_support import seed_log

Status = ModelVersion.Status
NAMES = ["popularity", "cooccurrence", "sasrec"]


def _shop(events: int, users: int, items: int, categories: int = 12) -> LogSize:
    return LogSize(events, users, items, (items // categories,) * categories)


@pytest.mark.parametrize(
    "size", [_shop(1_000_000, 100_000, 20_000), _shop(4_000_000, 400_000, 80_000)]
)
def test_the_default_budget_keeps_every_candidate_of_today(size):
    for name in ALGORITHMS:
        assert estimate(name, None, size).seconds < budget.DEFAULT_BUDGET_SECONDS, name


def test_estimates_follow_each_algorithms_cost_model():
    small, large = _shop(1_000_000, 100_000, 20_000), _shop(1_000_000, 100_000, 40_000)
    # The same fit (the cap); twice the products: half the shoppers evaluated (10,000).
    fewer_scored = (20_000 - 10_000) * budget.SCORED_ITEMS_MAX * budget.PER_SCORED
    assert estimate("ease", None, small).seconds - estimate(
        "ease", None, large
    ).seconds == pytest.approx(fewer_scored)
    assert "7,000³" in estimate("ease", None, small).why  # min(products, cap)³
    doubled_cap = estimate("ease", {"max_items": 14_000}, small).seconds
    grown = doubled_cap - estimate("ease", None, small).seconds
    assert grown == pytest.approx((14_000**3 - 7_000**3) * budget.PER_EASE_FLOP)
    dense = LogSize(2_000_000, 100_000, 20_000)  # twice the events, same shoppers: E²/U
    assert "about 40,000,000 co-occurrences" in estimate("cooccurrence", None, dense).why
    per_category = estimate("content", None, _shop(1_000_000, 100_000, 24_000)).why
    assert f"{12 * 2_000**2:,} product pairs" in per_category  # within categories
    hybrid = estimate("hybrid", None, small)
    assert hybrid.seconds > estimate("content", None, small).seconds
    assert "content:" in hybrid.why and "ease:" in hybrid.why


def test_the_note_names_the_estimate_and_the_budget():
    est = budget.Estimate("ease", 1234.4, "min(products, cap)³ = 7,000³")
    assert budget.over_budget(est, 2000) == ""
    note = budget.over_budget(est, 60)
    assert "estimated 1,234 s" in note and "budget of 60 s" in note and "7,000³" in note


def _run(how: str):
    if how == "pipeline":
        return pipeline.run_pipeline(algorithms=NAMES, sync=True, tune=False)
    return graph.start(algorithms=NAMES, sync=how == "graph-sync", tune=False)


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["pipeline", "graph-sync", "graph-tasks"])
def test_a_tiny_budget_skips_the_expensive_candidate_and_runs_the_others(settings, how):
    # SASRec trains at least min_steps batches (800 x 512 targets): estimated well over
    # 5 s on any log; popularity and co-occurrence cost milliseconds here.
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "CANDIDATE_BUDGET_SECONDS": 5}
    seed_log()
    result = _run(how)
    versions = {
        v.algorithm: v for v in ModelVersion.objects.filter(pk__in=[v.pk for v in result.versions])
    }
    skipped = versions["sasrec"]
    assert skipped.status == Status.SKIPPED
    assert "Skipped: estimated" in skipped.notes and "budget of 5 s" in skipped.notes
    assert not skipped.metrics
    assert versions["popularity"].metrics and versions["cooccurrence"].metrics
    assert result.winner is not None and result.winner.algorithm in ("popularity", "cooccurrence")
    assert ModelVersion.objects.get(pk=result.winner.pk).status == Status.ACTIVE
    assert not RunLock.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["pipeline", "graph-sync"])
def test_a_run_with_every_candidate_over_the_budget_trains_nothing(settings, how):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "CANDIDATE_BUDGET_SECONDS": 0}
    seed_log()
    result = _run(how)
    statuses = set(ModelVersion.objects.values_list("status", flat=True))
    assert statuses == {Status.SKIPPED}
    assert result.winner is None and not result.promoted
    assert not RunLock.objects.exists()
