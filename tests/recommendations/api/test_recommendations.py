"""The list endpoints over serving: recommendations, users' lists, trending, related,
and the privacy clearing."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from recommendations import serving
from recommendations.models import Impression, Interaction

pytestmark = pytest.mark.django_db


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [item["product"]["id"] for item in response.json()["results"]]


def pks(products) -> list[int]:
    return [p.pk for p in products]


def test_shape_version_and_src(as_alice, served_lists, catalogue):
    body = as_alice.get("/api/recommendations/", {"limit": 2}).json()
    assert body["version"] == served_lists.pk
    assert body["widget"] == "for-you"
    assert body["src"] == f"rec:for-you:v{served_lists.pk}"
    first = body["results"][0]
    assert set(first) == {"product", "score", "reason", "src"}
    assert first["src"] == body["src"]
    assert first["reason"] == f"Because you viewed {catalogue[0].name}"
    assert isinstance(first["score"], float)
    assert set(first["product"]) >= {
        "id",
        "sku",
        "name",
        "price",
        "category",
        "url",
        "image_url",
        "in_stock",
    }
    assert first["product"]["category"] == "kitchen" and first["product"]["in_stock"] is True


def test_the_api_and_serving_agree(as_alice, alice, served_lists):
    served = serving.recommend(serving.Shopper.for_user(alice), "for-you", limit=8)
    assert ids(as_alice.get("/api/recommendations/", {"limit": 8})) == served.product_ids


def test_each_shopper_gets_their_own_list(as_alice, as_bob, served_lists, catalogue):
    assert ids(as_alice.get("/api/recommendations/", {"limit": 6})) == pks(catalogue[:6])
    assert ids(as_bob.get("/api/recommendations/", {"limit": 6})) == pks(catalogue[6:])


def test_limit_defaults_to_10_and_lists_fill_from_trending(as_alice, served_lists, catalogue):
    got = ids(as_alice.get("/api/recommendations/"))
    assert len(got) == 10
    assert set(pks(catalogue[:6])) <= set(got)  # her list, topped up from trending


@pytest.mark.parametrize(
    "query, own",
    [
        ({"exclude": [1, 3]}, [2, 4, 5, 6]),
        ({"exclude": [1, None]}, [2, 3, 4, 5]),  # "id," and spaces are fine
        ({"category": "kitchen"}, [1, 3, 5]),
        ({"min_price": "2", "max_price": "5.00"}, [2, 3, 4, 5]),
        ({"category": "garden", "min_price": "3.5"}, [4, 6]),
    ],
)
def test_rules_apply_before_truncation(as_alice, served_lists, catalogue, query, own):
    """Alice's own qualifying products come first, and the list is still full length."""
    number = dict(enumerate(catalogue, start=1))
    number_of = {p.pk: n for n, p in number.items()}
    if "exclude" in query:
        query["exclude"] = " , ".join(str(number[n].pk) if n else "" for n in query["exclude"])
    results = as_alice.get("/api/recommendations/", {"limit": 4, **query}).json()["results"]
    got = [number_of[item["product"]["id"]] for item in results]
    assert got[: len(own)] == own
    assert len(got) == 4
    for product in (number[n] for n in got):
        assert query.get("category", product.category.slug) == product.category.slug
        assert Decimal(query.get("min_price", "0")) <= product.price
        assert product.price <= Decimal(query.get("max_price", "1000"))


def test_anonymous_client_gets_the_cold_start_list(anon, served_lists, catalogue):
    got = ids(anon.get("/api/recommendations/", {"limit": 3}))
    assert got == pks(catalogue[11:7:-1])[:3]  # most viewed first
    assert not Impression.objects.exists()  # nobody to credit


def test_guest_session_is_the_shopper(served_lists, catalogue):
    guest = APIClient()
    body = {"product": catalogue[2].pk, "kind": "not_interested"}
    assert guest.post("/api/events/", body, format="json").status_code == 201
    got = ids(guest.get("/api/trending/", {"limit": 10}))
    assert catalogue[2].pk not in got and len(got) > 0


def test_impressions_are_logged_with_the_version(as_alice, alice, served_lists, catalogue):
    as_alice.get("/api/recommendations/", {"limit": 3})
    shown = Impression.objects.get()  # one row per list, in the order shown
    assert (shown.product_ids, shown.size) == (pks(catalogue[:3]), 3)
    assert (shown.user, shown.model_version_id, shown.source) == (
        alice,
        served_lists.pk,
        f"rec:for-you:v{served_lists.pk}",
    )


def test_impressions_follow_the_recs_impressions_switch(as_alice, served_lists, settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "IMPRESSIONS": False}
    assert len(ids(as_alice.get("/api/recommendations/", {"limit": 3}))) == 3
    assert not Impression.objects.exists()


