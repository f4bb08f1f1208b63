"""Expired sessions are cleared by a scheduled task."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from shop.tasks import clear_expired_sessions

pytestmark = pytest.mark.django_db


def test_expired_sessions_are_cleared_by_a_scheduled_task():
    now = timezone.now()
    Session.objects.create(session_key="old" * 4, session_data="", expire_date=now - timedelta(1))
    Session.objects.create(session_key="new" * 4, session_data="", expire_date=now + timedelta(1))
    clear_expired_sessions.delay()
    assert list(Session.objects.values_list("session_key", flat=True)) == ["new" * 4]
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "shop.tasks.clear_expired_sessions" in tasks
