"""Two Celery worker processes share one pipeline run as if on two hosts: each has its
own MODEL_DIR and artifact cache, and they share only PostgreSQL, the broker and an
S3-compatible store (moto on 127.0.0.1). Then one of them is SIGKILLed mid-chunk.

Runs when CELERY_BROKER_URL is set and the database is PostgreSQL (as test_celery_worker).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django_celery_results.models import TaskResult

from config.celery import app as celery_app
from recommendations import registry, tasks
from recommendations.models import ModelVersion, UserRecommendations
from recommendations.training import graph
from tests.recommendations.test_celery_worker import CHUNK, _database_url, _unavailable
from tests.recommendations.training.pipeline_support import SLOW, seed_log
from tests.recommendations.training.test_graph import FIXED, NAMES, forget_runs, outcome
from tests.s3_server import make_bucket, s3_env, s3_storage_setting

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]
Status = ModelVersion.Status
ROOT = Path(django_settings.BASE_DIR)
CANDIDATE = "recommendations.tasks.pipeline_candidate"
CHUNK_TASK = "recommendations.tasks.precompute_chunk"
# Short limits so a task of a SIGKILLed worker is handed to the other within seconds.
LIMITS = {
    "CELERY_TASK_TIME_LIMIT": "20",
    "CELERY_TASK_SOFT_TIME_LIMIT": "18",
    "CELERY_VISIBILITY_TIMEOUT": "25",
}


class Pool:
    """Celery worker processes on one private queue, each with its own folders."""

    def __init__(self, tmp_path: Path, endpoint: str, bucket: str) -> None:
        broker = os.environ.get("CELERY_BROKER_URL")
        if not broker:
            _unavailable("CELERY_BROKER_URL is not set")
        self.queue = f"recs-pool-{uuid.uuid4().hex[:10]}"
        self.tmp, self.procs, self.logs = tmp_path, {}, {}
        self.env = {
            **os.environ,
            **s3_env(endpoint, bucket),
            **LIMITS,
            "DATABASE_URL": _database_url(),
            "CONN_MAX_AGE": "0",
            "CELERY_BROKER_URL": broker,
            "RECS_CHUNK_SIZE": str(CHUNK),
            "TEST_CELERY_QUEUE": self.queue,
            "TEST_ALGORITHMS": f"slow_popularity={SLOW}",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("CELERY_TASK_ALWAYS_EAGER", None)

    def start(self, name: str) -> None:
        folder = self.tmp / name
        env = {
            **self.env,
            "MODEL_DIR": str(folder / "models"),
            "ARTIFACT_CACHE_DIR": str(folder / "cache"),
        }
        self.logs[name] = folder / "worker.log"
        folder.mkdir(parents=True)
        celery = Path(sys.executable).with_name("celery")
        with open(self.logs[name], "w") as log:
            self.procs[name] = subprocess.Popen(
                [str(celery), "-A", "tests.recommendations.broker_worker", "worker",
                 "--pool=solo", "-c", "1", "-Q", self.queue, "-n", f"{name}@%h", "-l", "info",
                 "--without-heartbeat", "--without-gossip", "--without-mingle"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def logs_text(self) -> str:
        return "\n".join(f"--- {n}\n{p.read_text()[-3000:]}" for n, p in self.logs.items())

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        with celery_app.connection_for_write() as conn, contextlib.suppress(Exception):
            conn.default_channel.queue_delete(self.queue)


@pytest.fixture
def pool(settings, tmp_path, s3_endpoint):
    bucket = f"pool-{uuid.uuid4().hex[:12]}"
    make_bucket(s3_endpoint, bucket)
    settings.STORAGES = {**settings.STORAGES, "artifacts": s3_storage_setting(s3_endpoint, bucket)}
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PRECOMPUTE_CHUNK_SIZE": CHUNK}
    pool = Pool(tmp_path, s3_endpoint, bucket)
    old_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = pool.queue
    try:
        yield pool
    finally:
        pool.stop()
        celery_app.conf.task_default_queue = old_queue


def wait_for(predicate, pool: Pool, timeout: float = 240.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}:\n{pool.logs_text()}")


def run_finished() -> bool:
    """The run released its lock: it activated its winner or ended."""
    return ModelVersion.objects.exists() and registry.holder() is None


def workers_of(task_name: str) -> set[str]:
    names = TaskResult.objects.filter(task_name=task_name).values_list("worker", flat=True)
    return {w.split("@")[0] for w in names if w}


def test_two_workers_share_a_run_and_serve_what_one_would(pool):
    seed_log()
    alone = outcome(graph.start(algorithms=NAMES, params=FIXED, sync=True))
    forget_runs()
    pool.start("w1")
    pool.start("w2")
    wait_for(lambda: len(celery_app.control.ping(timeout=1.0)) >= 2, pool, what="two workers")

    tasks.run_pipeline.delay(algorithms=NAMES, params=FIXED)
    wait_for(run_finished, pool, what="the run to finish")

    winner = ModelVersion.objects.get(notes__contains="Chosen:")
    shared = outcome(SimpleNamespace(versions=list(ModelVersion.objects.all()), winner=winner))
    assert shared == alone
    assert winner.status == Status.ACTIVE
    assert workers_of(CANDIDATE) == {"w1", "w2"}, pool.logs_text()
    assert workers_of(CHUNK_TASK) == {"w1", "w2"}, pool.logs_text()
    for name in ("w1", "w2"):  # nothing of the run went through a worker's own folder
        assert not (pool.tmp / name / "models").exists()


def test_a_worker_killed_mid_chunk_does_not_leave_the_run_half_done(pool):
    if not os.environ["CELERY_BROKER_URL"].startswith("redis"):
        pytest.skip("what is checked here (redelivery after the visibility timeout) is Redis's")
    seed_log()
    pool.start("w1")
    pool.start("w2")
    wait_for(lambda: len(celery_app.control.ping(timeout=1.0)) >= 2, pool, what="two workers")
    tasks.run_pipeline.delay(algorithms=["slow_popularity"], params={"slow_popularity": {}})

    def running_chunk() -> str:
        started = TaskResult.objects.filter(task_name=CHUNK_TASK, status="STARTED")
        return next((w.split("@")[0] for w in started.values_list("worker", flat=True)), "")

    victim = wait_for(running_chunk, pool, what="a chunk to start")
    pool.procs[victim].send_signal(signal.SIGKILL)
    pool.procs[victim].wait(timeout=10)

    # Redis hands the killed chunk on after the visibility timeout (25 s here), found by
    # kombu's sweep of unacknowledged messages (about every 100 s by default).
    stale_cutoff = django_settings.RECOMMENDATIONS["STALE_AFTER_MINUTES"] * 60
    wait_for(run_finished, pool, timeout=min(300.0, stale_cutoff), what="the run to end")
    version = ModelVersion.objects.get()
    if version.status == Status.ACTIVE:  # the survivor ran the killed chunk again
        survivor = ({"w1", "w2"} - {victim}).pop()
        assert survivor in workers_of(CHUNK_TASK)
        assert UserRecommendations.objects.filter(version=version).count() == 30
    else:  # or gave up: failed, nothing of it served
        assert version.status == Status.FAILED and not registry.has_rows(version)
        assert registry.active_version() is None