def test_staff_reads_a_shoppers_list_without_logging(as_staff, as_alice, alice, served_lists):
    mine = ids(as_alice.get("/api/recommendations/", {"limit": 5}))
    before = Interaction.objects.count()
    assert ids(as_staff.get(f"/api/users/{alice.pk}/recommendations/", {"limit": 5})) == mine
    assert Interaction.objects.count() == before
    assert as_staff.get("/api/users/999999/recommendations/").status_code == 404


def test_trending_with_category(anon, served_lists, catalogue):
    got = ids(anon.get("/api/trending/", {"category": "garden", "limit": 5}))
    assert got[:2] == [catalogue[11].pk, catalogue[9].pk]
    assert all(
        p["product"]["category"] == "garden"
        for p in anon.get("/api/trending/", {"category": "garden"}).json()["results"]
    )
    assert anon.get("/api/trending/").json()["widget"] == "trending"


def test_related_similar(anon, served_lists, catalogue):
    response = anon.get(f"/api/products/{catalogue[0].pk}/related/", {"kind": "similar"})
    assert ids(response)[:3] == pks(catalogue[1:4])
    assert response.json()["results"][0]["reason"] == f"Similar to {catalogue[0].name}"
    assert response.json()["src"] == f"rec:similar:v{served_lists.pk}"
    limited = anon.get(f"/api/products/{catalogue[0].pk}/related/", {"limit": 2})
    assert ids(limited) == pks(catalogue[1:3])


@pytest.mark.parametrize("kind", ["bought_together", "also_viewed"])
def test_related_other_kinds_answer_lists(anon, served_lists, catalogue, kind):
    response = anon.get(f"/api/products/{catalogue[0].pk}/related/", {"kind": kind})
    assert response.status_code == 200
    assert response.json()["widget"] == kind.replace("_", "-")


def test_related_bad_kind_and_unknown_product(anon, served_lists, catalogue):
    response = anon.get(f"/api/products/{catalogue[0].pk}/related/", {"kind": "cheaper"})
    assert response.status_code == 400 and "kind" in response.json()
    assert anon.get("/api/products/999999/related/").status_code == 404


@pytest.mark.parametrize(
    "query, field",
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": 10**30}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"exclude": "1,two"}, "exclude"),
        ({"exclude": "-1"}, "exclude"),
        ({"exclude": ",".join(["1"] * 501)}, "exclude"),
        ({"category": "no-such"}, "category"),
        ({"min_price": "cheap"}, "min_price"),
        ({"min_price": "-1"}, "min_price"),
        ({"max_price": "NaN"}, "max_price"),
        ({"max_price": "1e400"}, "max_price"),
        ({"min_price": "5", "max_price": "2"}, "max_price"),
    ],
)
@pytest.mark.parametrize("path", ["/api/recommendations/", "/api/trending/"])
def test_bad_list_queries_are_400_with_the_field(as_alice, served_lists, path, query, field):
    before = Interaction.objects.count()
    response = as_alice.get(path, query)
    assert response.status_code == 400
    assert field in response.json()
    assert Interaction.objects.count() == before


def test_clear_history_forgets_only_the_caller(as_alice, as_bob, alice, bob, served_lists):
    for client in (as_alice, as_bob):
        client.post("/api/events/", {"sku": "P-01", "kind": "view"}, format="json")
    response = as_alice.delete("/api/me/history/")
    assert response.status_code == 200
    assert response.json()["deleted"] >= 1
    assert not Interaction.objects.filter(user=alice).exists()
    assert Interaction.objects.filter(user=bob).count() == 1


def test_clear_history_of_a_guest_session(served_lists):
    guest, other = APIClient(), APIClient()
    for client in (guest, other):
        client.post("/api/events/", {"sku": "P-01", "kind": "view"}, format="json")
    assert guest.delete("/api/me/history/").json()["deleted"] >= 1
    assert Interaction.objects.filter(anonymous_id=other.session["shopper_id"]).count() == 1
    assert not Interaction.objects.filter(anonymous_id=guest.session["shopper_id"]).exists()
    assert APIClient().delete("/api/me/history/").json() == {"deleted": 0}


def test_a_narrow_filter_fills_from_matching_products_beyond_trending(as_alice, served_lists):
    """Ten cheap kitchen products exist but none trends: the list still holds ten."""
    from tests.factories import CategoryFactory, ProductFactory

    pantry = CategoryFactory(slug="pantry", name="Pantry")
    cheap = [ProductFactory(category=pantry, price=Decimal("4.00"), stock=3) for _ in range(12)]
    ProductFactory(category=pantry, price=Decimal("90.00"), stock=3)  # too dear
    body = as_alice.get(
        "/api/recommendations/", {"limit": 10, "category": "pantry", "max_price": "5"}
    ).json()
    got = [item["product"]["id"] for item in body["results"]]
    assert len(got) == 10 and set(got) <= {p.pk for p in cheap}
    assert {item["reason"] for item in body["results"]} == {"New in Pantry"}
