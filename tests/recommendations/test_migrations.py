"""The anonymous-id migration replaces every stored session key (a credential)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("recommendations", "0002_modelversion_refreshed"), ("shop", "0002_product_search_index")]
AFTER = [("recommendations", "0003_anonymous_id"), ("shop", "0003_order_anonymous_id")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_session_keys_become_random_ids_consistently():
    old = _migrate(BEFORE)
    try:
        Category = old.get_model("shop", "Category")
        Product = old.get_model("shop", "Product")
        User = old.get_model("auth", "User")
        Interaction = old.get_model("recommendations", "Interaction")
        Lists = old.get_model("recommendations", "UserRecommendations")
        ModelVersion = old.get_model("recommendations", "ModelVersion")
        Order = old.get_model("shop", "Order")
        cat = Category.objects.create(name="C", slug="c")
        product = Product.objects.create(
            sku="S1", name="P", slug="p", price="1.00", category=cat, stock=1
        )
        user = User.objects.create(username="u1")
        version = ModelVersion.objects.create(algorithm="popularity")
        guest, member = "g" * 32, "m" * 32
        now = timezone.now()
        for key, who in ((guest, None), (guest, None), (member, user)):
            Interaction.objects.create(
                session_key=key, user=who, product=product, kind="view", created=now
            )
        Lists.objects.create(version=version, session_key=guest, product_ids=[product.pk])
        Order.objects.create(session_key=guest, email="a@b.c", full_name="A", address="x")

        new = _migrate(AFTER)
        Interaction = new.get_model("recommendations", "Interaction")
        Lists = new.get_model("recommendations", "UserRecommendations")
        Order = new.get_model("shop", "Order")
        ids = list(Interaction.objects.filter(user=None).values_list("anonymous_id", flat=True))
        assert len(set(ids)) == 1 and ids[0] not in (guest, member) and len(ids[0]) == 32
        assert Lists.objects.get().anonymous_id == ids[0]  # the guest's list stays theirs
        assert Interaction.objects.get(user__isnull=False).anonymous_id == ""
        assert Order.objects.get().anonymous_id == ""
    finally:
        _migrate([("recommendations", _leaf("recommendations")), ("shop", _leaf("shop"))])


def _leaf(app: str) -> str:
    executor = MigrationExecutor(connection)
    return max(name for a, name in executor.loader.graph.leaf_nodes() if a == app)


def test_stored_event_ids_get_the_sender_a_resend_would_come_from():
    """0008 scopes client_event_id to its sender; existing rows stay valid and a resend
    after the migration is still a duplicate."""
    old = _migrate([("recommendations", "0007_lean_interaction_indexes")])
    try:
        Category = old.get_model("shop", "Category")
        Product = old.get_model("shop", "Product")
        User = old.get_model("auth", "User")
        Interaction = old.get_model("recommendations", "Interaction")
        cat = Category.objects.create(name="C", slug="c")
        product = Product.objects.create(
            sku="S1", name="P", slug="p", price="1.00", category=cat, stock=1
        )
        user = User.objects.create(username="u1")
        now = timezone.now()
        for who, guest, key, source in (
            (user, "", "app-1", ""),
            (None, "g" * 32, "app-2", ""),
            (None, "", "imp-abc", "import:csv"),
            (user, "", None, ""),
        ):
            Interaction.objects.create(
                user=who,
                anonymous_id=guest,
                product=product,
                kind="view",
                created=now,
                client_event_id=key,
                source=source,
            )

        new = _migrate([("recommendations", "0008_interaction_sender")])
        Interaction = new.get_model("recommendations", "Interaction")
        senders = dict(Interaction.objects.values_list("client_event_id", "sender"))
        assert senders == {
            "app-1": f"user:{user.pk}",
            "app-2": "guest:" + "g" * 32,
            "imp-abc": "import",
            None: "",
        }
        from recommendations.tracking import sender_of  # what the API names senders now

        assert senders["app-1"] == sender_of(user.pk, "")
        assert senders["app-2"] == sender_of(None, "g" * 32)
    finally:
        _migrate([("recommendations", _leaf("recommendations")), ("shop", _leaf("shop"))])
