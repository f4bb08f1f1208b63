"""One pipeline run at a time: the lock refuses a second holder, is taken again by its
own owner, expires with its holder, and the command and the admin say so."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from recommendations import registry
from recommendations.models import ModelVersion, RunLock
from recommendations.training import pipeline
from tests.recommendations.training.pipeline_support import seed_log

pytestmark = pytest.mark.django_db
Status = ModelVersion.Status


def test_a_second_owner_is_refused_and_the_first_may_take_it_again():
    first = registry.acquire("run-a")
    with pytest.raises(registry.AlreadyRunning, match="already running"):
        registry.acquire("run-b")
    again = registry.acquire("run-a")
    assert again.owner == "run-a" and again.expires >= first.expires
    assert registry.holder().owner == "run-a"
    assert not registry.release("run-b") and registry.release("run-a")
    assert registry.holder() is None
    registry.acquire("run-b")


def test_an_expired_lock_is_taken_over():
    registry.acquire("dead-worker", ttl=timedelta(minutes=5))
    RunLock.objects.update(expires=timezone.now() - timedelta(seconds=1))
    assert registry.holder() is None
    assert registry.acquire("next-run").owner == "next-run"


def test_the_lock_lasts_as_long_as_the_stale_cutoff(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "STALE_AFTER_MINUTES": 90}
    lock = registry.acquire("run-a")
    assert lock.expires - lock.acquired == timedelta(minutes=90)


def test_failing_the_runs_stale_versions_releases_its_lock():
    version = ModelVersion.objects.create(algorithm="popularity", status=Status.TRAINING)
    registry.acquire("dead-run")
    registry.attach_versions("dead-run", [version.pk])
    ModelVersion.objects.filter(pk=version.pk).update(created=timezone.now() - timedelta(days=1))
    assert registry.fail_stale() == [version.pk]
    assert registry.holder() is None


def test_a_run_refused_by_the_lock_changes_nothing():
    seed_log()
    registry.acquire("someone-else")
    with pytest.raises(registry.AlreadyRunning):
        pipeline.run_pipeline(algorithms=["popularity"], sync=True)
    assert not ModelVersion.objects.exists()


def test_a_finished_run_releases_its_lock():
    seed_log()
    result = pipeline.run_pipeline(algorithms=["popularity"], sync=True)
    assert result.promoted and registry.holder() is None
    skipped = pipeline.run_pipeline(algorithms=["popularity"], sync=True, tune=False)
    assert registry.holder() is None, skipped.note


def test_the_command_says_already_running():
    seed_log()
    registry.acquire("task:abc")
    with pytest.raises(CommandError, match="already running .* by task:abc"):
        call_command("train_recommender", "--sync", "--algorithm", "popularity")
    assert not ModelVersion.objects.exists()


def test_the_admin_retrain_says_already_running(client, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-123456!")
    client.force_login(boss)
    seed_log()
    version = ModelVersion.objects.create(algorithm="popularity", status=Status.RETIRED)
    registry.acquire("task:abc")
    response = client.post(
        "/admin/recommendations/modelversion/",
        {"action": "retrain", "_selected_action": [version.pk]},
        follow=True,
    )
    assert "already running" in response.content.decode()
    assert ModelVersion.objects.count() == 1
