"""No live session key in the behaviour log, precomputed lists, orders, artifacts or export."""

from __future__ import annotations

import io

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from recommendations.models import Interaction, UserRecommendations
from shop.models import Order
from tests.factories import UserFactory
from tests.recommendations.training.pipeline_support import seed_log

pytestmark = pytest.mark.django_db

DETAILS = {"full_name": "Guest Shopper", "email": "g@example.com", "address": "1 Road"}


def _session_keys() -> set[str]:
    return set(Session.objects.values_list("session_key", flat=True))


def test_browsing_checkout_and_login_store_no_session_key(
    client, settings, django_capture_on_commit_callbacks
):
    groups = seed_log()["groups"]
    guest = client  # browses as a guest, buys, then a second guest signs in
    for product in groups[0][:4]:
        guest.get(reverse("shop:product", args=[product.slug]))
    guest.post(reverse("shop:cart_add", args=[groups[0][0].pk]), {"quantity": 1})
    with django_capture_on_commit_callbacks(execute=True):
        guest.post(reverse("shop:checkout"), DETAILS)
    keys = _session_keys()
    assert keys  # the guest has a live session

    other = Client()
    for product in groups[1][:3]:
        other.get(reverse("shop:product", args=[product.slug]))
    other.force_login(UserFactory())
    keys |= _session_keys()

    call_command("train_recommender", "--sync", "--algorithm", "cooccurrence", stdout=io.StringIO())
    keys |= _session_keys()

    stored = set(Interaction.objects.values_list("anonymous_id", flat=True))
    stored |= set(UserRecommendations.objects.values_list("anonymous_id", flat=True))
    stored |= set(Order.objects.values_list("anonymous_id", flat=True))
    assert stored & keys == set()
    assert Interaction.objects.exclude(anonymous_id="").exists()  # guests are still tracked

    blobs = b"".join(p.read_bytes() for p in settings.MODEL_DIR.rglob("*") if p.is_file())
    assert blobs and not any(key.encode() in blobs for key in keys)

    out = io.StringIO()
    call_command("export_recommendations", stdout=out)
    assert not any(key in out.getvalue() for key in keys)
