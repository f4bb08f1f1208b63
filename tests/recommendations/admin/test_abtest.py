"""A/B tests on live traffic: a challenger precomputed beside the active version, a stable
split by shopper, attribution of impressions, clicks and orders to the arm that served
them, and the admin's start / promote / stop leaving no orphan rows."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from recommendations import online, registry
from recommendations.admin.shopper import shopper_url
from recommendations.models import (
    ABTest,
    Impression,
    Interaction,
    ModelVersion,
    RelatedProducts,
    UserRecommendations,
)
from recommendations.serving import Shopper, recommend
from recommendations.training import pipeline, precompute, promotion
from shop.models import Order, Product
from tests.factories import UserFactory
from tests.recommendations.admin.admin_support import CHANGELIST, act, train_two_versions
from tests.recommendations.training.pipeline_support import seed_log
from tests.shop.test_checkout import DETAILS, fill_cart

pytestmark = pytest.mark.django_db
Status = ModelVersion.Status
ABStatus = ABTest.Status
PAGE = "admin:recommendations_modelversion_abtest"


@pytest.fixture
def staff(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def seeded():
    return seed_log()


@pytest.fixture
def two_runs(seeded):
    """An active cooccurrence version and a retired popularity one before it."""
    return train_two_versions()


def rows_of(version: ModelVersion) -> int:
    return (
        UserRecommendations.objects.filter(version=version).count()
        + RelatedProducts.objects.filter(version=version).count()
    )


def orphan_rows() -> int:
    """Precomputed rows of versions that serve nobody and are kept for no rollback."""
    kept = (Status.ACTIVE, Status.RETIRED, Status.CHALLENGER)
    return (
        UserRecommendations.objects.exclude(version__status__in=kept).count()
        + RelatedProducts.objects.exclude(version__status__in=kept).count()
    )


def running(staff, challenger: ModelVersion, settings, share: float = 0.5) -> ABTest:
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "AB_SHARE": share}
    messages = act(staff, "start_ab_test", challenger)
    assert len(messages) == 1 and messages[0].endswith("is running."), messages  # one banner
    return ABTest.objects.get(status=ABStatus.RUNNING)


# ---------------------------------------------------------------- the split


def test_split_is_stable_per_shopper_and_close_to_the_share():
    arm = registry.in_challenger_arm
    users = range(1, 4001)
    first = [arm(7, 0.3, u) for u in users]
    assert first == [arm(7, 0.3, u) for u in users]  # stable, call after call
    assert 0.27 < sum(first) / len(first) < 0.33
    # a larger share keeps everyone already in the challenger arm
    assert all(arm(7, 0.6, u) for u, inside in zip(users, first, strict=True) if inside)
    # another test reshuffles shoppers; guests are split too; nobody is always control
    assert first != [arm(8, 0.3, u) for u in users]
    guests = [arm(7, 0.5, None, f"guest{i:04d}") for i in range(2000)]
    assert 0.45 < sum(guests) / len(guests) < 0.55
    assert not arm(7, 1.0, None, "") and arm(7, 1.0, 5) and not arm(7, 0.0, 5)


# ---------------------------------------------------------------- start from the admin


def test_start_precomputes_the_challenger_beside_the_active_one(staff, two_runs, settings):
    first, second = two_runs
    test = running(staff, first, settings)
    first.refresh_from_db()
    assert first.status == Status.CHALLENGER and rows_of(first) > 0
    assert registry.active_version().pk == second.pk  # never replaced
    assert (test.challenger_id, test.control_id, test.share) == (first.pk, second.pk, 0.5)
    assert test.running_since is not None
    # every shopper is served by the version of their arm, on the real serving path
    for user in UserFactory._meta.model.objects.filter(username__startswith="seeded"):
        expected = first.pk if registry.in_challenger_arm(test.pk, 0.5, user.pk) else second.pk
        assert recommend(Shopper(user_id=user.pk), "for-you", limit=5).version_id == expected
        assert registry.serving_version_for(user.pk).pk == expected


def test_start_is_refused_for_the_active_version_and_while_a_test_is_live(
    staff, two_runs, settings
):
    first, second = two_runs
    assert any("is the active version" in m for m in act(staff, "start_ab_test", second))
    running(staff, first, settings)
    third = ModelVersion.objects.create(algorithm="popularity", status=Status.EVALUATED)
    assert any("stop it first" in m for m in act(staff, "start_ab_test", third))
    assert ABTest.objects.count() == 1


def test_start_refits_an_evaluated_candidate_without_artifact(staff, seeded, settings):
    run = pipeline.run_pipeline(algorithms=["popularity", "content"], sync=True, force=True)
    loser = next(v for v in run.versions if v.pk != run.winner.pk)
    loser.refresh_from_db()
    assert loser.status == Status.EVALUATED
    running(staff, loser, settings)
    loser.refresh_from_db()
    assert loser.status == Status.CHALLENGER and registry.has_artifact(loser)
    assert registry.active_version().pk == run.winner.pk


def test_a_failed_challenger_precompute_stops_its_test(staff, two_runs, monkeypatch):
    first, second = two_runs

    def boom(*args):
        raise RuntimeError("chunk failed")

    monkeypatch.setattr(precompute, "precompute_chunk", boom)
    messages = act(staff, "start_ab_test", first)
    test = ABTest.objects.get()
    first.refresh_from_db()
    assert test.status == ABStatus.STOPPED and "failed" in test.notes, messages
    assert len(messages) == 1 and " ended: " in messages[0], messages
    assert first.status == Status.FAILED and rows_of(first) == 0
    assert registry.active_version().pk == second.pk


def test_a_test_stopped_while_precomputing_leaves_no_rows(two_runs):
    first, _ = two_runs
    test = registry.start_ab_test(first.pk, 0.5)
    registry.stop_ab_test(test.pk)
    assert promotion.start_challenger(test.pk, sync=True).status == Status.RETIRED  # no-op
    # a chord already under way when the test was stopped finishes afterwards:
    version = precompute.start_precompute(first.pk, sync=True, activate=False)
    assert version.status == Status.EVALUATED and rows_of(first) == 0
    assert registry.running_test() is None


# ---------------------------------------------------------------- attribution


def test_impressions_clicks_and_orders_are_attributed_to_the_arm_that_served_them(
    staff, two_runs, settings
):
    """Constructed traffic through the shop's pages: home (impressions), a widget link
    (view + credited click), checkout (order); online.py's figures per arm match."""
    first, second = two_runs
    test = running(staff, first, settings)
    expected = {first.pk: [0, 0, 0], second.pk: [0, 0, 0]}  # impressions, clicks, orders
    shoppers = list(UserFactory._meta.model.objects.filter(username__startswith="seeded"))[:16]
    for n, user in enumerate(shoppers):
        arm = first.pk if registry.in_challenger_arm(test.pk, test.share, user.pk) else second.pk
        browser = Client()
        browser.force_login(user)
        assert browser.get("/").status_code == 200
        if n % 2:  # every other shopper follows a recommendation and buys it
            target = Impression.objects.filter(user=user).earliest("pk")
            product = Product.objects.get(pk=target.product_ids[0])
            page = f"{product.get_absolute_url()}?src={target.source}"
            assert browser.get(page).status_code == 200  # the product page shows widgets too
            expected[arm][1] += 1
            fill_cart(browser, (product, 1))
            form = browser.get(reverse("shop:checkout")).context["cart_token"]
            response = browser.post(reverse("shop:checkout"), {**DETAILS, "cart_token": form})
            assert response.status_code == 302
            expected[arm][2] += 1
        shown = Impression.objects.filter(user=user)
        assert shown.exists()
        assert set(shown.values_list("model_version_id", flat=True)) == {arm}  # every page
        expected[arm][0] += sum(shown.values_list("size", flat=True))
    assert all(expected[v][0] for v in expected), "both arms must have shoppers"
    assert Order.objects.count() == sum(e[2] for e in expected.values())
    clicks = Interaction.objects.filter(kind="click")
    assert {c.model_version_id for c in clicks} <= {first.pk, second.pk}
    arms, _ = online.online_results(test.running_since, versions=[first.pk, second.pk])
    found = {arm.version_id: [arm.impressions, arm.clicks, arm.orders] for arm in arms}
    assert found == {pk: e for pk, e in expected.items() if any(e)}
    html = staff.get(reverse(PAGE)).content.decode()
    assert f"control #{second.pk}" in html and f"challenger #{first.pk}" in html
    assert "CTR % [95% CI]" in html and "Promote challenger" in html and "Stop test" in html


