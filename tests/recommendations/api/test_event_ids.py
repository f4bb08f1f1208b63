"""client_event_id is scoped to its sender: nobody can block another's events."""

from __future__ import annotations

import pytest
from django.urls import reverse

from recommendations import tracking
from recommendations.models import Interaction
from tests.factories import OrderFactory, OrderLineFactory

from .conftest import token_client

pytestmark = pytest.mark.django_db

DETAILS = {"full_name": "Bob Shopper", "email": "bob@example.com", "address": "1 High St"}


def post(client, body):
    return client.post("/api/events/", body, format="json")


def _next_shop_ids() -> list[str]:
    """What the shop will write for the next order's line, as an attacker guesses it:
    the last order and line numbers plus one (a throwaway order shows them)."""
    line = OrderLineFactory()
    order_pk, line_pk = line.order_id, line.pk
    line.order.delete()
    return [f"order-{o}-line-{n}" for o in (order_pk, order_pk + 1) for n in (line_pk, line_pk + 1)]


def test_an_id_guessed_for_the_next_order_does_not_suppress_its_purchase(
    as_alice, bob, client, catalogue, django_capture_on_commit_callbacks
):
    guesses = _next_shop_ids()
    body = [{"product": catalogue[0].pk, "kind": "view", "client_event_id": g} for g in guesses]
    assert post(as_alice, body).status_code == 201
    client.force_login(bob)
    client.post(reverse("shop:cart_add", args=[catalogue[1].pk]), {"quantity": 2})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("shop:checkout"), DETAILS)
    assert response.status_code == 302
    purchase = Interaction.objects.get(kind="purchase")
    assert (purchase.user, purchase.product, purchase.quantity) == (bob, catalogue[1], 2)
    assert purchase.client_event_id in guesses  # the very id alice took first
    assert purchase.sender == tracking.SHOP_SENDER


def test_two_shoppers_and_a_guest_may_use_the_same_client_id(as_alice, as_bob, anon, catalogue):
    event = {"product": catalogue[0].pk, "kind": "view", "client_event_id": "app-1"}
    for client in (as_alice, as_bob, anon):
        response = post(client, event)
        assert response.json() == {"accepted": 1, "duplicates": 0}
    assert Interaction.objects.filter(client_event_id="app-1").count() == 3


def test_the_same_senders_resend_is_still_a_duplicate(as_alice, anon, catalogue):
    event = {"product": catalogue[0].pk, "kind": "view", "client_event_id": "app-1"}
    for client in (as_alice, anon):
        assert post(client, event).json() == {"accepted": 1, "duplicates": 0}
        assert post(client, [event, event]).json() == {"accepted": 0, "duplicates": 2}
    assert Interaction.objects.count() == 2


def test_a_staff_batch_is_scoped_to_the_token_owner(as_staff, as_alice, alice, catalogue):
    """The shopper named in a staff batch cannot block it by sending its ids first."""
    own = {"product": catalogue[0].pk, "kind": "view", "client_event_id": "crm-1"}
    assert post(as_alice, own).json() == {"accepted": 1, "duplicates": 0}
    sent = {**own, "kind": "purchase", "user": "alice"}
    assert post(as_staff, sent).json() == {"accepted": 1, "duplicates": 0}
    assert post(as_staff, sent).json() == {"accepted": 0, "duplicates": 1}
    other_staff = token_client(type(alice).objects.create(username="ops2", is_staff=True))
    assert post(other_staff, sent).json() == {"accepted": 1, "duplicates": 0}
    assert Interaction.objects.filter(user=alice, kind="purchase").count() == 2


def test_the_shops_purchase_rows_stay_idempotent(catalogue):
    order = OrderFactory()
    OrderLineFactory(order=order, product=catalogue[0])
    assert tracking.record_order(order) == 1
    tracking.record_order(order)  # a resent signal
    assert Interaction.objects.filter(kind="purchase").count() == 1


def test_a_guests_ids_survive_login_beside_the_users_own(alice, catalogue):
    """Attaching guest history keeps each row's sender: equal ids never clash."""
    tracking.record_batch(
        [
            {
                "product_id": catalogue[0].pk,
                "kind": "view",
                "client_event_id": "app-1",
                "anonymous_id": "g" * 32,
            }
        ],
        sender=tracking.sender_of(None, "g" * 32),
    )
    tracking.record_batch(
        [
            {
                "product_id": catalogue[0].pk,
                "kind": "view",
                "client_event_id": "app-1",
                "user_id": alice.pk,
            }
        ],
        sender=tracking.sender_of(alice.pk, ""),
    )
    assert tracking.attach_guest_history("g" * 32, alice) == 1
    assert Interaction.objects.filter(user=alice, client_event_id="app-1").count() == 2
