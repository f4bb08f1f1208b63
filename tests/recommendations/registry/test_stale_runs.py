"""Versions left behind by a training process killed with SIGKILL are cleaned up later.

Transactional tests: the code under test runs in autocommit, as in a worker, so a lock
taken outside a transaction fails here as it does in production (inside the usual
test transaction it would not).

The killed process is a real `manage.py train_recommender --sync` sharing the test
database, so that part needs PostgreSQL (pytest-django's SQLite test database is in
memory, out of a child's reach) and is skipped on SQLite; the stale path itself, after
the same kind of abandoned run, is covered on both by the test below it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from recommendations import registry, tasks
from recommendations.models import ABTest, ModelVersion, RelatedProducts, UserRecommendations
from recommendations.training import pipeline
from tests.factories import ProductFactory, UserFactory
from tests.recommendations.training.pipeline_support import seed_log, shared_database_url

pytestmark = pytest.mark.django_db(transaction=True)
Status = ModelVersion.Status
ROOT = Path(django_settings.BASE_DIR)
STALE_MINUTES = 60


@pytest.fixture
def stale_after(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "STALE_AFTER_MINUTES": STALE_MINUTES}


def age(ids: list[int], minutes: int = 2 * STALE_MINUTES) -> None:
    """Make versions look started ``minutes`` ago (what time alone would do)."""
    ModelVersion.objects.filter(pk__in=ids).update(
        created=timezone.now() - timedelta(minutes=minutes)
    )


def killed_training_run(settings, log_path: Path, algorithms: int) -> list[int]:
    """Start `train_recommender --sync` and SIGKILL it once its versions are training."""
    env = {
        **os.environ,
        "DATABASE_URL": shared_database_url(),
        "CONN_MAX_AGE": "0",
        "MODEL_DIR": str(settings.MODEL_DIR),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("CELERY_BROKER_URL", None)
    training = ModelVersion.objects.filter(status=Status.TRAINING)
    with open(log_path, "w") as log:  # a file, not a pipe nobody reads while it runs
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "train_recommender", "--sync"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while training.count() < algorithms:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "the run never had its versions training"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return list(training.order_by("pk").values_list("pk", flat=True))


def assert_failed_and_cleaned(ids: list[int]) -> None:
    for version in ModelVersion.objects.filter(pk__in=ids):
        assert version.status == Status.FAILED and "Abandoned" in version.notes, version
        assert version.artifact_path == "" and not registry.version_dir(version.pk).exists()
        assert not registry.has_rows(version)


def test_a_killed_training_process_leaves_nothing_that_breaks_later_runs(
    settings, stale_after, tmp_path
):
    if shared_database_url() is None:
        pytest.skip("the child process must share the test database: run with PostgreSQL")
    seed_log()
    names = pipeline.default_algorithms()
    killed = killed_training_run(settings, tmp_path / "train.log", len(names))
    assert len(killed) == len(names) > 2
    half = len(killed) // 2

    # Half of them aged: the next pipeline run fails them and goes ahead.
    age(killed[:half])
    result = pipeline.run_pipeline(algorithms=["popularity"], sync=True)
    assert result.promoted and registry.active_version().pk == result.winner.pk
    assert_failed_and_cleaned(killed[:half])
    assert {Status.TRAINING} == set(
        ModelVersion.objects.filter(pk__in=killed[half:]).values_list("status", flat=True)
    )

    # The rest aged too: the hourly task fails every one of them.
    age(killed[half:])
    assert sorted(tasks.fail_stale_versions.delay().get()) == killed[half:]
    assert_failed_and_cleaned(killed)
    assert registry.active_version().pk == result.winner.pk


def version_with_rows(status: str) -> ModelVersion:
    """A version as a killed process leaves it: artifact folder and (some) lists written."""
    version = ModelVersion.objects.create(algorithm="popularity", status=status)
    version.artifact_path = str(registry.save_artifact(version.pk, "model.pkl", {}))
    version.save(update_fields=["artifact_path"])
    UserRecommendations.objects.create(version=version, user=UserFactory(), product_ids=[1])
    RelatedProducts.objects.create(version=version, product=ProductFactory(), kind="similar")
    return version


def test_every_stale_version_is_failed_outside_a_transaction(stale_after):
    active = version_with_rows(Status.ACTIVE)
    stale = [version_with_rows(Status.TRAINING) for _ in range(3)]
    challenger = version_with_rows(Status.PRECOMPUTING)  # an A/B challenger, killed
    test = ABTest.objects.create(challenger=challenger, control=active, share=0.5)
    challenger.timings = {
        "precompute_started_at": (timezone.now() - timedelta(hours=3)).timestamp()
    }
    challenger.save(update_fields=["timings"])
    age([v.pk for v in stale])

    assert sorted(tasks.fail_stale_versions.delay().get()) == sorted(
        [v.pk for v in stale] + [challenger.pk]
    )

    assert_failed_and_cleaned([v.pk for v in stale] + [challenger.pk])
    test.refresh_from_db()
    assert test.status == ABTest.Status.STOPPED and "abandoned" in test.notes
    assert registry.active_version().pk == active.pk and registry.has_rows(active)
    assert tasks.fail_stale_versions.delay().get() == []