# ---------------------------------------------------------------- promote and stop


def test_stop_deletes_the_challengers_lists_and_serves_everyone_the_active(
    staff, two_runs, settings
):
    first, second = two_runs
    test = running(staff, first, settings, share=1.0)
    assert recommend(Shopper(user_id=1), "for-you", limit=3).version_id == first.pk
    response = staff.post(reverse(PAGE), {"action": "stop", "test": test.pk}, follow=True)
    assert "stopped" in response.content.decode()
    test.refresh_from_db()
    first.refresh_from_db()
    assert test.status == ABStatus.STOPPED and test.stopped is not None
    assert first.status == Status.EVALUATED and rows_of(first) == 0
    assert orphan_rows() == 0
    assert recommend(Shopper(user_id=1), "for-you", limit=3).version_id == second.pk
    # a stopped test cannot be stopped or promoted again
    response = staff.post(reverse(PAGE), {"action": "promote", "test": test.pk}, follow=True)
    assert "only a running test" in response.content.decode()


def test_promote_makes_the_challenger_active_and_ends_the_test(staff, two_runs, settings):
    first, second = two_runs
    test = running(staff, first, settings, share=0.2)
    response = staff.post(reverse(PAGE), {"action": "promote", "test": test.pk}, follow=True)
    assert f"#{first.pk} is now active" in response.content.decode()
    test.refresh_from_db()
    second.refresh_from_db()
    assert test.status == ABStatus.PROMOTED and test.stopped is not None
    assert registry.active_version().pk == first.pk and second.status == Status.RETIRED
    assert registry.running_test() is None and orphan_rows() == 0
    assert recommend(Shopper(user_id=1), "for-you", limit=3).version_id == first.pk


