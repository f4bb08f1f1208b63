"""The pipeline's task graph (training/graph.py) computes what the one-process pipeline
computes, run step by step here (``sync``) and as Celery tasks (eager, in-process).

Tuning budgets are wall-clock, so the comparisons fix what a budget would decide: either
``tune=False`` (defaults) or explicit parameters for every component, leaving the
hybrid's weight search (deterministic) to run after the candidate tasks.
"""

import pytest

from recommendations import registry
from recommendations.models import ModelVersion, RelatedProducts, RunLock, UserRecommendations
from recommendations.training import graph, pipeline
from tests.recommendations.training.pipeline_support import seed_log

pytestmark = pytest.mark.django_db
Status = ModelVersion.Status
NAMES = ["popularity", "cooccurrence", "transitions", "content", "hybrid"]
FIXED = {"popularity": {}, "cooccurrence": {}, "transitions": {}, "content": {}}


def outcome(result) -> dict:
    """Everything a run decided, by algorithm, and the lists it serves."""
    versions = ModelVersion.objects.filter(pk__in=[v.pk for v in result.versions])
    winner = ModelVersion.objects.get(pk=result.winner.pk)
    lists = UserRecommendations.objects.filter(version=winner)
    related = RelatedProducts.objects.filter(version=winner)
    return {
        "versions": {
            v.algorithm: (v.status, v.parameters, {k: v.metrics[k] for k in sorted(v.metrics)})
            for v in versions
        },
        "winner": (winner.algorithm, winner.parameters, winner.status),
        "lists": sorted((r.user_id, r.anonymous_id, r.product_ids, r.scores) for r in lists),
        "related": sorted((r.product_id, r.kind, r.product_ids) for r in related),
    }


def forget_runs() -> None:
    """Start the next run from the same state (no active version to beat)."""
    ModelVersion.objects.all().delete()


@pytest.mark.parametrize(
    "how", [{"tune": False}, {"params": FIXED}], ids=["defaults", "hybrid-search"]
)
def test_the_graph_computes_what_the_pipeline_computes(how):
    seed_log()
    before = outcome(pipeline.run_pipeline(algorithms=NAMES, sync=True, **how))
    forget_runs()
    here = outcome(graph.start(algorithms=NAMES, sync=True, **how))
    forget_runs()
    tasks = outcome(graph.start(algorithms=NAMES, **how))  # eager Celery: one worker
    assert here == before
    assert tasks == before
    assert before["winner"][2] == Status.ACTIVE and before["lists"]
    assert not RunLock.objects.exists()


def test_intermediates_are_deleted_when_the_run_ends(settings):
    seed_log()
    result = graph.start(algorithms=["popularity", "cooccurrence"], sync=True, tune=False)
    assert result.promoted
    for v in result.versions:
        with pytest.raises(FileNotFoundError):
            registry.load_artifact(v.pk, graph.TUNED_FILE)
    with pytest.raises(FileNotFoundError):
        registry.load_artifact(result.versions[0].pk, graph.SPLIT_FILE)
    assert registry.has_artifact(ModelVersion.objects.get(pk=result.winner.pk))


def test_a_run_without_data_is_skipped_and_releases_the_lock():
    result = graph.start(algorithms=["popularity"], sync=True)
    assert {v.status for v in ModelVersion.objects.all()} == {Status.SKIPPED}
    assert "Not enough events" in result.note and registry.holder() is None


def test_a_candidate_task_that_never_finished_fails_its_version_only():
    seed_log()
    ids_before = set(ModelVersion.objects.values_list("pk", flat=True))
    registry.acquire("test-run")
    run = pipeline._create_versions(["popularity", "cooccurrence"], {}, 10, "leave-last-out")
    spec = {
        "ids": run.ids, "names": ["popularity", "cooccurrence"], "params": {}, "k": 10,
        "protocol": "leave-last-out", "search": False, "force": False, "margin": None,
        "owner": "test-run",
    }  # fmt: skip
    assert graph.prepare(spec)
    graph.tune_candidate(spec, "cooccurrence")  # popularity's task died for good
    result = graph.finish(spec, sync=True)
    versions = {v.algorithm: v for v in ModelVersion.objects.exclude(pk__in=ids_before)}
    assert versions["popularity"].status == Status.FAILED
    assert "did not finish" in versions["popularity"].notes
    assert result.winner.algorithm == "cooccurrence" and result.promoted
    assert registry.holder() is None


@pytest.mark.parametrize("sync", [True, False], ids=["sync", "tasks"])
def test_a_step_that_raises_fails_the_run_and_releases_the_lock(monkeypatch, sync):
    seed_log()

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(graph.tuning, "tune", broken)
    with pytest.raises(RuntimeError, match="boom"):
        graph.start(algorithms=["popularity", "cooccurrence"], sync=sync, tune=False)
    versions = ModelVersion.objects.all()
    assert {v.status for v in versions} == {Status.FAILED}
    assert all("boom" in v.notes for v in versions)
    assert registry.holder() is None
