"""Lists behind the widgets: the refresh's ingestion watermark, fresh availability in a
long-lived worker's context, and reasons that name only strong neighbours."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from recommendations import registry
from recommendations.models import Interaction, RelatedProducts, UserRecommendations
from recommendations.training import lists, pipeline, precompute
from tests.factories import UserFactory
from tests.recommendations.training.pipeline_support import seed_log

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_lists(settings):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "TOP_N": 8,
        "RELATED_N": 4,
        "REFRESH_GRACE_SECONDS": 0,
    }


@pytest.fixture
def log_():
    return seed_log()


def test_refresh_picks_up_a_backdated_event(log_):
    version = pipeline.run_pipeline(algorithms=["cooccurrence"]).winner
    precompute.refresh_recent_users()
    assert precompute.refresh_recent_users() == 0
    latecomer = UserFactory(username="imported")
    group = log_["groups"][2]
    # Imported today, but it happened a month ago: older than activation and refresh.
    Interaction.objects.create(
        user=latecomer, product=group[0], kind="view", created=timezone.now() - timedelta(days=30)
    )
    assert precompute.refresh_recent_users() == 1
    row = UserRecommendations.objects.get(version=version, user=latecomer)
    assert row.product_ids and group[0].pk not in row.product_ids


def test_refresh_picks_up_an_event_stored_during_activation(log_, monkeypatch):
    shopper = UserFactory(username="busy")
    product = log_["groups"][0][0]
    promote = registry.promote

    def promote_while_shopping(version, note=""):
        Interaction.objects.create(
            user=shopper, product=product, kind="view", created=timezone.now()
        )
        return promote(version, note)

    monkeypatch.setattr(registry, "promote", promote_while_shopping)
    version = pipeline.run_pipeline(algorithms=["cooccurrence"]).winner
    version.refresh_from_db()
    stored = Interaction.objects.get(user=shopper)
    assert stored.created < version.activated  # before activation: missed by an activation cut
    assert not UserRecommendations.objects.filter(user=shopper).exists()
    assert precompute.refresh_recent_users() == 1
    assert UserRecommendations.objects.filter(version=version, user=shopper).exists()


def test_long_lived_context_never_lists_unavailable_products(log_):
    version = pipeline.run_pipeline(algorithms=["cooccurrence"]).winner
    ctx = lists.context(version.pk)  # cached for the worker's lifetime
    gone, sold_out = log_["groups"][0][2], log_["groups"][0][3]
    gone.active = False
    gone.save()
    sold_out.stock = 0
    sold_out.save()
    assert lists.context(version.pk) is ctx
    user_rows = lists.user_lists(ctx, np.arange(ctx.data.n_users))
    listed = {pid for _, ids, _, _ in user_rows for pid in ids}
    assert listed and not listed & {gone.pk, sold_out.pk}
    related = lists.related_lists(ctx, {}, np.arange(ctx.data.n_items))
    assert not {pid for _, _, ids, _ in related for pid in ids} & {gone.pk, sold_out.pk}


def test_reasons_name_only_strong_neighbours(log_):
    version = pipeline.run_pipeline(algorithms=["cooccurrence"]).winner
    ctx = lists.context(version.pk)
    per_row = np.diff(ctx.similar.indptr)
    assert per_row.max() <= lists.REASON_NEIGHBOURS
    assert ctx.similar.data.min() >= lists.REASON_MIN_SIMILARITY
    column = {int(pid): i for i, pid in enumerate(ctx.data.item_ids)}
    by_name = {name: i for i, name in enumerate(ctx.names)}
    named = 0
    for row in UserRecommendations.objects.filter(version=version):
        for pid, reason in zip(row.product_ids, row.reasons, strict=True):
            for verb in ("Because you viewed ", "Because you bought "):
                if reason.startswith(verb):
                    x = by_name[reason.removeprefix(verb)]
                    assert ctx.similar[x, column[pid]] >= lists.REASON_MIN_SIMILARITY
                    named += 1
    assert named  # the check above ran
    assert RelatedProducts.objects.filter(version=version).exists()
