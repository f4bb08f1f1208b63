"""The pipeline through a real broker and a real worker process.

Runs when CELERY_BROKER_URL is set (Redis or RabbitMQ) and the database is a server
the worker can share (PostgreSQL); in CI (env CI set) a missing broker is a failure.
"""

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from config.celery import app as celery_app
from recommendations import registry, tasks
from recommendations.models import ModelVersion, RelatedProducts, UserRecommendations
from recommendations.training import pipeline
from recommendations.training.algorithms import ALGORITHMS
from tests.recommendations.training.pipeline_support import FAILING, seed_log, shared_database_url

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]
Status = ModelVersion.Status
ROOT = Path(django_settings.BASE_DIR)
CHUNK = 7  # 30 shoppers and 18 products -> 5 + 3 chunk tasks


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _database_url() -> str:
    url = shared_database_url()
    if url is None:
        _unavailable("the worker must share the test database: run with a PostgreSQL DATABASE_URL")
    return url


@pytest.fixture
def worker(settings, tmp_path):
    """A `celery worker` subprocess on a private queue, sharing DB and MODEL_DIR."""
    broker = os.environ.get("CELERY_BROKER_URL")
    if not broker:
        _unavailable("CELERY_BROKER_URL is not set")
    queue = f"recs-test-{uuid.uuid4().hex[:10]}"
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PRECOMPUTE_CHUNK_SIZE": CHUNK}
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CONN_MAX_AGE": "0",
        "CELERY_BROKER_URL": broker,
        "MODEL_DIR": str(settings.MODEL_DIR),
        "RECS_CHUNK_SIZE": str(CHUNK),
        "TEST_CELERY_QUEUE": queue,
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",  # JSON logs (stderr, merged below): read them while it runs
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    log_path = tmp_path / "worker.log"
    celery = Path(sys.executable).with_name("celery")
    old_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [str(celery), "-A", "tests.recommendations.broker_worker", "worker",
             "--pool=solo", "-c", "1", "-Q", queue, "-l", "info",
             "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield proc, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        celery_app.conf.task_default_queue = old_queue
        with celery_app.connection_for_write() as conn, contextlib.suppress(Exception):
            conn.default_channel.queue_delete(queue)  # gone already: nothing to clean


def wait_for(predicate, worker, timeout=180.0, what=""):
    """Poll ``predicate`` until true; fail with the worker log on timeout."""
    proc, log_path = worker
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"worker exited ({proc.returncode}):\n{log_path.read_text()[-4000:]}")
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what}:\n{log_path.read_text()[-4000:]}")


def status(pk: int) -> str:
    return ModelVersion.objects.get(pk=pk).status


def test_pipeline_through_broker_and_failed_chunk_keeps_serving(worker, monkeypatch):
    seed_log()

    # 1. The whole pipeline runs in the worker; the chord activates the winner.
    tasks.run_pipeline.delay(algorithms=["cooccurrence"])
    first = wait_for(
        lambda: ModelVersion.objects.filter(status=Status.ACTIVE).first(), worker, what="active"
    )
    assert first.algorithm == "cooccurrence"
    assert UserRecommendations.objects.filter(version=first).count() == 30
    assert RelatedProducts.objects.filter(version=first).exists()
    assert {"precompute", "activate"} <= set(first.timings)
    served = sorted(UserRecommendations.objects.filter(version=first).values_list("pk", flat=True))

    # 2. Train here, fan out to the worker; the chunk holding one shopper always fails.
    monkeypatch.setitem(ALGORITHMS, "failing", FAILING)
    victim = f"u:{UserRecommendations.objects.filter(version=first).order_by('pk')[12].user_id}"
    result = pipeline.run_pipeline(
        algorithms=["failing"], params={"failing": {"fail_user": victim}}, force=True
    )
    failing = result.versions[0].pk

    def settled():
        # Throughout, the previous version is the one served.
        assert registry.active_version().pk == first.pk
        return status(failing) in (Status.FAILED, Status.ACTIVE)

    wait_for(settled, worker, what="the failing version to settle")
    assert status(failing) == Status.FAILED
    assert registry.active_version().pk == first.pk
    assert not UserRecommendations.objects.filter(version_id=failing).exists()
    assert not RelatedProducts.objects.filter(version_id=failing).exists()
    assert (
        sorted(UserRecommendations.objects.filter(version=first).values_list("pk", flat=True))
        == served
    )
    log = worker[1].read_text()
    assert "Retry in" in log  # the chunk was retried before the chord gave up
