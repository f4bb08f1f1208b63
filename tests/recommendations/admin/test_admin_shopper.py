"""Per-shopper inspection page: search, served list beside the precomputed one, links."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from recommendations import tracking
from recommendations.admin.shopper import shopper_url
from recommendations.models import Impression, Interaction, UserRecommendations
from shop.models import Product
from tests.factories import InteractionFactory, UserFactory
from tests.paths import ROOT
from tests.recommendations.serving.serving_support import build_world

pytestmark = pytest.mark.django_db
URL = "admin:recommendations_shopper"


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def world():
    return build_world()


def test_refused_to_shoppers_visitors_and_staff_without_permission(client, world):
    url = reverse(URL)
    assert client.get(url).status_code == 302  # to the admin login
    client.force_login(UserFactory())
    assert "/admin/login/" in client.get(url)["Location"]
    client.force_login(UserFactory(is_staff=True))
    assert client.get(url).status_code == 403


def test_search_by_username_email_and_guest_id(staff, world):
    InteractionFactory(user=None, anonymous_id="guest0123456789", product=world.kitchen[0])
    for q in ("listed", "LISTED@example.com"):
        response = staff.get(reverse(URL), {"q": q})
        assert response.status_code == 200
        assert "user listed" in response.content.decode()
    html = staff.get(reverse(URL), {"q": "guest0123456789"}).content.decode()
    assert "guest guest0123456789" in html and "Kettle 0" in html
    html = staff.get(reverse(URL), {"q": "nobody-here"}).content.decode()
    assert "No user or guest matches" in html


def test_several_matches_are_listed_as_links(staff, world):
    other = UserFactory(username="other", email="shared@example.com")
    get_user_model().objects.filter(pk=world.user.pk).update(email="shared@example.com")
    html = staff.get(reverse(URL), {"q": "shared@example.com"}).content.decode()
    assert "Several shoppers match" in html
    assert shopper_url(other.pk).replace("&", "&amp;") in html


def test_served_list_beside_precomputed_marks_the_session_blend(staff, world):
    """A view of a kitchen product blends kitchen neighbours into a garden-first list."""
    user = world.user
    tracking.record_view(world.kitchen[3], user=user)
    before = Interaction.objects.count()
    response = staff.get(shopper_url(user.pk))
    assert response.status_code == 200
    assert Interaction.objects.count() == before  # an operator's look is no impression
    rows = response.context["rows"]
    served = response.context["served"]
    assert served.version_id == world.version.pk
    assert [r.product_id for r in rows if r.rank] == served.product_ids
    blended = [r for r in rows if r.origin == "blended from recent products"]
    assert blended and all("Kettle 3" in r.reason for r in blended)
    assert any(r.origin == "precomputed" for r in rows)
    html = response.content.decode()
    assert f"version #{world.version.pk}" in html and "Because you viewed Kettle 3" in html
    # related lists of each product, by kind, of the serving version
    related = reverse("admin:recommendations_relatedproducts_changelist")
    first = rows[0]
    assert [label for label, _ in first.related] == ["Similar", "Bought together", "Also viewed"]
    page = staff.get(first.related[0][1])
    assert page.status_code == 200 and page.context["cl"].result_count == 1
    assert related in first.related[0][1]
    # the events table and the log link
    assert "View" in html and world.kitchen[3].name in html
    log = staff.get(response.context["log_url"])
    assert log.context["cl"].result_count == 1


def test_dropped_precomputed_items_are_listed(staff, world):
    bought = world.personal[0]
    tracking.record_event(product=bought, kind="purchase", user=world.user)
    rows = staff.get(shopper_url(world.user.pk)).context["rows"]
    dropped = [r for r in rows if r.origin == "dropped"]
    assert [r.product_id for r in dropped] == [bought.pk]
    assert dropped[0].precomputed_rank == 1


def test_widget_page_records_impressions_but_inspection_does_not(staff, world):
    """The same list through a shop page is noted as impressions; through the admin, not."""
    html = staff.get(shopper_url(world.user.pk)).content.decode()
    assert world.personal[0].name in html
    assert not Impression.objects.exists()
    shop = Client()
    shop.force_login(world.user)
    assert shop.get("/").status_code == 200
    assert Impression.objects.filter(user=world.user).exists()
    # the inspection page lists what the shop showed, each list in the order shown
    shown = staff.get(shopper_url(world.user.pk)).context["shown"]
    first = Impression.objects.filter(user=world.user).latest("pk")
    assert shown[0][0] == first
    assert [pid for pid, _ in shown[0][1]] == first.product_ids
    Product.objects.filter(pk=first.product_ids[0]).delete()
    html = staff.get(shopper_url(world.user.pk)).content.decode()
    assert f">#{first.product_ids[0]}</a>" in html  # deleted since: named by its id


def test_cold_start_guest_without_precomputed_list(staff, world):
    InteractionFactory(user=None, anonymous_id="newguest", product=world.garden[2])
    response = staff.get(shopper_url(None, "newguest"))
    assert response.status_code == 200
    assert response.context["precomputed"] is None
    assert "none (cold start)" in response.content.decode()
    assert not UserRecommendations.objects.filter(anonymous_id="newguest").exists()


def test_links_from_user_admin_and_event_log(staff, world):
    user = world.user
    change = reverse("admin:auth_user_change", args=[user.pk])
    html = staff.get(change).content.decode()
    assert shopper_url(user.pk) in html and "Inspect this shopper" in html
    html = staff.get(reverse("admin:auth_user_changelist")).content.decode()
    assert shopper_url(user.pk) in html
    assert staff.get(reverse("admin:auth_user_add")).status_code == 200
    InteractionFactory(user=None, anonymous_id="abcguest", product=world.garden[0])
    InteractionFactory(user=user, product=world.garden[0])
    html = staff.get(reverse("admin:recommendations_interaction_changelist")).content.decode()
    assert shopper_url(None, "abcguest") in html and shopper_url(user.pk) in html


def test_user_admin_gets_the_link_whatever_the_app_order(tmp_path):
    """The shopper link must not depend on auth's admin being imported before ours."""
    (tmp_path / "recommendations_first.py").write_text(
        "from config.settings import *  # noqa: F403\n"
        "INSTALLED_APPS = ['recommendations', "
        "*[a for a in INSTALLED_APPS if a != 'recommendations']]  # noqa: F405\n"
    )
    code = (
        "import django; django.setup()\n"
        "from django.contrib import admin\n"
        "from django.contrib.auth import get_user_model\n"
        "print(type(admin.site.get_model_admin(get_user_model())).__name__)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "recommendations_first"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    root = ROOT
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ShopperUserAdmin"


@pytest.mark.parametrize(
    "params",
    [
        {"q": "list\x00ed"},
        {"q": "\x00"},
        {"q": "listed\r\n\x1b"},
        {"guest": "guest\x000123456789"},
        {"user": "²"},
        {"user": "9" * 30},
    ],
)
def test_control_characters_and_odd_ids_are_not_an_error(staff, world, params):
    """NUL cannot be sent to PostgreSQL: control characters are dropped before searching."""
    response = staff.get(reverse(URL), params)
    assert response.status_code == 200
    if params.get("q", "").startswith("list"):
        assert "user listed" in response.content.decode()
