"""No single API client outweighs the crowd: purchases from staff tokens only,
quantities capped per event and per shopper and day."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from recommendations.models import Interaction
from recommendations.serving.cache import clear_local

pytestmark = pytest.mark.django_db


def post(client, body):
    return client.post("/api/events/", body, format="json")


def trending_ids(client) -> list[int]:
    clear_local()
    return [r["product"]["id"] for r in client.get("/api/trending/").json()["results"]]


@pytest.fixture
def limits(settings):
    def set_limits(**values):
        settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, **values}

    return set_limits


def test_a_guests_purchase_batches_cannot_top_trending(anon, catalogue):
    favourite, target = catalogue[0], catalogue[1]
    now = timezone.now()
    for n in range(5):  # the crowd's favourite
        Interaction.objects.create(
            product=favourite, kind="cart", anonymous_id=f"c{n}", created=now
        )
    attack = [{"product": target.pk, "kind": "purchase", "quantity": 10_000}] * 1000
    for _ in range(3):
        response = post(anon, attack)
        assert response.status_code == 400
        errors = response.json()["errors"]
        assert "staff token" in errors["0"]["kind"][0]
        assert "RECS_API_MAX_QUANTITY" in errors["0"]["quantity"][0]
    assert not Interaction.objects.filter(product=target).exists()
    assert trending_ids(anon)[0] == favourite.pk


@pytest.mark.parametrize("client_name", ["anon", "as_alice"])
def test_purchases_are_refused_for_shoppers_and_guests(request, client_name, catalogue):
    client = request.getfixturevalue(client_name)
    response = post(
        client,
        [
            {"product": catalogue[0].pk, "kind": "view"},
            {"product": catalogue[0].pk, "kind": "purchase"},
        ],
    )
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["1"]
    assert set(response.json()["errors"]["1"]) == {"kind"}
    assert not Interaction.objects.exists()


def test_staff_may_send_purchases_for_shoppers(as_staff, alice, catalogue):
    body = {"product": catalogue[0].pk, "kind": "purchase", "quantity": 3, "user": "alice"}
    assert post(as_staff, body).status_code == 201
    assert Interaction.objects.get().user == alice


def test_quantity_per_event_is_capped(as_alice, as_staff, alice, catalogue, limits):
    limits(API_MAX_QUANTITY=5)
    response = post(as_alice, {"product": catalogue[0].pk, "kind": "cart", "quantity": 6})
    assert response.status_code == 400
    assert "At most 5 per event" in response.json()["errors"]["0"]["quantity"][0]
    staff_body = {"product": catalogue[0].pk, "kind": "purchase", "quantity": 6, "user": "alice"}
    assert post(as_staff, staff_body).status_code == 400  # staff too
    assert (
        post(as_alice, {"product": catalogue[0].pk, "kind": "cart", "quantity": 5}).status_code
        == 201
    )


def test_quantity_per_shopper_and_day_is_capped(as_alice, as_staff, alice, catalogue, limits):
    limits(API_DAILY_QUANTITY=10)
    product = catalogue[0].pk
    # in the shop today (counts) and two days ago (does not)
    Interaction.objects.create(
        user=alice, product_id=product, kind="cart", quantity=3, created=timezone.now()
    )
    old = Interaction.objects.create(
        user=alice, product_id=product, kind="cart", quantity=9, created=timezone.now()
    )
    Interaction.objects.filter(pk=old.pk).update(ingested=timezone.now() - timedelta(days=2))
    views = [{"product": product, "kind": "view"}] * 5
    impressions = [{"product": product, "kind": "impression"}] * 20  # not weighed
    assert post(as_alice, views + impressions).status_code == 201  # 3 + 5
    response = post(as_alice, [{"product": product, "kind": "cart", "quantity": 2}, *views])
    assert response.status_code == 400  # 8 + 2 = 10 is fine, the next view is not
    assert list(response.json()["errors"]) == ["1", "2", "3", "4", "5"]
    assert "RECS_API_DAILY_QUANTITY" in response.json()["errors"]["1"]["quantity"][0]
    assert Interaction.objects.filter(kind="view").count() == 5
    # staff server-to-server batches are not the shopper's own sending
    body = [{"product": product, "kind": "purchase", "quantity": 5, "user": "alice"}] * 3
    assert post(as_staff, body).status_code == 201


def test_a_guest_is_capped_too(anon, catalogue, limits):
    limits(API_DAILY_QUANTITY=3)
    body = [{"product": catalogue[0].pk, "kind": "view"}] * 4
    assert post(anon, body).status_code == 400
    assert post(anon, body[:3]).status_code == 201
    assert post(anon, body[:1]).status_code == 400


def _sums(queries) -> int:
    return sum("SUM(" in q["sql"].upper() for q in queries)


def test_the_daily_figure_is_read_once_then_counted_in_the_cache(
    as_alice, alice, catalogue, limits
):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    limits(API_DAILY_QUANTITY=6)
    view = {"product": catalogue[0].pk, "kind": "view"}
    with CaptureQueriesContext(connection) as first:
        assert post(as_alice, [view] * 2).status_code == 201
    with CaptureQueriesContext(connection) as second:
        assert post(as_alice, [view] * 2).status_code == 201
    assert (_sums(first), _sums(second)) == (1, 0)  # the second batch adds to the figure
    # The shop records a cart of 2 meanwhile; a lost cache reads the database again.
    Interaction.objects.create(
        user=alice, product=catalogue[1], kind="cart", quantity=2, created=timezone.now()
    )
    cache.clear()
    response = post(as_alice, [view])
    assert response.status_code == 400  # 4 + 2 + 1 > 6
    assert list(response.json()["errors"]) == ["0"]


def test_resent_duplicates_do_not_count_against_the_day(as_alice, catalogue, limits):
    limits(API_DAILY_QUANTITY=6)
    batch = [
        {"product": catalogue[0].pk, "kind": "view", "client_event_id": f"e{n}"} for n in range(3)
    ]
    assert post(as_alice, batch).status_code == 201
    resent = post(as_alice, batch)  # a client retrying after a timeout
    assert resent.status_code == 201 and resent.json()["duplicates"] == 3
    more = [{"product": catalogue[1].pk, "kind": "view"}] * 2
    assert post(as_alice, more).status_code == 201  # 3 + 2 = 5, not 3 + 3 + 2
    assert post(as_alice, more[:1]).status_code == 201
    assert post(as_alice, more[:1]).status_code == 400
    assert Interaction.objects.filter(kind="view").count() == 6
