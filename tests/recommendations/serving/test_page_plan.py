"""A page's widgets as one plan: no repeats across widgets and the shop's best sellers,
one honest cold-start row, one reason line per group, purchases as purchases,
short rows hidden, "not interested" that says what it did, few queries per page."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from recommendations.models import RelatedProducts
from recommendations.reasons import short_name
from recommendations.serving import Shopper, recommend_page
from shop.models import Product
from tests.factories import OrderLineFactory, ProductFactory
from tests.recommendations.serving.serving_support import build_world
from tests.recommendations.serving.test_widgets import widgets

pytestmark = pytest.mark.django_db
PRODUCT_LINK = re.compile(r'href="/products/([^/"?]+)/')


@pytest.fixture(autouse=True)
def _clean_cache(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "DIVERSITY": 0.0, "WIDGET_SIZE": 4}
    cache.clear()
    yield
    cache.clear()


def section_slugs(html: str, heading: str) -> list[str]:
    """The product slugs linked in the shop section under ``<h2>heading</h2>``."""
    part = html.split(f"<h2>{heading}</h2>", 1)[1].split("</section>", 1)[0]
    return list(dict.fromkeys(PRODUCT_LINK.findall(part)))


def test_a_first_time_guest_sees_one_cold_start_row_and_no_repeats(client):
    world = build_world(14)
    for product in world.garden[:4]:  # the shop's best sellers are also trending
        OrderLineFactory(product=product, quantity=3)
    html = client.get("/").content.decode()
    shown = widgets_of(html)
    assert list(shown) == ["trending"]  # not a "for you" row of trending items above it
    best = section_slugs(html, "Best sellers")
    assert best == [p.slug for p in world.garden[:4]]
    on_page = [Product.objects.get(pk=pid).slug for pid in shown["trending"]] + best
    assert len(on_page) == len(set(on_page)) == 8


def test_for_you_needs_something_of_the_shoppers_own(client):
    world = build_world()
    lonely = ProductFactory(name="Kettle Lonely", category=world.kitchen[0].category)
    client.get(lonely.get_absolute_url())  # no neighbours: only category fill to offer
    assert list(widgets(client.get("/"))) == ["trending"]
    client.get(world.kitchen[0].get_absolute_url())  # its neighbours are the shopper's own
    assert list(widgets(client.get("/"))) == ["for-you", "trending"]


def widgets_of(html: str) -> dict[str, list[int]]:
    class Response:
        content = html.encode()

    return widgets(Response)


def test_one_plan_serves_a_page_without_repeats_in_claim_order(world_with_short_complements):
    world = world_with_short_complements
    kettle = world.kitchen[0]
    plan = recommend_page(
        Shopper(anonymous_id="b" * 32),
        ["similar", "bought-together", "also-viewed"],
        product=kettle,
        limit=4,
    )
    assert list(plan) == ["similar", "bought-together", "also-viewed"]
    ids = [pid for served in plan.values() for pid in served.product_ids]
    assert len(ids) == len(set(ids)) and kettle.pk not in ids
    assert not plan["bought-together"]  # two complements are not a row


@pytest.fixture
def world_with_short_complements():
    world = build_world()
    kettle = world.kitchen[0]
    RelatedProducts.objects.filter(product=kettle, kind="bought_together").update(
        product_ids=[world.kitchen[7].pk, world.kitchen[6].pk], scores=[1.0, 0.9]
    )
    return world


def test_a_bought_together_row_of_two_is_not_shown(client, world_with_short_complements):
    page = client.get(world_with_short_complements.kitchen[0].get_absolute_url())
    shown = widgets(page)
    assert "bought-together" not in shown and len(shown["similar"]) == 4


def test_one_reason_line_per_group_with_short_names(client):
    world = build_world(14)
    kettle = world.kitchen[0]
    Product.objects.filter(pk=kettle.pk).update(name="Hearth Electric Kettle 0, 1.7 L")
    html = client.get(kettle.get_absolute_url()).content.decode()
    assert html.count("Similar to Electric Kettle 0<") == 1  # not under each of 4 cards
    assert "Similar to Hearth" not in html and "1.7 L" not in html.split("rec-widget", 1)[1]


@pytest.mark.parametrize(
    ("name", "brand", "short"),
    [
        ("Northtone Q3 Portable Speaker", "Northtone", "Q3 Portable Speaker"),
        ("Brewline Conical Burr Grinder", "Brewline", "Conical Burr Grinder"),
        (
            "Roastwell Ethiopian Whole Bean Coffee, 250 g",
            "Roastwell",
            "Ethiopian Whole Bean Coffee",
        ),
        ("Lamp", "Lamp", "Lamp"),
        ("Acme " + "Extraordinarily Long Descriptive Product Name Here", "Acme", None),
    ],
)
def test_short_name(name, brand, short):
    got = short_name(name, brand)
    if short is None:
        assert got.endswith("…") and len(got) <= 33 and not got.startswith("Acme")
    else:
        assert got == short


def checkout_and_sign_up(client, product, on_commit) -> None:
    client.get(product.get_absolute_url())
    client.post(reverse("shop:cart_add", args=[product.pk]), {"quantity": 1})
    with on_commit(execute=True):  # the purchase is recorded once the order commits
        client.post(
            reverse("shop:checkout"),
            {"full_name": "Ada Lovelace", "email": "ada@example.com", "address": "1 High St"},
        )
    client.post(
        reverse("shop:signup"),
        {
            "username": "ada",
            "email": "ada@example.com",
            "password1": "a-long-Pass-phrase-9",
            "password2": "a-long-Pass-phrase-9",
        },
    )


def test_after_buying_for_you_says_bought_and_favours_complements(
    client, django_capture_on_commit_callbacks
):
    world = build_world(10)
    grinder = world.kitchen[0]  # its kitchen neighbours are substitutes
    RelatedProducts.objects.filter(product=grinder, kind="bought_together").update(
        product_ids=[p.pk for p in world.garden[:6]], scores=[1.0 - i / 10 for i in range(6)]
    )
    checkout_and_sign_up(client, grinder, django_capture_on_commit_callbacks)
    assert client.get(reverse("shop:cart")).context["lines"] == []  # bought: cart empty
    html = client.get("/").content.decode()
    shown = widgets(client.get("/"))
    kitchen = {p.pk for p in world.kitchen}
    assert shown["for-you"] and not kitchen & set(shown["for-you"]), shown
    assert "to your cart" not in html
    assert f"Because you bought {grinder.name}" in html


def test_purchase_demotion_spares_repeat_categories_and_ends(
    client, settings, django_capture_on_commit_callbacks
):
    world = build_world(10)
    grinder = world.kitchen[0]
    RelatedProducts.objects.filter(product=grinder, kind="bought_together").update(
        product_ids=[p.pk for p in world.garden[:6]], scores=[1.0 - i / 10 for i in range(6)]
    )
    shopper = None

    def for_you():
        plan = recommend_page(shopper, ["for-you", "trending"], limit=4)
        return set(plan["for-you"].product_ids)

    checkout_and_sign_up(client, grinder, django_capture_on_commit_callbacks)
    from django.contrib.auth import get_user_model

    shopper = Shopper.for_user(get_user_model().objects.get(username="ada"))
    kitchen = {p.pk for p in world.kitchen}
    demoted = for_you()
    assert not demoted & kitchen  # no substitutes: its complements (garden) instead
    for change in ({"REPEAT_CATEGORIES": ["kitchen"]}, {"PURCHASE_DEMOTE_DAYS": 0}):
        settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, **change}
        cache.clear()
        assert for_you() & kitchen, change
        settings.RECOMMENDATIONS = {
            **settings.RECOMMENDATIONS,
            "REPEAT_CATEGORIES": [],
            "PURCHASE_DEMOTE_DAYS": 14,
        }


def test_not_interested_says_what_it_hid(client):
    world = build_world()
    kettle = world.kitchen[0]
    client.get(world.kitchen[1].get_absolute_url())
    page = client.post(
        reverse("recommendations:not_interested", args=[kettle.pk]), {"next": "/"}, follow=True
    )
    html = page.content.decode()
    # its 7 kitchen neighbours (similar / also viewed) are demoted with it
    assert "Hidden “Kettle 0” and 7 similar products from your recommendations." in html
    Product.objects.filter(pk__in=[p.pk for p in world.kitchen[1:4]]).update(stock=0)
    page = client.post(
        reverse("recommendations:not_interested", args=[kettle.pk]), {"next": "/"}, follow=True
    )
    assert "and 4 similar products" in page.content.decode()  # only those still for sale


class TestQueriesPerPage:
    """Every widget of a page from one plan: one product-facts read, few queries."""

    @staticmethod
    def facts_reads(ctx) -> int:
        return sum(
            1
            for q in ctx.captured_queries
            if q["sql"].startswith("SELECT")
            and '"shop_product"."sku"' in q["sql"]
            and '"shop_product"."description"' not in q["sql"]  # the shop's own reads
        )

    def test_home(self, client, django_assert_max_num_queries):
        world = build_world(14)
        client.force_login(world.user)
        client.get(world.kitchen[0].get_absolute_url())
        client.get("/")
        with django_assert_max_num_queries(13):
            home = client.get("/")
        assert list(widgets(home)) == ["for-you", "trending"]
        with CaptureQueriesContext(connection) as ctx:
            client.get("/")
        assert self.facts_reads(ctx) <= 1

    def test_product(self, client, django_assert_max_num_queries):
        world = build_world(14)
        kettle = world.kitchen[0]
        client.get(kettle.get_absolute_url())
        with django_assert_max_num_queries(20):
            page = client.get(kettle.get_absolute_url())
        assert list(widgets(page)) == ["similar", "bought-together", "also-viewed"]
        with CaptureQueriesContext(connection) as ctx:
            client.get(kettle.get_absolute_url())
        assert self.facts_reads(ctx) == 1
