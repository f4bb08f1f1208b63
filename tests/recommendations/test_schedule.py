"""The default Celery beat schedule: nightly full retrain, 15-minute refresh, and both
entries name tasks the worker really has."""

from celery.schedules import crontab
from django.conf import settings

from config.celery import app


def test_schedule_names_registered_tasks():
    app.loader.import_default_modules()  # what a worker does at start
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks, entry["task"]


def test_nightly_retrain_and_quarter_hour_refresh():
    schedule = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    nightly = schedule["recommendations.tasks.run_pipeline"]
    refresh = schedule["recommendations.tasks.refresh_recent_users"]
    assert isinstance(nightly, crontab) and nightly.hour == {3} and nightly.minute == {0}
    assert isinstance(refresh, crontab) and refresh.minute == set(range(0, 60, 15))
