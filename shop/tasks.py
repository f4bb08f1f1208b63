"""Shop housekeeping tasks, run by Celery beat (see CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

from importlib import import_module

from celery import shared_task
from django.conf import settings


@shared_task
def clear_expired_sessions() -> None:
    """Delete expired sessions, as `manage.py clearsessions` does: the session table
    only grows otherwise (every guest with a cart has a row). Safe to run twice."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
