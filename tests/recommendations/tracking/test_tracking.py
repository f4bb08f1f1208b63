"""Behaviour log: shop signals and login -> Interaction rows, failures never break a page."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth import login
from django.db import connection
from django.db.models.signals import pre_save
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse

from recommendations import tracking
from recommendations.models import Impression, Interaction, ModelVersion
from recommendations.serving import Shopper
from shop import signals
from shop.models import Product
from shop.shoppers import SHOPPER_ID_KEY
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory, UserFactory
from tests.shop.browsers import guest_request, returning

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Factories hash passwords; the default hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _url_exists(name: str, *args) -> bool:
    try:
        reverse(name, args=args)
    except NoReverseMatch:
        return False
    return True


needs_shop_views = pytest.mark.skipif(
    not _url_exists("shop:product", "x"), reason="shop:product view not written yet"
)


@pytest.fixture
def anon_request(rf: RequestFactory):
    """A request with a saved anonymous session and shopper id, as the shop sends."""
    return guest_request(rf.get("/"))


def _send_view(request, product, user=None, source=""):
    signals.product_viewed.send(
        sender="test",
        request=request,
        user=user,
        anonymous_id=request.session[SHOPPER_ID_KEY] if request else None,
        product=product,
        source=source,
    )


class TestSignals:
    def test_view_lands_once(self, anon_request):
        product = ProductFactory()
        _send_view(anon_request, product, source="home:for-you")
        row = Interaction.objects.get()
        assert (row.kind, row.product, row.user, row.quantity) == ("view", product, None, 1)
        assert row.anonymous_id == anon_request.session[SHOPPER_ID_KEY]
        assert row.anonymous_id != anon_request.session.session_key
        assert row.source == "home:for-you"

    def test_add_to_cart_lands_once_with_quantity(self, anon_request):
        user = UserFactory()
        product = ProductFactory()
        signals.product_added_to_cart.send(
            sender="test",
            request=anon_request,
            user=user,
            anonymous_id="abc",
            product=product,
            quantity=3,
            source="",
        )
        row = Interaction.objects.get()
        assert (row.kind, row.user, row.quantity, row.anonymous_id) == ("cart", user, 3, "")

    def test_order_gives_one_purchase_per_line_and_resending_adds_nothing(self):
        order = OrderFactory()
        lines = [OrderLineFactory(order=order, quantity=q) for q in (1, 4)]
        for _ in range(2):  # a resent signal must not double the purchases
            signals.order_placed.send(
                sender="test", request=None, user=order.user, anonymous_id="s1", order=order
            )
        rows = Interaction.objects.filter(kind="purchase").order_by("quantity")
        assert [(r.product_id, r.quantity) for r in rows] == [
            (lines[0].product_id, 1),
            (lines[1].product_id, 4),
        ]
        assert {(r.user_id, r.basket, r.anonymous_id) for r in rows} == {
            (order.user_id, str(order.pk), "")  # signed-in: identified by user only
        }

    def test_guest_order_uses_the_orders_anonymous_id(self):
        order = OrderFactory(user=None, anonymous_id="guest-id")
        OrderLineFactory(order=order)
        signals.order_placed.send(
            sender="test", request=None, user=None, anonymous_id=None, order=order
        )
        row = Interaction.objects.get()
        assert (row.user, row.anonymous_id) == (None, "guest-id")

    def test_view_from_a_recommendation_carries_its_version(self, anon_request):
        version = ModelVersion.objects.create(algorithm="popularity")
        shown, forged = ProductFactory(), ProductFactory()
        guest = anon_request.session[SHOPPER_ID_KEY]
        tracking.write_impressions((None, guest), [(version.pk, "rec:for-you", [shown.pk])])
        _send_view(anon_request, shown, source=f"rec:for-you:v{version.pk}")
        # Never shown to this shopper: a forged src credits nothing.
        _send_view(anon_request, forged, source=f"rec:for-you:v{version.pk}")
        _send_view(anon_request, ProductFactory(), source="rec:home:v999999")  # unknown
        views = Interaction.objects.filter(kind="view").order_by("id")
        assert [r.model_version_id for r in views] == [version.pk, None, None]
        click = Interaction.objects.get(kind="click")
        assert (click.product, click.model_version_id, click.anonymous_id) == (
            shown,
            version.pk,
            guest,
        )


class TestLogin:
    def test_anonymous_history_is_attached_at_login(self, anon_request):
        user = UserFactory()
        mine, theirs = ProductFactory(), ProductFactory()
        _send_view(anon_request, mine)
        _send_view(anon_request, mine)
        Interaction.objects.create(  # another anonymous shopper's view stays theirs
            anonymous_id="someone-else", product=theirs, kind="view", created=mine.created
        )
        anon_key = anon_request.session.session_key

        login(anon_request, user)  # the real login: cycles the session key

        assert anon_request.session.session_key != anon_key
        assert Interaction.objects.filter(user=user, product=mine, anonymous_id="").count() == 2
        assert Interaction.objects.get(product=theirs).user is None
        assert SHOPPER_ID_KEY not in anon_request.session

    def test_login_without_anonymous_history_changes_nothing(self, anon_request):
        other = ProductFactory()
        Interaction.objects.create(
            anonymous_id="someone-else", product=other, kind="view", created=other.created
        )
        login(anon_request, UserFactory())
        assert Interaction.objects.filter(user__isnull=False).count() == 0


class TestFailures:
    def test_database_error_is_logged_and_the_connection_stays_usable(self, anon_request, caplog):
        product = ProductFactory()
        with caplog.at_level(logging.ERROR, logger="recommendations.receivers"):
            # quantity -1 violates the PositiveIntegerField CHECK constraint in the DB
            signals.product_added_to_cart.send(
                sender="test",
                request=anon_request,
                user=None,
                anonymous_id="s",
                product=product,
                quantity=-1,
                source="",
            )
        assert "could not record" in caplog.text
        assert Interaction.objects.count() == 0  # the savepoint rolled back, queries work
        _send_view(anon_request, product)
        assert Interaction.objects.count() == 1

    def test_unsaved_product_is_logged_not_raised(self, anon_request, caplog):
        with caplog.at_level(logging.ERROR, logger="recommendations.receivers"):
            _send_view(anon_request, Product(sku="never-saved", name="Ghost"))
        assert "could not record on_product_viewed" in caplog.text
        assert Interaction.objects.count() == 0

    @needs_shop_views
    @pytest.mark.django_db(transaction=True)
    def test_product_page_renders_when_recording_fails(self, client, caplog):
        """The product row vanishes mid-request: the insert fails at commit, the page lives."""
        product = ProductFactory()

        def delete_product(sender, instance, **kwargs):
            Product.objects.filter(pk=instance.product_id).delete()

        pre_save.connect(delete_product, sender=Interaction)
        try:
            with caplog.at_level(logging.ERROR, logger="recommendations.receivers"):
                response = client.get(reverse("shop:product", args=[product.slug]))
        finally:
            pre_save.disconnect(delete_product, sender=Interaction)
        assert response.status_code == 200
        assert product.name in response.content.decode()
        assert "could not record on_product_viewed" in caplog.text
        assert Interaction.objects.count() == 0
        assert connection.is_usable()


class TestRecommendationEvents:
    def test_impressions_are_one_row_per_list_with_the_version(self):
        user = UserFactory()
        version = ModelVersion.objects.create(algorithm="popularity")
        products = [p.pk for p in ProductFactory.create_batch(3)]
        shown = [(version.pk, "rec:for-you:v1", products), (None, "rec:trending", products[:1])]
        assert tracking.write_impressions((user, ""), [*shown, (None, "rec:empty", [])]) == 2
        rows = Impression.objects.order_by("pk")
        assert [(r.product_ids, r.size, r.source, r.model_version_id) for r in rows] == [
            (products, 3, "rec:for-you:v1", version.pk),
            (products[:1], 1, "rec:trending", None),
        ]
        assert {(r.user_id, r.anonymous_id) for r in rows} == {(user.pk, "")}
        assert not Interaction.objects.exists()

    def test_a_guests_lists_shown_move_to_the_account_at_login(self):
        user, version = UserFactory(), ModelVersion.objects.create(algorithm="popularity")
        product = ProductFactory()
        tracking.write_impressions((None, "guest-1"), [(version.pk, "rec:x", [product.pk])])
        tracking.attach_guest_history("guest-1", user)
        assert Impression.objects.get().user_id == user.pk
        # so a click after signing in is still credited to the version that showed it
        assert tracking.credited_version(f"rec:x:v{version.pk}", product.pk, user, "") == version.pk

    def test_clearing_a_history_deletes_what_the_shopper_was_shown(self):
        user, product = UserFactory(), ProductFactory()
        tracking.write_impressions((user, ""), [(None, "rec:x", [product.pk])])
        tracking.write_impressions((None, "guest-2"), [(None, "rec:x", [product.pk])])
        tracking.clear_history(Shopper(user_id=user.pk))
        assert list(Impression.objects.values_list("anonymous_id", flat=True)) == ["guest-2"]

    def test_click_by_product_id_for_an_anonymous_session(self, anon_request):
        product = ProductFactory()
        tracking.record_click(
            product.pk,
            anonymous_id=anon_request.session[SHOPPER_ID_KEY],
            model_version=None,
            source="product:related",
        )
        row = Interaction.objects.get()
        assert (row.kind, row.user, row.product) == ("click", None, product)
        assert row.anonymous_id == anon_request.session[SHOPPER_ID_KEY]


@needs_shop_views
class TestThroughShopViews:
    """The same events, sent by the real shop pages."""

    def test_view_cart_purchase_and_login(self, client, django_capture_on_commit_callbacks):
        returning(client)  # a browser that keeps cookies (crawlers: tests/shop/test_shoppers.py)
        product = ProductFactory(stock=10)
        response = client.get(reverse("shop:product", args=[product.slug]) + "?src=home:top")
        assert response.status_code == 200
        view = Interaction.objects.get(kind="view")
        assert (view.product, view.user, view.source) == (product, None, "home:top")

        response = client.post(
            reverse("shop:cart_add", args=[product.pk]), {"quantity": 2, "source": ""}
        )
        assert response.status_code == 302
        cart = Interaction.objects.get(kind="cart")
        assert (cart.quantity, cart.anonymous_id) == (2, view.anonymous_id)
        assert view.anonymous_id and view.anonymous_id != client.session.session_key

        user = UserFactory()
        # The real login form (force_login sends no browser cookies): history follows.
        response = client.post(
            reverse("shop:login"),
            {"username": user.username, "password": "correct-horse-battery"},
        )
        assert response.status_code == 302
        assert Interaction.objects.filter(user=user).count() == 2

        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("shop:checkout"),
                {"full_name": "A Shopper", "email": "a@example.com", "address": "1 Road"},
            )
        assert response.status_code == 302
        purchase = Interaction.objects.get(kind="purchase")
        assert (purchase.user, purchase.product, purchase.quantity) == (user, product, 2)
        assert Interaction.objects.count() == 3
