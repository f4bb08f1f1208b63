"""Admin actions on model versions, through the admin's own changelist POST."""

from __future__ import annotations

import pytest
from celery import states
from celery.result import AsyncResult, EagerResult

from config.celery import app as celery_app
from recommendations import registry
from recommendations.admin.actions import _rolled_back
from recommendations.models import ModelVersion
from recommendations.training import pipeline
from tests.factories import UserFactory
from tests.recommendations.admin.admin_support import act, train_two_versions
from tests.recommendations.training.pipeline_support import seed_log

pytestmark = pytest.mark.django_db
Status = ModelVersion.Status


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def two_runs():
    """An active cooccurrence version and a retired popularity one before it."""
    seed_log()
    return train_two_versions()


def test_promote_reactivates_a_retired_version_with_lists(staff, two_runs):
    first, _ = two_runs
    assert any("is now active" in m for m in act(staff, "promote", first))
    assert registry.active_version().pk == first.pk


def test_force_promote_refits_a_losing_candidate(staff, two_runs):
    seed = pipeline.run_pipeline(algorithms=["popularity", "content"], sync=True, force=True)
    loser = next(v for v in seed.versions if v.pk != seed.winner.pk)
    loser.refresh_from_db()
    assert loser.status == Status.EVALUATED
    messages = act(staff, "force_promote", loser)
    assert any("Force-promote" in m and "done" in m for m in messages), messages
    assert registry.active_version().pk == loser.pk


def test_rollback_and_retrain(staff, two_runs):
    first, second = two_runs
    messages = act(staff, "rollback", second)
    assert registry.active_version().pk == first.pk
    assert messages == [
        f"Rolled back: #{first.pk} popularity is active again (was #{second.pk} cooccurrence)."
    ]
    before = ModelVersion.objects.count()
    messages = act(staff, "retrain", first)
    assert any("Retrain of popularity" in m for m in messages), messages
    assert ModelVersion.objects.count() == before + 1


def test_rollback_to_a_version_whose_lists_were_cleaned_names_it(staff, two_runs):
    """Its lists are precomputed again first (here in-process, so it is active at once)."""
    first, second = two_runs
    registry.delete_rows(first.pk)
    messages = act(staff, "rollback", second)
    assert registry.active_version().pk == first.pk
    assert messages == [
        f"Rolled back: #{first.pk} popularity is active again (was #{second.pk} cooccurrence)."
    ]


def test_rollback_message_while_queued_or_precomputing(monkeypatch):
    """A worker's rollback may not have run yet, or may still be writing the lists."""
    was = ModelVersion.objects.create(algorithm="ease", status=Status.ACTIVE)
    back = ModelVersion.objects.create(algorithm="sknn", status=Status.PRECOMPUTING)
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)  # as with a broker
    queued = AsyncResult("task-1")  # no result stored: pending
    assert _rolled_back(queued, was) == (
        f"Rollback queued as task task-1; #{was.pk} ease serves until it runs."
    )
    writing = EagerResult("task-2", back.pk, states.SUCCESS)
    assert _rolled_back(writing, was) == (
        f"Rolling back to #{back.pk} sknn: its lists are being precomputed; "
        f"#{was.pk} ease serves until they are written."
    )


def test_actions_that_need_the_broker_say_so_when_it_is_down(staff, two_runs, monkeypatch):
    """A real, unreachable broker: the action reports it and nothing changes."""
    first, second = two_runs
    dead = "redis://127.0.0.1:1/0"
    monkeypatch.setenv("CELERY_BROKER_URL", dead)  # Celery reads the environment first
    conf = celery_app.conf
    saved = {k: conf[k] for k in ("task_always_eager", "broker_url", "broker_write_url")}
    saved["task_publish_retry"] = conf.task_publish_retry
    conf.update(
        task_always_eager=False, broker_url=dead, broker_write_url=dead, task_publish_retry=False
    )
    celery_app._pool = celery_app.amqp._producer_pool = None  # connect anew, to the dead one
    try:
        for action in ("rollback", "retrain", "force_promote", "start_ab_test"):
            messages = act(staff, action, first)
            assert len(messages) == 1 and "broker unavailable" in messages[0], (action, messages)
    finally:
        conf.update(saved)
        celery_app._pool = celery_app.amqp._producer_pool = None
    assert registry.active_version().pk == second.pk
    assert registry.live_test() is None  # the unqueued A/B test does not block the next
