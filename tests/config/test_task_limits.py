"""Celery's time limits, the Redis visibility timeout and the stale cutoff agree: a task
is killed before a broker would hand it to a second worker, and a run's versions are
not failed as stale while one of its tasks may still be redelivered."""

import os
import subprocess
import sys

from django.conf import settings

from tests.paths import ROOT


def settings_in_child(**env: str) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.CELERY_TASK_SOFT_TIME_LIMIT, s.CELERY_TASK_TIME_LIMIT, "
        "s.CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'], "
        "s.RECOMMENDATIONS['STALE_AFTER_MINUTES'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
    )


def test_defaults_order_the_limits():
    soft, hard = settings.CELERY_TASK_SOFT_TIME_LIMIT, settings.CELERY_TASK_TIME_LIMIT
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert soft < hard and visibility >= 2 * hard
    assert settings.RECOMMENDATIONS["STALE_AFTER_MINUTES"] * 60 > visibility
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1


def test_the_stale_cutoff_follows_the_time_limit():
    done = settings_in_child(CELERY_TASK_TIME_LIMIT="7200")
    assert done.returncode == 0, done.stderr
    soft, hard, visibility, stale = map(int, done.stdout.split())
    assert (soft, hard, visibility) == (7140, 7200, 14700)
    assert stale * 60 >= 2 * visibility


def test_limits_that_contradict_each_other_stop_the_process():
    done = settings_in_child(CELERY_TASK_TIME_LIMIT="600", CELERY_VISIBILITY_TIMEOUT="300")
    assert done.returncode != 0 and "CELERY_VISIBILITY_TIMEOUT" in done.stderr
    done = settings_in_child(RECS_STALE_AFTER_MINUTES="60")
    assert done.returncode != 0 and "RECS_STALE_AFTER_MINUTES" in done.stderr
