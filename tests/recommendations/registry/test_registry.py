"""Registry: the atomic swap, rollback choices and cleanup of old versions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from recommendations import registry
from recommendations.models import ModelVersion, RelatedProducts, UserRecommendations
from recommendations.training import pipeline, promotion
from tests.factories import ProductFactory, UserFactory
from tests.recommendations.training.pipeline_support import seed_log

pytestmark = pytest.mark.django_db
Status = ModelVersion.Status


def version_with_rows(status=Status.RETIRED, activated_days_ago=None):
    v = ModelVersion.objects.create(algorithm="popularity", status=status)
    if activated_days_ago is not None:
        v.activated = timezone.now() - timedelta(days=activated_days_ago)
    path = registry.save_artifact(v.pk, "model.pkl", {"v": v.pk})
    v.artifact_path = str(path)
    v.save()
    UserRecommendations.objects.create(version=v, user=UserFactory(), product_ids=[1])
    RelatedProducts.objects.create(version=v, product=ProductFactory(), kind="similar")
    return v


def test_promote_swaps_active_in_one_step():
    old = version_with_rows(status=Status.ACTIVE)
    new = version_with_rows(status=Status.PRECOMPUTING)

    registry.promote(new)

    assert registry.active_version().pk == new.pk
    assert ModelVersion.objects.get(pk=old.pk).status == Status.RETIRED
    assert ModelVersion.objects.filter(status=Status.ACTIVE).count() == 1


@pytest.mark.parametrize("status", [Status.FAILED, Status.SKIPPED, Status.TRAINING])
def test_promote_refuses_unusable_versions(status):
    active = version_with_rows(status=Status.ACTIVE)
    bad = ModelVersion.objects.create(algorithm="popularity", status=status)
    with pytest.raises(ValueError, match="cannot be activated"):
        registry.promote(bad)
    assert registry.active_version().pk == active.pk


def test_rollback_picks_most_recently_retired_with_rows():
    older = version_with_rows(activated_days_ago=5)
    newer = version_with_rows(activated_days_ago=2)
    current = version_with_rows(status=Status.ACTIVE, activated_days_ago=1)

    assert promotion.rollback().pk == newer.pk
    assert ModelVersion.objects.get(pk=current.pk).status == Status.RETIRED
    assert ModelVersion.objects.get(pk=older.pk).status == Status.RETIRED


def test_rollback_without_retired_version_fails_cleanly():
    active = version_with_rows(status=Status.ACTIVE)
    with pytest.raises(ValueError, match="no retired version"):
        promotion.rollback()
    assert registry.active_version().pk == active.pk


def test_force_promote_errors():
    with pytest.raises(ValueError, match="no model version"):
        promotion.force_promote(999)
    skipped = ModelVersion.objects.create(algorithm="popularity", status=Status.SKIPPED)
    with pytest.raises(ValueError, match="cannot be promoted"):
        promotion.force_promote(skipped.pk)


def test_cleanup_keeps_last_two_retired():
    versions = [version_with_rows(activated_days_ago=d) for d in (4, 3, 2, 1)]
    active = version_with_rows(status=Status.ACTIVE, activated_days_ago=0)

    cleaned = registry.cleanup_retired(keep=2)

    assert sorted(cleaned) == sorted(v.pk for v in versions[:2])
    for v in versions[:2]:
        assert not UserRecommendations.objects.filter(version=v).exists()
        assert not RelatedProducts.objects.filter(version=v).exists()
        assert not registry.version_dir(v.pk).exists()
    for v in versions[2:] + [active]:
        assert UserRecommendations.objects.filter(version=v).exists()
        assert registry.model_path(v.pk).is_file()
    assert registry.cleanup_retired(keep=2) == []  # nothing left to clean


def test_artifacts_are_cached_until_their_content_changes():
    registry.save_artifact(1, "model.pkl", {"a": 1})
    first = registry.load_artifact(1)
    assert registry.load_artifact(1) is first
    registry.save_artifact(1, "model.pkl", {"a": 2})
    assert registry.load_artifact(1) == {"a": 2}


@pytest.fixture
def staff_client(client, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-123456!")
    client.force_login(boss)
    return client


def run_action(client, action: str, *versions):
    return client.post(
        "/admin/recommendations/modelversion/",
        {"action": action, "_selected_action": [v.pk for v in versions]},
        follow=True,
    )


def test_admin_actions_promote_force_promote_and_rollback(staff_client):
    seed_log()
    old = version_with_rows(activated_days_ago=3)
    current = version_with_rows(status=Status.ACTIVE, activated_days_ago=1)

    response = run_action(staff_client, "promote", old)
    assert response.status_code == 200 and registry.active_version().pk == old.pk

    response = run_action(staff_client, "rollback", old)
    assert registry.active_version().pk == current.pk

    loser = ModelVersion.objects.create(algorithm="popularity", status=Status.EVALUATED)
    response = run_action(staff_client, "promote", loser)  # no lists: refused
    assert "use force-promote" in response.content.decode()
    response = run_action(staff_client, "force_promote", loser)  # refit + precompute
    assert registry.active_version().pk == loser.pk
    assert UserRecommendations.objects.filter(version=loser).count() == 30


def test_admin_retrain_action_runs_the_pipeline(staff_client):
    seed_log()
    seen = ModelVersion.objects.create(algorithm="popularity", status=Status.FAILED)
    run_action(staff_client, "retrain", seen)
    assert registry.active_version().algorithm == "popularity"
    assert ModelVersion.objects.count() == 2


def _age(version: ModelVersion, **ago) -> None:
    """Make a version look as if its process died ``ago`` (created / precompute start)."""
    when = timezone.now() - timedelta(**ago)
    ModelVersion.objects.filter(pk=version.pk).update(created=when)
    if version.status == Status.PRECOMPUTING:
        version.timings = {"precompute_started_at": when.timestamp()}
        version.save(update_fields=["timings"])


def test_versions_abandoned_by_a_killed_process_are_failed_and_cleaned(settings):
    seed_log()
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "STALE_AFTER_MINUTES": 60}
    stale_training = version_with_rows(status=Status.TRAINING)
    stale_precompute = version_with_rows(status=Status.PRECOMPUTING)
    running = version_with_rows(status=Status.TRAINING)  # a live run: recent
    _age(stale_training, hours=5)
    _age(stale_precompute, hours=2)
    _age(running, minutes=10)

    pipeline_result = pipeline.run_pipeline(algorithms=["popularity"], sync=True)

    for stale in (stale_training, stale_precompute):
        stale.refresh_from_db()
        assert stale.status == Status.FAILED and "Abandoned" in stale.notes
        assert stale.artifact_path == "" and not registry.version_dir(stale.pk).exists()
        assert not registry.has_rows(stale)
    running.refresh_from_db()
    assert running.status == Status.TRAINING and registry.has_rows(running)
    assert pipeline_result.promoted  # the new run went ahead
    # What failed can still be force-promoted (refitted) by an operator.
    assert promotion.force_promote(stale_training.pk, sync=True).status == Status.ACTIVE


def test_stale_check_leaves_a_version_that_moved_on():
    version = version_with_rows(status=Status.PRECOMPUTING)
    _age(version, hours=1)  # started precomputing a minute ago: alive
    version.timings = {"precompute_started_at": timezone.now().timestamp()}
    version.save(update_fields=["timings"])
    assert registry.fail_stale(timedelta(minutes=30)) == []
    assert ModelVersion.objects.get(pk=version.pk).status == Status.PRECOMPUTING
