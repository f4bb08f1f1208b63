"""What the event and impression tables check per row, and what they leave to Django
(migrations 0011, 0012): shopper indexes hold only the rows they can find, uniqueness
only rows with a client event id, and user and model version are not checked by the
database per row."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.pg_copy import copy_rows
from recommendations.models import Impression, Interaction, ModelVersion
from recommendations.serving.sources import _read_state
from recommendations.serving.types import Shopper
from recommendations.tracking import impressions
from recommendations.tracking.client_ids import stored_client_ids
from recommendations.tracking.impressions import impression_rows, insert_impression_rows
from recommendations.tracking.rows import EVENT_FIELDS
from tests.factories import ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="query plans and constraints of PostgreSQL"
)


def _event(**fields) -> Interaction:
    defaults = {"kind": Interaction.Kind.VIEW, "created": timezone.now()}
    return Interaction.objects.create(**{**defaults, **fields})


def test_a_client_event_id_is_stored_once_per_sender_and_rows_without_one_never_clash():
    product = ProductFactory()
    _event(product=product, sender="user:1", client_event_id="e1")
    with pytest.raises(IntegrityError), transaction.atomic():
        _event(product=product, sender="user:1", client_event_id="e1")
    _event(product=product, sender="user:2", client_event_id="e1")  # another sender's id
    for _ in range(3):  # events without ids: no uniqueness at all
        _event(product=product, sender="", client_event_id=None, kind="click")
    assert Interaction.objects.filter(client_event_id="e1").count() == 2
    assert Interaction.objects.filter(client_event_id__isnull=True).count() == 3


def test_deleting_a_user_deletes_their_events_and_a_version_leaves_its_events():
    product, user, other = ProductFactory(), UserFactory(), UserFactory()
    version = ModelVersion.objects.create(algorithm="popularity")
    for who in (user, other):
        _event(product=product, user=who, model_version=version, kind="click")
        insert_impression_rows(impression_rows((who, ""), [(version.pk, "rec:x", [product.pk])]))
    user.delete()
    for model in (Interaction, Impression):
        assert list(model.objects.values_list("user_id", flat=True)) == [other.pk]
    version.delete()
    assert Interaction.objects.get().model_version_id is None
    assert Impression.objects.get().model_version_id is None


def test_a_batch_of_impressions_is_stored_without_per_row_checks_of_user_or_version():
    product, user = ProductFactory(), UserFactory()
    version = ModelVersion.objects.create(algorithm="popularity")
    owner = (user, "")
    rows = impression_rows(owner, [(version.pk, f"rec:x:v{version.pk}", [product.pk])])
    assert insert_impression_rows(rows) == 1
    stored = Impression.objects.get()
    assert (stored.user_id, stored.model_version_id, stored.product_ids, stored.size) == (
        user.pk,
        version.pk,
        [product.pk],
        1,
    )
    assert not Interaction.objects.exists()


def test_impressions_are_stored_as_shown_a_row_per_list():
    user = UserFactory()
    rows = [
        *impression_rows((user, ""), [(4, "rec:for-you:v4", [1, 2]), (None, "rec:x\ty", [2])]),
        *impression_rows((None, "g" * 32), [(4, "rec:for-you:v4", [5])]),
        *impression_rows((user, ""), [(4, "rec:for-you:v4", [7])]),
    ]
    assert insert_impression_rows(rows) == 4  # a row per list
    stored = Impression.objects.order_by("pk")
    assert [(i.user_id, i.anonymous_id, i.model_version_id, i.source) for i in stored] == [
        (user.pk, "", 4, "rec:for-you:v4"),
        (user.pk, "", None, "rec:x\ty"),  # the tab in a source survives
        (None, "g" * 32, 4, "rec:for-you:v4"),
        (user.pk, "", 4, "rec:for-you:v4"),
    ]
    assert [(i.product_ids, i.size) for i in stored] == [([1, 2], 2), ([2], 1), ([5], 1), ([7], 1)]


@needs_postgres
def test_the_database_checks_the_product_and_nothing_else_per_row():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_constraint c JOIN pg_attribute a "
            "ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
            "WHERE c.conrelid = %s::regclass AND c.contype = 'f'",
            [Interaction._meta.db_table],
        )
        assert [name for (name,) in cursor.fetchall()] == ["product_id"]
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'f'",
            [Impression._meta.db_table],
        )
        assert cursor.fetchone() == (0,)


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: ask for an index
        return queryset.explain()


@needs_postgres
@pytest.mark.parametrize(
    ("signed_in", "index"), [(True, "interaction_user_recent"), (False, "interaction_anon_recent")]
)
def test_a_shoppers_history_is_read_through_the_partial_index(signed_in, index):
    """The partial indexes hold only the rows a shopper query can find; the queries the
    serving path runs must still be able to use them (PostgreSQL proves the predicate)."""
    product = ProductFactory()
    shopper = Shopper(user_id=UserFactory().pk) if signed_in else Shopper(anonymous_id="g" * 32)
    _event(product=product, user_id=shopper.user_id, anonymous_id=shopper.anonymous_id)
    _read_state(shopper, None)  # the serving path's own query runs
    now = timezone.now()  # others' rows and fresh statistics: a plan as on a real table
    Interaction.objects.bulk_create(
        Interaction(product=product, kind="view", created=now, anonymous_id=f"{n:032d}")
        for n in range(500)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Interaction._meta.db_table}")
    who = (
        {"user_id": shopper.user_id}
        if shopper.user_id
        else {"user__isnull": True, "anonymous_id": shopper.anonymous_id}
    )
    # Only the shopper's own index can answer these predicates (no other index leads
    # with user or anonymous_id): unusable, the plan would scan a whole other index.
    with transaction.atomic():
        plan = _plan(Interaction.objects.filter(**who).order_by())
    assert index in plan, plan
    guests = Interaction.objects.filter(
        user__isnull=True, anonymous_id__in=["a" * 32, "b" * 32]
    ).order_by()
    with transaction.atomic():
        plan = _plan(guests)
    assert "interaction_anon_recent" in plan, plan


@needs_postgres
@pytest.mark.parametrize(
    ("signed_in", "index"), [(True, "impression_user_recent"), (False, "impression_anon_recent")]
)
def test_a_click_is_checked_against_the_shoppers_lists_through_the_partial_index(signed_in, index):
    product = ProductFactory()
    owner = (UserFactory(), "") if signed_in else (None, "g" * 32)
    insert_impression_rows(impression_rows(owner, [(None, "rec:x", [product.pk])]))
    others = [(None, f"{n:032d}") for n in range(500)]
    insert_impression_rows([row for o in others for row in impression_rows(o, [(None, "", [1])])])
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Impression._meta.db_table}")
    user, guest = owner
    who = Q(user=user) if user is not None else Q(user__isnull=True, anonymous_id=guest)
    with transaction.atomic():
        plan = _plan(impressions.lists_shown(who, [1]))
    assert index in plan, plan


def test_lists_showing_names_the_products_those_lists_showed():
    """Click credit's question: of these products, which did these versions show these
    shoppers (each distinct list read once)."""
    user, other = UserFactory(), UserFactory()
    version = ModelVersion.objects.create(algorithm="popularity")
    v = version.pk
    insert_impression_rows(
        [
            *impression_rows((user, ""), [(v, "rec:x", [11, 12]), (v + 1, "rec:y", [13])]),
            *impression_rows((user, ""), [(v, "rec:z", [13])]),
            *impression_rows((user, ""), [(v, "rec:z", [13])]),  # shown again
            *impression_rows((other, ""), [(v, "rec:x", [14])]),
        ]
    )
    found = impressions.lists_showing(Q(user=user), [v], [11, 13, 14, 99])
    assert found == {(user.pk, "", v, 11), (user.pk, "", v, 13)}


@pytest.mark.parametrize("model", [Interaction, Impression])
def test_stored_client_ids_are_the_senders_own_among_those_asked(model):
    product = ProductFactory()
    extra = {"product": product, "kind": "view"} if model is Interaction else {"size": 1}
    for sender, key in [("user:1", "a"), ("user:1", "b"), ("user:2", "c"), ("user:1", None)]:
        model.objects.create(created=timezone.now(), sender=sender, client_event_id=key, **extra)
    assert stored_client_ids(model, "user:1", ["a", "c", "z"]) == {"a"}
    assert stored_client_ids(model, "user:2", {"a", "b", "c"}) == {"c"}
    assert stored_client_ids(model, "user:1", []) == set()


@needs_postgres
def test_a_senders_stored_ids_are_probed_through_the_unique_index_whatever_its_share():
    """The lookup of a batch's ids must stay a probe per id when one sender owns most of
    the table (a server-to-server token): the plan PostgreSQL picked for ``= ANY`` then
    was a scan of the whole table, per batch."""
    product = ProductFactory()
    now = timezone.now()
    copy_rows(
        Interaction,
        EVENT_FIELDS,
        [
            (None, "", product.pk, "view", now, 1, "", None, "", "user:1", f"k{n}")
            for n in range(20_000)
        ],
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Interaction._meta.db_table}")
    keys = [f"k{n}" for n in range(0, 20_000, 20)] + [f"new{n}" for n in range(500)]
    with CaptureQueriesContext(connection) as queries:
        assert stored_client_ids(Interaction, "user:1", keys) == set(keys[:1000])
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + queries.captured_queries[-1]["sql"])
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "interaction_sender_event_id" in plan, plan
    assert "Seq Scan on recommendations_interaction" not in plan, plan
