"""The page endpoints (/api/pages/...): exactly what the shop's pages show the same
shopper; and the slot each list endpoint states, with when a list equals its slot."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from recommendations.models import Impression, RelatedProducts
from tests.factories import OrderLineFactory
from tests.recommendations.serving.serving_support import build_world
from tests.recommendations.serving.test_widgets import widgets
from tests.shop.browsers import returning

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_rows(settings):
    """Rows of 4 in plain score order, as the widget tests render them."""
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "DIVERSITY": 0.0, "WIDGET_SIZE": 4}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world():
    return build_world(14)  # enough kitchen products for three distinct product widgets


def shown(response) -> dict[str, list[int]]:
    """The page endpoint's widgets the page shows (non-empty), as data-widget -> ids."""
    assert response.status_code == 200, response.json()
    return {
        w["widget"]: [item["product"]["id"] for item in w["results"]]
        for w in response.json()["widgets"]
        if w["results"]
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [item["product"]["id"] for item in response.json()["results"]]


def test_the_page_endpoints_equal_the_shop_pages(client, world):
    """The same shopper's home (best sellers passed as exclude), product and cart pages
    show exactly the endpoints' widgets, in page order."""
    best = world.garden[:3]
    for product in best:  # the best sellers are also trending: the plan must skip them
        OrderLineFactory(product=product, quantity=3)
    client.force_login(world.user)
    exclude = ",".join(str(p.pk) for p in best)
    home = widgets(client.get("/"))
    assert list(home) == ["for-you", "trending"]
    assert shown(client.get("/api/pages/home/", {"exclude": exclude})) == home

    kettle = world.kitchen[0]
    page = widgets(client.get(kettle.get_absolute_url()))
    assert list(page) == ["similar", "bought-together", "also-viewed"]
    assert shown(client.get(f"/api/pages/products/{kettle.pk}/")) == page

    client.post(reverse("shop:cart_add", args=[world.kitchen[1].pk]), {"quantity": 1})
    cart = widgets(client.get(reverse("shop:cart")))
    assert list(cart) == ["complete-order"]
    assert shown(client.get("/api/pages/cart/")) == cart
    # the cart now changes the product page too: it leaves out what is in the cart
    assert shown(client.get(f"/api/pages/products/{kettle.pk}/")) == widgets(
        client.get(kettle.get_absolute_url())
    )


def test_a_guests_pages_equal_the_endpoints(client, world):
    """A first-time guest: one cold-start row at home (for-you left out, but answered)."""
    returning(client)
    body = client.get("/api/pages/home/").json()
    assert [w["widget"] for w in body["widgets"]] == ["for-you", "trending"]
    assert body["widgets"][0]["results"] == []
    assert shown(client.get("/api/pages/home/")) == widgets(client.get("/"))
    client.get(world.kitchen[0].get_absolute_url())  # now something of the guest's own
    home = widgets(client.get("/"))
    assert list(home) == ["for-you", "trending"]
    assert shown(client.get("/api/pages/home/")) == home


def test_the_page_answer_shape(world):
    client = APIClient()
    body = client.get(f"/api/pages/products/{world.kitchen[0].pk}/", {"limit": 2}).json()
    assert set(body) == {"page", "version", "widgets"}
    assert body["page"] == "product" and body["version"] == world.version.pk
    first = body["widgets"][0]
    assert set(first) == {"widget", "src", "results"}
    assert first["src"] == f"rec:similar:v{world.version.pk}"
    item = first["results"][0]
    assert set(item) == {"product", "score", "reason", "src"} and item["src"] == first["src"]
    assert item["product"]["url"].startswith("http://testserver/products/")
    assert len(first["results"]) == 2


def test_the_cart_comes_from_the_query_or_the_session(world):
    client = APIClient()  # a token or app client: no shop cart in its session
    empty = client.get("/api/pages/cart/").json()
    assert empty["widgets"] == [
        {
            "widget": "complete-order",
            "src": f"rec:complete-order:v{world.version.pk}",
            "results": [],
        }
    ]
    in_cart = world.kitchen[1].pk
    got = shown(client.get("/api/pages/cart/", {"cart": f"{in_cart}"}))["complete-order"]
    assert len(got) == 4 and in_cart not in got
    assert set(got) <= {p.pk for p in world.kitchen}  # the cart's neighbours


def test_exclude_and_the_cart_leave_products_out_of_every_widget(world):
    client = APIClient()
    kettle = world.kitchen[0]
    before = shown(client.get(f"/api/pages/products/{kettle.pk}/"))
    first = before["similar"][0]
    other = before["bought-together"][0]
    after = shown(
        client.get(f"/api/pages/products/{kettle.pk}/", {"exclude": first, "cart": other})
    )
    on_page = [pid for row in after.values() for pid in row]
    assert first not in on_page and other not in on_page
    assert len(on_page) == len(set(on_page))  # no repeats across widgets


def test_the_kill_switch_empties_every_widget(client, world, settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "WIDGETS": False}
    body = client.get(f"/api/pages/products/{world.kitchen[0].pk}/").json()
    assert body["version"] is None
    assert [w["results"] for w in body["widgets"]] == [[], [], []]
    assert widgets(client.get(world.kitchen[0].get_absolute_url())) == {}


@pytest.mark.parametrize(
    "path, query, field",
    [
        ("/api/pages/home/", {"limit": 0}, "limit"),
        ("/api/pages/home/", {"limit": 101}, "limit"),
        ("/api/pages/home/", {"exclude": "1,x"}, "exclude"),
        ("/api/pages/cart/", {"cart": ",".join(["1"] * 501)}, "cart"),
        ("/api/recommendations/", {"cart": "-3"}, "cart"),
    ],
)
def test_bad_page_queries_are_field_errors(world, path, query, field):
    response = APIClient().get(path, query)
    assert response.status_code == 400
    assert field in response.json()


def test_a_missing_or_retired_product_has_no_page(world):
    world.kitchen[0].__class__.objects.filter(pk=world.kitchen[0].pk).update(active=False)
    assert APIClient().get(f"/api/pages/products/{world.kitchen[0].pk}/").status_code == 404
    assert APIClient().get("/api/pages/products/999999/").status_code == 404


def test_page_impressions_are_logged_per_widget(world):
    client = APIClient()
    client.force_authenticate(world.user)
    page = shown(client.get(f"/api/pages/products/{world.kitchen[0].pk}/"))
    logged = Impression.objects.filter(user=world.user)
    v = world.version.pk
    assert {row.source: row.product_ids for row in logged} == {
        f"rec:{widget}:v{v}": pids for widget, pids in page.items()
    }
    assert logged.count() == len(page)  # one row per widget


# ------------------------------------------------------------------ slots


@pytest.mark.parametrize(
    "path, query, slot",
    [
        ("/api/recommendations/", {}, {"page": "home", "widget": "for-you"}),
        ("/api/trending/", {}, {"page": "home", "widget": "trending"}),
        ("/api/products/{id}/related/", {}, {"page": "product", "widget": "similar"}),
        (
            "/api/products/{id}/related/",
            {"kind": "bought_together"},
            {"page": "product", "widget": "bought-together"},
        ),
        (
            "/api/products/{id}/related/",
            {"kind": "also_viewed"},
            {"page": "product", "widget": "also-viewed"},
        ),
    ],
)
def test_each_list_states_its_page_slot(world, path, query, slot):
    body = APIClient().get(path.format(id=world.kitchen[0].pk), query).json()
    assert body["slot"] == slot
    assert set(body) == {"version", "widget", "src", "results", "slot"}


def test_a_list_no_page_shows_has_no_slot(world, staff):
    client = APIClient()
    client.force_authenticate(staff)
    body = client.get(f"/api/users/{world.user.pk}/recommendations/").json()
    assert body["slot"] is None and body["widget"] == "for-you"


def test_lists_in_plan_order_rebuild_the_product_page(world):
    """The README's rule: a product's lists equal its page's rows when each is asked
    with the earlier rows (in PLAN_ORDER) as exclude, short rows hidden aside."""
    client = APIClient()
    kettle = world.kitchen[0]
    related = f"/api/products/{kettle.pk}/related/"
    together = ids(client.get(related, {"kind": "bought_together", "limit": 4}))
    similar = ids(client.get(related, {"limit": 4, "exclude": ",".join(map(str, together))}))
    taken = ",".join(map(str, together + similar))
    also = ids(client.get(related, {"kind": "also_viewed", "limit": 4, "exclude": taken}))
    page = shown(client.get(f"/api/pages/products/{kettle.pk}/"))
    assert page == {"similar": similar, "bought-together": together, "also-viewed": also}


def test_lists_rebuild_the_home_page(world):
    """for-you equals its row when it holds the shopper's own; trending, asked with
    for-you's ids as exclude, equals its row."""
    client = APIClient()
    client.force_authenticate(world.user)
    for_you = ids(client.get("/api/recommendations/", {"limit": 4}))
    trending = ids(
        client.get("/api/trending/", {"limit": 4, "exclude": ",".join(map(str, for_you))})
    )
    page = shown(client.get("/api/pages/home/"))
    assert page == {"for-you": for_you, "trending": trending}


def test_a_short_complement_row_is_listed_but_not_shown(world):
    """bought-together equals the page's row unless the page hides it (fewer than 3)."""
    kettle = world.kitchen[0]
    short = RelatedProducts.objects.get(
        version=world.version, product=kettle, kind="bought_together"
    )
    short.product_ids, short.scores = short.product_ids[:2], short.scores[:2]
    short.save()
    cache.clear()
    client = APIClient()
    listed = ids(client.get(f"/api/products/{kettle.pk}/related/", {"kind": "bought_together"}))
    assert listed == short.product_ids
    assert "bought-together" not in shown(client.get(f"/api/pages/products/{kettle.pk}/"))


def test_the_cart_query_leaves_the_cart_out_of_a_list(world):
    client = APIClient()
    client.force_authenticate(world.user)
    first = ids(client.get("/api/recommendations/", {"limit": 4}))
    rest = ids(client.get("/api/recommendations/", {"limit": 4, "cart": str(first[0])}))
    assert first[0] not in rest and rest[:3] == first[1:]
