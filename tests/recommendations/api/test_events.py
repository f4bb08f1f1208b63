"""POST /api/events/: identity, batches all or nothing, idempotency, bad input."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from recommendations.models import Impression, Interaction, ModelVersion

pytestmark = pytest.mark.django_db


def post(client, body, **kwargs):
    return client.post("/api/events/", body, format="json", **kwargs)


def test_one_event_for_the_token_user(as_alice, alice, catalogue):
    response = post(as_alice, {"product": catalogue[0].pk, "kind": "view"})
    assert response.status_code == 201
    assert response.json() == {"accepted": 1, "duplicates": 0}
    row = Interaction.objects.get()
    assert (row.user, row.anonymous_id, row.product, row.kind) == (alice, "", catalogue[0], "view")
    assert abs(row.created - timezone.now()) < timedelta(seconds=10)


def test_batch_by_id_and_sku_with_all_fields(as_alice, alice, catalogue):
    version = ModelVersion.objects.create(algorithm="cooccurrence", status="active")
    when = timezone.now() - timedelta(days=2)
    events = [
        {"sku": "P-02", "kind": "cart", "quantity": 3, "source": "app:basket"},
        {
            "product": catalogue[4].pk,
            "kind": "cart",  # purchases: staff only (test_event_limits.py)
            "quantity": 2,
            "basket": "order-7",
            "timestamp": when.isoformat(),
            "client_event_id": "app-1",
        },
        {"product": catalogue[5].pk, "kind": "click", "source": f"rec:for-you:v{version.pk}"},
    ]
    response = post(as_alice, events)
    assert response.status_code == 201, response.json()
    assert response.json() == {"accepted": 3, "duplicates": 0}
    cart, purchase, click = Interaction.objects.order_by("pk")
    assert (cart.product, cart.kind, cart.quantity, cart.source) == (
        catalogue[1],
        "cart",
        3,
        "app:basket",
    )
    assert (purchase.basket, purchase.created, purchase.client_event_id) == (
        "order-7",
        when,
        "app-1",
    )
    assert click.model_version is None  # "rec:...:v<id>" credits only what was shown
    assert {r.user for r in (cart, purchase, click)} == {alice}


def test_a_click_credits_the_version_that_showed_that_shopper_that_product(
    as_alice, alice, bob, catalogue
):
    version = ModelVersion.objects.create(algorithm="cooccurrence", status="active")
    now = timezone.now()
    for user, shown in ((alice, [catalogue[2], catalogue[0]]), (bob, [catalogue[1]])):
        Impression.objects.create(
            user=user,
            product_ids=[p.pk for p in shown],
            size=len(shown),
            created=now,
            model_version=version,
        )
    source = f"rec:for-you:v{version.pk}"
    response = post(
        as_alice,
        [
            {"product": catalogue[0].pk, "kind": "click", "source": source},
            {"product": catalogue[1].pk, "kind": "click", "source": source},  # shown to bob
            {"product": catalogue[0].pk, "kind": "click", "source": "rec:for-you:v999"},
        ],
    )
    assert response.status_code == 201
    clicks = Interaction.objects.filter(kind="click").order_by("pk")
    assert [c.model_version_id for c in clicks] == [version.pk, None, None]


def test_impressions_a_client_sends_are_lists_of_one_stored_once(as_alice, alice, catalogue):
    version = ModelVersion.objects.create(algorithm="cooccurrence", status="active")
    source = f"rec:app-home:v{version.pk}"
    Impression.objects.create(  # the list the API served, logged by the server
        user=alice,
        product_ids=[catalogue[0].pk],
        size=1,
        created=timezone.now(),
        model_version=version,
        source=source,
    )
    batch = [
        {
            "product": catalogue[0].pk,
            "kind": "impression",
            "source": source,
            "client_event_id": "i-1",
        },
        {
            "product": catalogue[1].pk,
            "kind": "impression",
            "source": source,
            "client_event_id": "i-2",
        },
        {"product": catalogue[1].pk, "kind": "view", "client_event_id": "v-1"},
    ]
    first = post(as_alice, batch)
    assert first.status_code == 201 and first.json() == {"accepted": 3, "duplicates": 0}
    assert post(as_alice, batch).json() == {"accepted": 0, "duplicates": 3}
    sent = Impression.objects.filter(client_event_id__isnull=False).order_by("client_event_id")
    assert [(i.product_ids, i.size, i.sender) for i in sent] == [
        ([catalogue[0].pk], 1, f"user:{alice.pk}"),
        ([catalogue[1].pk], 1, f"user:{alice.pk}"),
    ]
    # credited as clicks are: only what that version showed this shopper
    assert [i.model_version_id for i in sent] == [version.pk, None]
    assert Interaction.objects.get().kind == "view"


def test_guest_session_events_belong_to_the_sessions_anonymous_id(catalogue):
    client = APIClient()
    assert post(client, {"product": catalogue[0].pk, "kind": "view"}).status_code == 201
    assert post(client, {"product": catalogue[1].pk, "kind": "view"}).status_code == 201
    guest = client.session["shopper_id"]
    assert len(guest) == 32
    rows = Interaction.objects.all()
    assert {(r.user_id, r.anonymous_id) for r in rows} == {(None, guest)}
    assert rows.count() == 2


def test_guest_write_needs_the_csrf_token(catalogue):
    client = APIClient(enforce_csrf_checks=True)
    response = post(client, {"product": catalogue[0].pk, "kind": "view"})
    assert response.status_code == 403
    assert Interaction.objects.count() == 0
    client.cookies["csrftoken"] = "k" * 32
    response = post(client, {"product": catalogue[0].pk, "kind": "view"}, HTTP_X_CSRFTOKEN="k" * 32)
    assert response.status_code == 201


def test_signed_in_session_needs_the_csrf_token(alice, catalogue):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    assert post(client, {"product": catalogue[0].pk, "kind": "view"}).status_code == 403
    token = "k" * 32  # what the shop's pages set in the csrftoken cookie
    client.cookies["csrftoken"] = token
    response = post(client, {"product": catalogue[0].pk, "kind": "view"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201
    assert Interaction.objects.get().user == alice


def test_staff_sends_on_behalf_of_shoppers(as_staff, staff, alice, bob, catalogue):
    response = post(
        as_staff,
        [
            {"product": catalogue[0].pk, "kind": "view", "user": "alice"},
            {"product": catalogue[1].pk, "kind": "view", "user": "bob"},
            {"product": catalogue[2].pk, "kind": "view"},
        ],
    )
    assert response.status_code == 201
    assert sorted(Interaction.objects.values_list("user__username", "product__sku")) == [
        ("alice", "P-01"),
        ("bob", "P-02"),
        ("operator", "P-03"),
    ]


def test_a_shopper_cannot_send_for_another(as_alice, bob, catalogue):
    response = post(as_alice, {"product": catalogue[0].pk, "kind": "view", "user": "bob"})
    assert response.status_code == 403
    assert Interaction.objects.count() == 0


def test_idempotent_resend_and_duplicates_within_a_batch(as_alice, catalogue):
    batch = [
        {"product": catalogue[i].pk, "kind": "view", "client_event_id": f"e-{i}"} for i in range(5)
    ]
    assert post(as_alice, batch).json() == {"accepted": 5, "duplicates": 0}
    assert post(as_alice, batch).json() == {"accepted": 0, "duplicates": 5}
    again = [*batch[3:], {"product": catalogue[6].pk, "kind": "cart", "client_event_id": "e-6"}]
    again.append(again[-1])  # repeated inside the same batch
    assert post(as_alice, again).json() == {"accepted": 1, "duplicates": 3}
    assert Interaction.objects.count() == 6
    no_id = {"product": catalogue[0].pk, "kind": "view"}
    assert post(as_alice, [no_id, no_id]).json() == {"accepted": 2, "duplicates": 0}


def test_one_bad_item_rejects_the_whole_batch_with_errors_by_index(as_alice, catalogue):
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    batch = [
        {"product": catalogue[0].pk, "kind": "view", "client_event_id": "ok-1"},
        {"product": 999_999, "kind": "view"},
        {"sku": "NOPE", "kind": "view"},
        {"product": catalogue[0].pk, "kind": "teleport"},
        {"product": catalogue[0].pk, "kind": "view", "timestamp": future},
        {"product": catalogue[0].pk, "kind": "view", "timestamp": "yesterday"},
        {"product": "seven", "kind": "view", "quantity": 0},
        {"kind": "view"},
        {"product": catalogue[0].pk, "sku": "P-05", "kind": "view"},
        "not an object",
        {"product": catalogue[1].pk, "kind": "view"},
    ]
    response = post(as_alice, batch)
    assert response.status_code == 400
    body = response.json()
    assert "nothing was stored" in body["detail"]
    errors = body["errors"]
    assert sorted(errors, key=int) == ["1", "2", "3", "4", "5", "6", "7", "8", "9"]
    assert errors["1"] == {"product": [f"No product with id {999_999}."]}
    assert errors["2"] == {"sku": ["No product with sku 'NOPE'."]}
    assert "kind" in errors["3"]
    assert errors["4"] == {"timestamp": ["Must not be in the future."]}
    assert "timestamp" in errors["5"]
    assert set(errors["6"]) == {"product", "quantity"}
    assert "product" in errors["7"]
    assert "sku" in errors["8"]
    assert "non_field_errors" in errors["9"]
    assert Interaction.objects.count() == 0
    # the valid first item was not stored, so sending it alone now works
    assert post(as_alice, batch[:1]).json() == {"accepted": 1, "duplicates": 0}


def test_unknown_user_named_by_staff_is_an_item_error(as_staff, catalogue):
    response = post(as_staff, [{"product": catalogue[0].pk, "kind": "view", "user": "ghost"}])
    assert response.status_code == 400
    assert response.json()["errors"] == {"0": {"user": ["No user 'ghost'."]}}


def test_batch_limits(as_alice, catalogue):
    event = {"product": catalogue[0].pk, "kind": "view"}
    assert post(as_alice, [event] * 1000).json() == {"accepted": 1000, "duplicates": 0}
    response = post(as_alice, [event] * 1001)
    assert response.status_code == 413
    assert Interaction.objects.count() == 1000
    assert post(as_alice, []).status_code == 400


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        ("{not json", "application/json", 400),
        ('"a string"', "application/json", 400),
        ("42", "application/json", 400),
        ("null", "application/json", 400),
        ("", "application/json", 400),
        ("product=1&kind=view", "application/x-www-form-urlencoded", 415),
        ('{"product": 1, "kind": "view"}', "text/plain", 415),
    ],
)
def test_malformed_bodies_are_4xx_and_write_nothing(
    as_alice, catalogue, body, content_type, status
):
    response = as_alice.post("/api/events/", body, content_type=content_type)
    assert response.status_code == status
    assert "detail" in response.json() or "non_field_errors" in response.json()
    assert Interaction.objects.count() == 0


def test_not_interested_is_accepted(as_alice, catalogue):
    response = post(as_alice, {"product": catalogue[0].pk, "kind": "not_interested"})
    assert response.status_code == 201
    assert Interaction.objects.get().kind == "not_interested"


PLAIN_CASES = [
    {"product": 7, "kind": "view"},
    {"sku": "P-01", "kind": "cart", "quantity": 3, "basket": "", "source": "app"},
    {"product": 7, "sku": "P-07", "kind": "purchase", "client_event_id": None, "user": "bob"},
    {"product": 7, "kind": "view", "timestamp": "2026-01-31T12:00:00Z", "client_event_id": "a"},
    {"product": 7, "kind": "view", "timestamp": "2026-01-31T12:00:00+02:00"},
    {"product": 7, "kind": "view", "timestamp": "2026-01-31T12:00:00"},  # naive: UTC
    {"product": 7, "kind": "view", "timestamp": "2026-01-31"},
    {"product": 7, "kind": "view", "timestamp": "yesterday"},
    {"product": 7, "kind": "view", "timestamp": "2999-01-01T00:00:00Z"},
    {"product": 7, "kind": "view", "timestamp": None},
    {"product": 7, "kind": "view", "timestamp": 1700000000},
    {"product": "7", "kind": "view"},
    {"product": 7.0, "kind": "view"},
    {"product": True, "kind": "view"},
    {"product": 0, "kind": "view"},
    {"product": 2**63, "kind": "view"},
    {"product": None, "kind": "view"},
    {"product": 7, "kind": "teleport"},
    {"product": 7, "kind": ["view"]},
    {"product": 7},
    {"kind": "view"},
    {"product": 7, "kind": "view", "quantity": 0},
    {"product": 7, "kind": "view", "quantity": "2"},
    {"product": 7, "kind": "view", "quantity": 10_001},
    {"sku": " P-01 ", "kind": "view"},
    {"sku": "", "kind": "view"},
    {"sku": "x" * 65, "kind": "view"},
    {"sku": "P\x0001", "kind": "view"},
    {"sku": "Pé", "kind": "view"},
    {"sku": 12, "kind": "view"},
    {"product": 7, "kind": "view", "basket": "  "},
    {"product": 7, "kind": "view", "source": "s" * 101},
    {"product": 7, "kind": "view", "client_event_id": ""},
    {"product": 7, "kind": "view", "user": ""},
    {"product": 7, "kind": "view", "unknown": "ignored"},
    [],
    "not an object",
    None,
]


@pytest.mark.parametrize("item", PLAIN_CASES)
def test_the_plain_validator_agrees_with_the_serializer(item):
    """The fast path accepts only what EventSerializer accepts, with the same values;
    everything else goes to the serializer (so errors are DRF's own)."""
    from rest_framework import serializers

    from recommendations.api.operations import plain_event
    from recommendations.api.serializers import CLOCK_SKEW, EventSerializer

    child = EventSerializer()
    plain = plain_event(item, child.fields["timestamp"], timezone.now() + CLOCK_SKEW)
    try:
        expected = dict(child.run_validation(item))
    except serializers.ValidationError:
        expected = None
    if plain is not None:
        assert plain == expected
    if any(item is case for case in PLAIN_CASES[:6]):
        assert plain is not None  # ordinary valid items do take the fast path


def test_an_id_stored_between_the_lookup_and_the_copy_is_skipped_not_an_error(alice, catalogue):
    """PostgreSQL: what a concurrent request stores first is the database's answer."""
    from django.db import connection, transaction
    from django.utils import timezone

    from recommendations.tracking import batches, sender_of

    if connection.vendor != "postgresql":
        pytest.skip("the COPY path is PostgreSQL's")
    now = timezone.now()
    sender = sender_of(alice.pk, "")
    row = (alice.pk, "", catalogue[0].pk, "view", now, 1, "", None, "", sender, "raced-1")
    batches._insert_new([row])  # "the other request" stored raced-1 already
    other = (alice.pk, "", catalogue[1].pk, "view", now, 1, "", None, "", sender, "raced-2")
    with transaction.atomic():
        # as if the lookup had run before the other request's commit: it found nothing
        assert batches._store_new([row, other], sender, keys=set()) == 1
    assert sorted(Interaction.objects.values_list("client_event_id", flat=True)) == [
        "raced-1",
        "raced-2",
    ]
