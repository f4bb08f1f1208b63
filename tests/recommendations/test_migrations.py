"""The anonymous-id migration replaces every stored session key (a credential)."""

from __future__ import annotations

from datetime import timedelta

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


def test_impression_rows_become_one_list_per_page_and_widget():
    """0012 folds the per-product impression rows of one list into one Impression, in
    the order they were written; a client's own impression becomes a list of one."""
    old = _migrate([("recommendations", "0011_lighter_interaction_rows")])
    try:
        Category = old.get_model("shop", "Category")
        Product = old.get_model("shop", "Product")
        User = old.get_model("auth", "User")
        Interaction = old.get_model("recommendations", "Interaction")
        cat = Category.objects.create(name="C", slug="c")
        p = [
            Product.objects.create(
                sku=f"S{n}", name="P", slug=f"p{n}", price="1.00", category=cat, stock=1
            )
            for n in range(3)
        ]
        user = User.objects.create(username="u1")
        now = timezone.now()
        later = now + timedelta(seconds=1)

        def shown(product, created, source="rec:for-you:v1", **who):
            Interaction.objects.create(
                product=product, kind="impression", created=created, source=source, **who
            )

        for product in (p[2], p[0], p[1]):  # one page's for-you list
            shown(product, now, user=user)
        shown(p[1], now, source="rec:trending:v1", user=user)  # its other widget
        shown(p[0], later, user=user)  # the next page
        shown(p[0], now, anonymous_id="g" * 32)  # a guest's at the same moment
        for key in ("c1", "c2"):  # a client's own, same moment and source
            shown(p[2], now, user=user, sender=f"user:{user.pk}", client_event_id=key)
        Interaction.objects.create(product=p[0], kind="view", created=now, user=user)

        new = _migrate([("recommendations", "0012_impression_lists")])
        Impression = new.get_model("recommendations", "Impression")
        Interaction = new.get_model("recommendations", "Interaction")
        got = {
            (i.user_id, i.anonymous_id, i.source, i.created == now, i.client_event_id): (
                i.product_ids,
                i.size,
            )
            for i in Impression.objects.all()
        }
        ids = [x.pk for x in p]
        assert got == {
            (user.pk, "", "rec:for-you:v1", True, None): ([ids[2], ids[0], ids[1]], 3),
            (user.pk, "", "rec:trending:v1", True, None): ([ids[1]], 1),
            (user.pk, "", "rec:for-you:v1", False, None): ([ids[0]], 1),
            (None, "g" * 32, "rec:for-you:v1", True, None): ([ids[0]], 1),
            (user.pk, "", "rec:for-you:v1", True, "c1"): ([ids[2]], 1),
            (user.pk, "", "rec:for-you:v1", True, "c2"): ([ids[2]], 1),
        }
        assert list(Interaction.objects.values_list("kind", flat=True)) == ["view"]
    finally:
        _migrate([("recommendations", _leaf("recommendations")), ("shop", _leaf("shop"))])
