"""Celery app for the real workers started by the broker tests: the project's app,
sending every task (chunks, chord callbacks) to the test's private queue, with the
test-only algorithms named in TEST_ALGORITHMS ("name=module:Class,...") registered."""

import os

from config.celery import app
from recommendations.training.algorithms import ALGORITHMS

app.conf.task_default_queue = os.environ.get("TEST_CELERY_QUEUE", "celery")
for entry in filter(None, os.environ.get("TEST_ALGORITHMS", "").split(",")):
    name, path = entry.split("=", 1)
    ALGORITHMS[name] = path

__all__ = ["app"]
