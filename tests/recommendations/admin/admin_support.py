"""Drive the model-version admin as an operator does: a changelist action POST."""

from __future__ import annotations

from django.contrib.messages import get_messages
from django.urls import reverse

from recommendations.models import ModelVersion

CHANGELIST = "admin:recommendations_modelversion_changelist"


def act(client, action: str, *versions: ModelVersion) -> list[str]:
    """Run ``action`` on ``versions`` from the changelist; returns the messages shown."""
    response = client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [v.pk for v in versions]},
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in get_messages(response.wsgi_request)]


def train_two_versions() -> tuple[ModelVersion, ModelVersion]:
    """Train twice on the current log: (retired popularity, active cooccurrence)."""
    from recommendations.training import pipeline

    first = pipeline.run_pipeline(algorithms=["popularity"], sync=True).winner
    second = pipeline.run_pipeline(algorithms=["cooccurrence"], sync=True).winner
    first.refresh_from_db()
    statuses = (first.status, second.status)
    assert statuses == (ModelVersion.Status.RETIRED, ModelVersion.Status.ACTIVE), statuses
    return first, second
