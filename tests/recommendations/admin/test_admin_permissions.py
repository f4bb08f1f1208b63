"""Who may change the live model from the admin: every action and button that changes
state needs the change permission on model versions; viewing is not enough."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from recommendations import registry
from recommendations.models import ABTest, ModelVersion
from recommendations.training import promotion
from tests.factories import UserFactory
from tests.recommendations.admin.admin_support import CHANGELIST, train_two_versions
from tests.recommendations.training.pipeline_support import seed_log

pytestmark = pytest.mark.django_db
Status = ModelVersion.Status
AB_PAGE = "admin:recommendations_modelversion_abtest"
PERMISSIONS = {
    "no permission": [],
    "view only": ["view_modelversion"],
    "change": ["view_modelversion", "change_modelversion"],
}


def state() -> tuple[list, list]:
    """Every version's and A/B test's status: what an action could change."""
    return (
        list(ModelVersion.objects.order_by("pk").values_list("pk", "status")),
        list(ABTest.objects.order_by("pk").values_list("pk", "status")),
    )


@pytest.fixture
def versions():
    """(retired popularity with its lists, active cooccurrence)."""
    seed_log()
    return train_two_versions()


def staff_with(client, codenames: list[str]):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def offered_actions(client) -> set[str]:
    response = client.get(reverse(CHANGELIST))
    if response.status_code != 200:
        return set()
    form = response.context["action_form"]
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def test_every_model_version_action_declares_the_change_permission():
    """A new action cannot slip in open to view-only staff."""
    model_admin = admin.site._registry[ModelVersion]
    for action in model_admin.actions:
        needed = "delete" if action.__name__ == "delete_selected" else "change"
        assert needed in getattr(action, "allowed_permissions", ()), action.__name__
    assert {*EFFECTS, "delete_selected"} == {action.__name__ for action in model_admin.actions}


# action -> what it does to (retired, active) when allowed
EFFECTS = {
    "promote": lambda first, second: registry.active_version().pk == first.pk,
    "force_promote": lambda first, second: registry.active_version().pk == first.pk,
    "rollback": lambda first, second: registry.active_version().pk == first.pk,
    "retrain": lambda first, second: ModelVersion.objects.count() == 3,
    "start_ab_test": lambda first, second: registry.running_test().challenger_id == first.pk,
}


@pytest.mark.parametrize("who", PERMISSIONS)
@pytest.mark.parametrize("action", EFFECTS)
def test_each_action_needs_the_change_permission(client, versions, action, who):
    first, second = versions
    client = staff_with(client, PERMISSIONS[who])
    allowed = who == "change"
    assert (action in offered_actions(client)) == allowed
    before = state()

    response = client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [first.pk]}, follow=True
    )

    if allowed:
        assert response.status_code == 200
        assert EFFECTS[action](first, second), action
    else:
        assert response.status_code == (403 if who == "no permission" else 200)
        assert state() == before


@pytest.fixture
def running_test(versions) -> ABTest:
    first, _ = versions
    test = registry.start_ab_test(first.pk, 0.5)
    promotion.start_challenger(test.pk, sync=True)
    test.refresh_from_db()
    assert test.status == ABTest.Status.RUNNING
    return test


@pytest.mark.parametrize("who", PERMISSIONS)
@pytest.mark.parametrize("button", ["promote", "stop"])
def test_ab_test_buttons_need_the_change_permission(client, running_test, button, who):
    client = staff_with(client, PERMISSIONS[who])
    allowed = who == "change"
    page = client.get(reverse(AB_PAGE))
    if who == "no permission":
        assert page.status_code == 403
    else:
        assert ("Stop test" in page.content.decode()) == allowed
    before = state()

    response = client.post(reverse(AB_PAGE), {"action": button, "test": running_test.pk})

    running_test.refresh_from_db()
    if allowed:
        assert response.status_code == 302
        expected = ABTest.Status.PROMOTED if button == "promote" else ABTest.Status.STOPPED
        assert running_test.status == expected
    else:
        assert response.status_code == 403
        assert state() == before


@pytest.mark.parametrize("raw", ["", "²", "x", "9" * 30])
def test_ab_test_buttons_name_a_bad_test_id(admin_client, running_test, raw):
    before = state()
    response = admin_client.post(reverse(AB_PAGE), {"action": "stop", "test": raw}, follow=True)
    assert response.status_code == 200
    html = response.content.decode().lower()
    assert "no a/b test given" in html or "does not exist" in html
    assert state() == before


@pytest.fixture
def in_service() -> tuple[ModelVersion, ModelVersion, ModelVersion]:
    """(active, challenger of a running A/B test, retired) versions."""
    active = ModelVersion.objects.create(algorithm="ease", status=Status.ACTIVE)
    challenger = ModelVersion.objects.create(algorithm="popularity", status=Status.CHALLENGER)
    retired = ModelVersion.objects.create(algorithm="popularity", status=Status.RETIRED)
    ABTest.objects.create(
        challenger=challenger, control=active, share=0.5, status=ABTest.Status.RUNNING
    )
    return active, challenger, retired


def delete_url(version: ModelVersion) -> str:
    return reverse("admin:recommendations_modelversion_delete", args=[version.pk])


def test_versions_in_service_cannot_be_deleted_from_their_page(admin_client, in_service):
    """Deleting the active version or a live test's arm would leave shoppers unserved."""
    active, challenger, retired = in_service
    for version in (active, challenger):
        change = reverse("admin:recommendations_modelversion_change", args=[version.pk])
        assert delete_url(version) not in admin_client.get(change).content.decode()
        assert admin_client.get(delete_url(version)).status_code == 403
        assert admin_client.post(delete_url(version), {"post": "yes"}).status_code == 403
    assert ModelVersion.objects.filter(pk__in=[active.pk, challenger.pk]).count() == 2
    assert admin_client.post(delete_url(retired), {"post": "yes"}).status_code == 302
    assert not ModelVersion.objects.filter(pk=retired.pk).exists()


def test_a_stopped_tests_challenger_can_be_deleted(admin_client, in_service):
    _, challenger, _ = in_service
    registry.stop_ab_test(ABTest.objects.get().pk)
    assert admin_client.get(delete_url(challenger)).status_code == 200


def test_bulk_delete_skips_versions_in_service_with_a_message(admin_client, in_service):
    active, challenger, retired = in_service
    everything = {"action": "delete_selected", "_selected_action": [v.pk for v in in_service]}

    confirm = admin_client.post(reverse(CHANGELIST), everything)

    assert confirm.status_code == 200  # Django's confirmation page, for the retired one only
    assert list(confirm.context["queryset"]) == [retired]
    shown = " ".join(str(m) for m in get_messages(confirm.wsgi_request)).lower()
    assert f"#{active.pk}" in shown and f"#{challenger.pk}" in shown and "not deleted" in shown
    # Confirming with every id (a stale or forged form) still spares the versions in service.
    admin_client.post(reverse(CHANGELIST), {**everything, "post": "yes"})
    assert set(ModelVersion.objects.values_list("pk", flat=True)) == {active.pk, challenger.pk}


def test_bulk_delete_of_only_versions_in_service_deletes_nothing(admin_client, in_service):
    active, challenger, _ = in_service
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "delete_selected", "_selected_action": [active.pk, challenger.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert any("not deleted" in str(m).lower() for m in get_messages(response.wsgi_request))
    assert ModelVersion.objects.count() == 3