def test_ab_page_is_for_staff_and_changes_need_the_change_permission(client, two_runs, settings):
    first, _ = two_runs
    assert client.get(reverse(PAGE)).status_code == 302
    client.force_login(UserFactory())
    assert "/admin/login/" in client.get(reverse(PAGE))["Location"]
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_modelversion"))
    client.force_login(viewer)
    html = client.get(reverse(PAGE)).content.decode()
    assert "No A/B test yet" in html
    test = registry.start_ab_test(first.pk, 0.5)
    html = client.get(reverse(PAGE)).content.decode()
    assert f"A/B test #{test.pk}" in html and "Stop test" not in html
    assert "no data" in html and "[0.00, 0.00]" not in html  # no impression yet
    assert client.post(reverse(PAGE), {"action": "stop", "test": test.pk}).status_code == 403
    test.refresh_from_db()
    assert test.live
    client.force_login(UserFactory(is_staff=True))
    assert client.get(reverse(PAGE)).status_code == 403


def test_changelist_links_to_the_ab_page(staff):
    html = staff.get(reverse(CHANGELIST)).content.decode()
    assert reverse(PAGE) in html


def test_shopper_page_names_the_arm(staff, two_runs, settings):
    first, _ = two_runs
    test = running(staff, first, settings, share=1.0)
    user = UserFactory._meta.model.objects.get(username="seeded0")
    html = staff.get(shopper_url(user.pk)).content.decode()
    assert f"A/B test #{test.pk}: <strong>challenger</strong> arm" in html
    assert f"version #{first.pk}" in html


def test_the_refresh_between_retrains_covers_both_arms(staff, two_runs, seeded, settings):
    """New behaviour reaches the challenger's lists too, or the control would be fresher."""
    first, second = two_runs
    running(staff, first, settings)
    user = seeded["users"][0]
    other = seeded["groups"][1][0]
    Interaction.objects.create(user=user, product=other, kind="view", created=timezone.now())
    before = {
        v.pk: UserRecommendations.objects.get(version=v, user=user).pk for v in (first, second)
    }
    assert precompute.refresh_recent_users() >= 2
    for version in (first, second):
        version.refresh_from_db()
        assert version.refreshed is not None
        row = UserRecommendations.objects.get(version=version, user=user)
        assert row.pk != before[version.pk]  # rewritten
