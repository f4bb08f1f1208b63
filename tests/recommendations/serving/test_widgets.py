"""The widgets on real pages: markup, reasons, impressions, clicks, "not interested",
the kill switch, query counts, and the browsing-history pages."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from recommendations.models import Impression, Interaction, UserRecommendations
from shop.shoppers import SHOPPER_ID_KEY
from tests.recommendations.serving.serving_support import build_world
from tests.shop.browsers import SEEN_COOKIE, returning

pytestmark = pytest.mark.django_db
WIDGET = re.compile(r'data-widget="([a-z-]+)"')
ITEM = re.compile(r'data-product="(\d+)"')


@pytest.fixture(autouse=True)
def _clean_cache(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "DIVERSITY": 0.0, "WIDGET_SIZE": 4}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _returning_browser(client):
    """Guests here browse as browsers that keep cookies (crawlers: tests/shop/test_shoppers.py)."""
    returning(client)


@pytest.fixture
def world():
    return build_world()


def widgets(response) -> dict[str, list[int]]:
    """data-widget -> the data-product ids inside it, in order."""
    html = response.content.decode()
    out = {}
    parts = re.split(r'(?=<section class="section rec-widget")', html)
    for part in parts[1:]:
        name = WIDGET.search(part).group(1)
        out[name] = [int(x) for x in ITEM.findall(part.split("</section>")[0])]
    return out


def test_home_product_and_cart_widgets_render_with_reasons(client):
    world = build_world(14)  # enough kitchen products for three distinct product widgets
    guest = widgets(client.get("/"))
    assert list(guest) == ["trending"] and len(guest["trending"]) == 4  # one cold-start row
    client.force_login(world.user)
    home = client.get("/")
    shown = widgets(home)
    assert list(shown) == ["for-you", "trending"]
    assert all(len(v) == 4 for v in shown.values())
    assert not set(shown["for-you"]) & set(shown["trending"])  # no repeats on a page
    html = home.content.decode()
    assert "Recommended for you" in html and "Trending now" in html
    assert f"?src=rec%3Afor-you%3Av{world.version.pk}" in html
    assert html.count("Popular in Garden") == 1  # one line over the four it explains
    assert "Best sellers" in html or "New arrivals" in html
    client.logout()

    kettle = world.kitchen[0]
    page = client.get(kettle.get_absolute_url())
    shown = widgets(page)
    assert list(shown) == ["similar", "bought-together", "also-viewed"]
    html = page.content.decode()
    assert html.count(f"Similar to {kettle.name}") == 1
    assert f"Bought together with {kettle.name}" in html
    assert kettle.pk not in sum(shown.values(), [])

    assert widgets(client.get(reverse("shop:cart"))) == {}  # empty cart: no widget
    client.post(reverse("shop:cart_add", args=[kettle.pk]), {"quantity": 1})
    cart = client.get(reverse("shop:cart"))
    assert list(widgets(cart)) == ["complete-order"]
    assert f"Bought together with {kettle.name}" in cart.content.decode()


def test_empty_widget_is_not_rendered(client, world):
    from recommendations.models import RelatedProducts

    RelatedProducts.objects.filter(kind="bought_together").delete()
    shown = widgets(client.get(world.kitchen[0].get_absolute_url()))
    assert "bought-together" not in shown and "similar" in shown


def test_viewing_three_products_changes_the_home_list(client, world):
    before = widgets(client.get("/")).get("for-you", [])
    for product in world.kitchen[:3]:
        client.get(product.get_absolute_url())
    home = client.get("/")
    after = widgets(home)["for-you"]
    assert after != before
    assert f"Because you viewed {world.kitchen[2].name}" in home.content.decode()


def test_out_of_stock_in_the_admin_disappears_on_the_next_page(client, world, admin_client):
    first = widgets(client.get("/"))["trending"][0]
    from shop.models import Product

    product = Product.objects.get(pk=first)
    data = {
        f.name: getattr(product, f.attname)
        for f in Product._meta.fields
        if f.editable and f.name not in ("id",)
    }
    data.update(stock=0, category=product.category_id)
    admin_client.post(reverse("admin:shop_product_change", args=[product.pk]), data)
    product.refresh_from_db()
    assert product.stock == 0
    for name, items in widgets(client.get("/")).items():
        assert first not in items, name


def test_kill_switch_renders_nothing_and_queries_nothing(
    client, world, settings, django_assert_num_queries
):
    client.get("/")
    client.get("/")
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "WIDGETS": False}
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as off:
        response = client.get("/")
    assert widgets(response) == {} and "data-widget" not in response.content.decode()
    assert not any("recommendations_" in q["sql"] for q in off.captured_queries)
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "WIDGETS": True}
    with CaptureQueriesContext(connection) as on:
        client.get("/")
    assert len(on.captured_queries) > len(off.captured_queries)


class TestQueryCounts:
    """A fixed number of queries per page, whatever the list length (no query per item)."""

    def counts(self, client, world, settings, size):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "WIDGET_SIZE": size}
        kettle = world.kitchen[0]
        out = {}
        for name, url in (
            ("home", "/"),
            ("product", kettle.get_absolute_url()),
            ("cart", reverse("shop:cart")),
        ):
            client.get(url)  # warm the caches (a view invalidates the shopper's state)
            with CaptureQueriesContext(connection) as ctx:
                client.get(url)
            out[name] = len(ctx.captured_queries)
        return out

    def test_pages(self, client, world, settings, django_assert_max_num_queries):
        client.post(reverse("shop:cart_add", args=[world.garden[7].pk]), {"quantity": 1})
        for product in world.kitchen[:3]:
            client.get(product.get_absolute_url())
        small = self.counts(client, world, settings, 2)
        large = self.counts(client, world, settings, 8)
        # The same fixed number whatever the size (an emptied widget may save its read).
        assert large["home"] == small["home"] and large["cart"] == small["cart"]
        assert large["product"] <= small["product"]
        # home: the shop's 5 + the page's facts (one query for all its widgets; the cards
        # are made from them) + the impression insert (with its savepoint pair here, and
        # SET LOCAL on PostgreSQL)
        assert large["home"] <= 13, large
        # product: the shop's + its view (the shopper's cached state is updated, not
        # rebuilt), the page's facts with the new products of its category (1), the
        # impression insert
        assert small["product"] <= 20, small
        assert large["cart"] <= 9, large
        with django_assert_max_num_queries(13):
            client.get("/")


class TestImpressionsAndClicks:
    def test_one_insert_per_page_with_version_and_source(self, client, world):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client.get(world.kitchen[0].get_absolute_url())  # something to recommend for
        client.get("/")
        Impression.objects.all().delete()
        with CaptureQueriesContext(connection) as ctx:
            home = client.get("/")
        inserts = [q for q in ctx.captured_queries if q["sql"].startswith(("INSERT", "COPY"))]
        assert len(inserts) == 1
        shown = widgets(home)
        rows = Impression.objects.all()  # a row per widget, its products in order
        guest = client.session[SHOPPER_ID_KEY]
        assert {r.source: r.product_ids for r in rows} == {
            f"rec:for-you:v{world.version.pk}": shown["for-you"],
            f"rec:trending:v{world.version.pk}": shown["trending"],
        }
        assert [r.size for r in rows] == [len(r.product_ids) for r in rows]
        assert {(r.anonymous_id, r.model_version_id) for r in rows} == {(guest, world.version.pk)}

    def test_written_when_the_response_is_closed_with_the_guest_id_set_before(self, world):
        from django.contrib.auth.models import AnonymousUser
        from django.contrib.sessions.backends.db import SessionStore
        from django.core.signals import request_finished
        from django.db import close_old_connections
        from django.http import HttpResponse
        from django.test import RequestFactory

        from recommendations.middleware import ImpressionMiddleware, note_impressions

        request = RequestFactory().get("/")
        request.COOKIES[SEEN_COOKIE] = "1"  # a browser that keeps cookies
        request.user, request.session = AnonymousUser(), SessionStore()
        pids = [p.pk for p in world.kitchen[:3]]

        def view(request):
            note_impressions(request, world.version.pk, "rec:trending:v1", pids)
            return HttpResponse("page")

        response = ImpressionMiddleware(view)(request)
        guest = request.session[SHOPPER_ID_KEY]  # set before the session is saved
        assert not Impression.objects.exists()  # page not sent yet
        # the server has sent the page (without request_finished's connection closing,
        # as the test client does: the test's transaction holds the connection)
        request_finished.disconnect(close_old_connections)
        try:
            response.close()
        finally:
            request_finished.connect(close_old_connections)
        row = Impression.objects.get(anonymous_id=guest)
        assert (row.product_ids, row.source) == (pids, "rec:trending:v1")

    def test_following_a_link_records_a_credited_click(self, client, world):
        client.force_login(world.user)
        home = client.get("/")
        pid = widgets(home)["for-you"][0]
        link = re.search(r'href="(/products/[^"]+\?src=[^"]+)"', home.content.decode()).group(1)
        assert "rec%3Afor-you%3Av" in link
        client.get(link)
        mine = Interaction.objects.filter(user=world.user)
        click = mine.get(kind="click")
        view = mine.get(kind="view")
        assert click.product_id == view.product_id == pid
        assert click.model_version_id == view.model_version_id == world.version.pk

    def test_a_forged_src_is_not_credited(self, client, world):
        client.get("/")  # impressions exist, but not of this product
        never_shown = world.kitchen[7]
        client.get(never_shown.get_absolute_url() + f"?src=rec:forged:v{world.version.pk}")
        view = Interaction.objects.get(kind="view", anonymous_id=client.session[SHOPPER_ID_KEY])
        assert view.model_version_id is None
        assert not Interaction.objects.filter(kind="click").exists()


def test_not_interested_hides_the_item_from_the_next_page(world):
    client = returning(Client(enforce_csrf_checks=True))  # a browser that keeps cookies
    client.get(world.kitchen[0].get_absolute_url())  # a guest with something to go on
    home = client.get("/")
    html = home.content.decode()
    pid = widgets(home)["for-you"][0]
    form = re.search(
        rf'<form class="rec-dismiss" action="([^"]+/{pid}/)" method="post">'
        r'<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)">',
        html,
    )
    assert form, "for-you items carry a Not interested form with a CSRF token"
    assert client.post(form.group(1), {"next": "/"}).status_code == 403  # no token
    response = client.post(form.group(1), {"next": "/", "csrfmiddlewaretoken": form.group(2)})
    assert response.status_code == 302 and response["Location"] == "/"
    mark = Interaction.objects.get(kind="not_interested")
    assert mark.product_id == pid and mark.anonymous_id == client.session[SHOPPER_ID_KEY]
    after = widgets(client.get("/"))
    assert pid not in after["for-you"] and pid not in after["trending"]
    assert 'class="rec-dismiss"' not in str(client.get(world.kitchen[0].get_absolute_url()).content)


class TestPrivacy:
    def test_history_page_and_clearing(self, client, world):
        user = world.user
        client.force_login(user)
        for product in world.kitchen[:3]:
            client.get(product.get_absolute_url())
        home = client.get("/")
        assert 'href="/account/history/"' in home.content.decode()
        page = client.get(reverse("recommendations:history"))
        html = page.content.decode()
        assert "Your browsing history" in html and world.kitchen[2].name in html
        assert html.count("<tr data-product=") == 3
        confirm = client.get(reverse("recommendations:clear_history"))
        assert "Yes, clear my history" in confirm.content.decode()
        assert Interaction.objects.filter(user=user, kind="view").count() == 3  # not yet
        client.post(reverse("recommendations:clear_history"))
        assert not Interaction.objects.filter(user=user).exists()
        assert not UserRecommendations.objects.filter(user=user).exists()
        after = client.get("/").content.decode()
        assert "Because you viewed" not in after and "Popular in Garden" not in after

    def test_history_is_paginated(self, client, world):
        client.force_login(world.user)
        Interaction.objects.bulk_create(
            Interaction(user=world.user, product=world.garden[0], kind="view", created=p.created)
            for p in world.kitchen * 4
        )
        html = client.get(reverse("recommendations:history")).content.decode()
        assert html.count("<tr data-product=") == 25 and "Page 1 of 2" in html

    def test_a_guest_can_clear_this_sessions_history(self, client, world):
        client.get(world.kitchen[0].get_absolute_url())
        guest = client.session[SHOPPER_ID_KEY]
        assert Interaction.objects.filter(anonymous_id=guest).exists()
        client.post(reverse("recommendations:clear_history"))
        assert not Interaction.objects.filter(anonymous_id=guest).exists()
        assert "Because you viewed" not in client.get("/").content.decode()


def test_cards_escape_what_they_show(world):
    from recommendations.serving import Served, ServedItem
    from recommendations.templatetags.recommendation_tags import cards

    product = world.kitchen[0]
    product.name, product.brand = "<b>\"Kettle\" & 'Co'</b>", "<i>Hearth</i>"
    served = Served("for-you", 1, [ServedItem(product, 1.0, "Because <you> viewed")])
    html = cards(served, csrf="", dismiss_next='/?q="x"', not_interested=True)
    assert "<b>" not in html and "<i>" not in html and "<you>" not in html
    assert "&lt;b&gt;&quot;Kettle&quot; &amp; &#x27;Co&#x27;&lt;/b&gt;" in html
    assert 'value="/?q=&quot;x&quot;"' in html and "Because &lt;you&gt; viewed" in html
