"""How a pipeline run ends at each step: what it reports, notes and leaves active."""

import logging

import pytest

from recommendations import registry
from recommendations.models import ModelVersion
from recommendations.training import pipeline
from recommendations.training.algorithms import ALGORITHMS
from recommendations.training.algorithms.popularity import Popularity
from tests.recommendations.training.pipeline_support import FAILING, seed_log

pytestmark = pytest.mark.django_db
Status = ModelVersion.Status
FALLBACK = pipeline.FALLBACK_NOTE


class BrokenFit(Popularity):
    """Popularity that cannot be fitted at all."""

    name = "broken_fit"

    def fit(self, data):
        raise RuntimeError("cannot fit")


class BrokenRefit(Popularity):
    """Popularity that fits on the split but not on the full log."""

    name = "broken_refit"

    def refit(self, data):
        raise RuntimeError("cannot refit")


@pytest.fixture(autouse=True)
def primary_metric(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PRIMARY_METRIC": "ndcg@10"}


@pytest.fixture
def log_():
    return seed_log()


@pytest.fixture
def broken(monkeypatch):
    for cls in (BrokenFit, BrokenRefit):
        monkeypatch.setitem(ALGORITHMS, cls.name, f"{__name__}:{cls.__name__}")
    monkeypatch.setitem(ALGORITHMS, "failing", FAILING)


def stored(result: pipeline.PipelineResult) -> list[ModelVersion]:
    return [ModelVersion.objects.get(pk=v.pk) for v in result.versions]


def test_a_run_reports_each_stage_on_its_versions(log_, caplog):
    caplog.set_level(logging.INFO, logger="recommendations.progress")
    result = pipeline.run_pipeline(algorithms=["popularity", "cooccurrence"], sync=True)

    ids = [v.pk for v in result.versions]
    stages = [
        (r.stage, r.done, r.total, r.detail)
        for r in caplog.records
        if r.name == "recommendations.progress" and r.versions == ids
    ]
    assert stages == [
        ("extract", 0, 1, ""),
        ("tune, train and evaluate", 0, 2, ""),
        ("tune, train and evaluate", 2, 2, ""),
        ("refit winner", 0, 1, "cooccurrence"),
    ]
    pop, cooc = stored(result)
    assert pop.notes.startswith("Not chosen: ")
    assert cooc.notes.index("Chosen: ") < cooc.notes.index("Promoted: no version was active.")
    assert {"extract", "split", "fit", "refit", "save"} <= set(cooc.timings)
    assert result.note == "no version was active" and result.promoted


def test_a_failed_extract_fails_every_version(log_, monkeypatch):
    def lost_database():
        raise RuntimeError("database gone")

    monkeypatch.setattr(pipeline, "load_dataset", lost_database)
    result = pipeline.run_pipeline(algorithms=["popularity", "cooccurrence"])

    assert result.note == f"Extract failed. {FALLBACK}"
    assert result.winner is None and not result.promoted
    for v in stored(result):
        assert v.status == Status.FAILED
        assert "Extract failed: RuntimeError('database gone')" in v.notes


def test_when_every_candidate_fails_nothing_is_chosen(log_, broken):
    result = pipeline.run_pipeline(algorithms=["broken_fit"])

    assert result.note == f"Every candidate failed. {FALLBACK}"
    assert result.winner is None and not result.promoted
    (v,) = stored(result)
    assert v.status == Status.FAILED and "cannot fit" in v.notes
    assert {"extract", "split"} <= set(v.timings) and v.n_users == 30


def test_a_failed_refit_fails_the_winner_and_keeps_the_active_version(log_, broken):
    before = pipeline.run_pipeline(algorithms=["cooccurrence"]).winner

    result = pipeline.run_pipeline(algorithms=["broken_refit"], force=True)

    (v,) = stored(result)
    assert result.note == f"Refit failed. {FALLBACK}" and not result.promoted
    assert v.status == Status.FAILED and not v.artifact_path
    assert "Promoted: forced." in v.notes and "Refit on the full log failed" in v.notes
    assert registry.active_version().pk == before.pk


def test_a_failed_precompute_says_so_in_the_run_note(log_, broken):
    victim = f"u:{log_['users'][3].pk}"
    result = pipeline.run_pipeline(
        algorithms=["failing"], params={"failing": {"fail_user": victim}}, sync=True
    )

    assert result.note == f"no version was active; precompute failed. {FALLBACK}"
    assert result.winner.status == Status.FAILED and not result.promoted


@pytest.mark.parametrize(
    ("figure", "promoted", "says"),
    [
        (0.99, False, "did not beat active"),
        (None, True, "(stored metrics; no per-shopper comparison)"),
    ],
)
def test_an_active_version_that_cannot_be_refitted_is_judged_on_its_stored_metrics(
    log_, figure, promoted, says
):
    metrics = {} if figure is None else {"ndcg@10": figure}
    old = ModelVersion.objects.create(algorithm="withdrawn", status=Status.ACTIVE, metrics=metrics)

    result = pipeline.run_pipeline(algorithms=["cooccurrence"])

    (v,) = stored(result)
    assert result.promoted is promoted and says in v.notes and says in result.note
    assert "vs_active" not in v.metrics
    assert registry.active_version().pk == (v.pk if promoted else old.pk)
