"""Celery app for the real worker started by test_celery_worker.py: the project's app,
sending every task (chunks, chord callbacks) to the test's private queue."""

import os

from config.celery import app

app.conf.task_default_queue = os.environ.get("TEST_CELERY_QUEUE", "celery")

__all__ = ["app"]
