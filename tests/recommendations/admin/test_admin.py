"""Admin for the behaviour log, model versions and precomputed lists."""

from __future__ import annotations

import time

import pytest
from django.contrib import admin
from django.urls import reverse

from recommendations.admin.tables import short_count, short_duration
from recommendations.models import (
    Impression,
    Interaction,
    ModelVersion,
    RelatedProducts,
    UserRecommendations,
)
from tests.factories import InteractionFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Factories hash passwords; the default hasher is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


MODELS = [Interaction, Impression, ModelVersion, UserRecommendations, RelatedProducts]


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


@pytest.fixture
def objects():
    """One row of every registered model, with lists that point at real products."""
    products = ProductFactory.create_batch(3)
    version = ModelVersion.objects.create(
        algorithm="ease",
        status=ModelVersion.Status.EVALUATED,
        n_events=1000,
        metrics={"ndcg@10": 0.2931, "hr@10": 0.369, "per_k": {"5": 0.1}},
        timings={"fit": 12.5, "evaluate": 3.0},
    )
    interaction = InteractionFactory(
        product=products[0], model_version=version, anonymous_id="abcdefghijkl"
    )
    user_list = UserRecommendations.objects.create(
        version=version,
        user=interaction.user,
        product_ids=[p.pk for p in products],
        scores=[0.9, 0.5, 0.25],
        reasons=["Because you viewed X", "Popular in Y", ""],
    )
    shown = Impression.objects.create(
        user=interaction.user,
        model_version=version,
        source=f"rec:for-you:v{version.pk}",
        created=interaction.created,
        product_ids=[p.pk for p in products],
        size=3,
    )
    related = RelatedProducts.objects.create(
        version=version,
        product=products[0],
        kind=RelatedProducts.Kind.SIMILAR,
        product_ids=[products[1].pk, products[2].pk, 999999],  # one deleted product
        scores=[0.7, 0.6, 0.1],
    )
    return {
        Interaction: interaction,
        Impression: shown,
        ModelVersion: version,
        UserRecommendations: user_list,
        RelatedProducts: related,
        "products": products,
    }


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelist_and_change_pages(staff, objects, model):
    assert admin.site.is_registered(model)
    assert staff.get(_url(model, "changelist")).status_code == 200
    assert staff.get(_url(model, "changelist"), {"q": "x"}).status_code == 200
    assert staff.get(_url(model, "change", objects[model].pk)).status_code == 200


NUL_FILTERS = {
    Interaction: {"kind": "\x00"},
    Impression: {"source": "\x00"},
    ModelVersion: {"status": "a\x00"},
    UserRecommendations: {"version__status": "\x00"},
    RelatedProducts: {"kind": "\x00", "version__status": "retired"},
}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_a_nul_in_a_filter_is_refused_not_an_error(staff, objects, model):
    """PostgreSQL refuses NUL in a parameter: the list answers as for any bad lookup."""
    response = staff.get(_url(model, "changelist"), NUL_FILTERS[model])
    assert response.status_code == 302 and response["Location"].endswith("?e=1")
    assert staff.get(response["Location"]).status_code == 200


def test_interaction_log_is_read_only(staff, objects):
    interaction = objects[Interaction]
    assert staff.get(_url(Interaction, "add")).status_code == 403
    assert staff.get(_url(Interaction, "delete", interaction.pk)).status_code == 403
    response = staff.post(_url(Interaction, "change", interaction.pk), {"quantity": 5})
    assert response.status_code == 403
    interaction.refresh_from_db()
    assert interaction.quantity == 1
    page = staff.get(_url(Interaction, "changelist")).content.decode()
    assert "abcdefghijkl" in page  # the anonymous shopper id (not a credential)


def test_lists_shown_are_read_only_and_found_by_shopper(staff, objects):
    shown = objects[Impression]
    assert staff.get(_url(Impression, "add")).status_code == 403
    assert staff.get(_url(Impression, "delete", shown.pk)).status_code == 403
    response = staff.get(_url(Impression, "changelist"), {"q": shown.user.username})
    assert response.context["cl"].result_count == 1
    assert str(shown.product_ids) in response.content.decode()


def test_interaction_filters_and_date_hierarchy(staff, objects):
    url = _url(Interaction, "changelist")
    interaction = objects[Interaction]
    created = interaction.created
    for params in (
        {"kind__exact": "view"},
        {"created__year": created.year, "created__month": created.month},
        {"q": interaction.user.username},
        {"q": interaction.product.sku},
    ):
        response = staff.get(url, params)
        assert response.status_code == 200
        assert response.context["cl"].result_count == 1


def test_model_version_shows_metric_duration_and_tables(staff, objects):
    version = objects[ModelVersion]
    page = staff.get(_url(ModelVersion, "changelist")).content.decode()
    assert "0.2931" in page and "15.5 s" in page
    assert "hr@10: 0.3690" in page  # every metric in the cell's tooltip
    page = staff.get(_url(ModelVersion, "change", version.pk)).content.decode()
    assert "<th>hr@10</th><td>0.3690</td>" in page
    assert "<th>fit</th><td>12.50 s</td>" in page
    assert staff.get(_url(ModelVersion, "add")).status_code == 403


def test_version_list_times_the_stages_not_the_running_precomputes_start(staff, objects):
    """A precompute under way stores its start (a Unix time) beside the stage seconds."""
    version = objects[ModelVersion]
    version.timings = {"fit": 70.0, "evaluate": 5.0, "precompute_started_at": time.time()}
    version.save()
    page = staff.get(_url(ModelVersion, "changelist")).content.decode()
    assert ">1m 15s<" in page


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1_000, "1.0k"),
        (23_456, "23k"),
        (999_999, "1.0M"),
        (1_234_567, "1.2M"),
    ],
)
def test_short_count(n, text):
    assert short_count(n) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.04, "0.0 s"), (12.34, "12.3 s"), (59.97, "1m 00s"), (205, "3m 25s"), (4151.2, "1h 09m")],
)
def test_short_duration(seconds, text):
    assert short_duration(seconds) == text


def test_ranked_lists_render_with_one_product_query(staff, objects, django_assert_max_num_queries):
    products = objects["products"]
    with django_assert_max_num_queries(12):
        page = staff.get(_url(UserRecommendations, "change", objects[UserRecommendations].pk))
    html = page.content.decode()
    assert all(p.name in html for p in products)
    assert "Because you viewed X" in html and "0.9000" in html
    page = staff.get(_url(RelatedProducts, "change", objects[RelatedProducts].pk))
    assert "#999999 (deleted)" in page.content.decode()


def test_version_page_shows_the_running_stage(staff, objects):
    """A run started from the admin writes its stage (registry.set_progress) to the page."""
    from recommendations import registry

    version = objects[ModelVersion]
    version.status = ModelVersion.Status.PRECOMPUTING
    version.n_users = 40
    version.save()
    registry.set_progress([version.pk], "precompute", 3, 8)
    page = staff.get(_url(ModelVersion, "change", version.pk)).content.decode()
    assert '<progress value="3" max="8"></progress> 3/8' in page
    assert "shopper lists written: 1 of 40" in page  # the fixture's one list
    version.move_to(ModelVersion.Status.EVALUATED)
    registry.set_progress([version.pk], "train and evaluate", 5, 5, "ease")
    page = staff.get(_url(ModelVersion, "change", version.pk)).content.decode()
    assert "last stage: train and evaluate (ease)" in page and "<progress" not in page


def test_retrain_from_the_admin_leaves_each_version_at_its_last_stage(staff):
    from tests.recommendations.training.pipeline_support import seed_log

    seed_log()
    ModelVersion.objects.create(algorithm="popularity", status=ModelVersion.Status.RETIRED)
    staff.post(
        _url(ModelVersion, "changelist"),
        {"action": "retrain", "_selected_action": [ModelVersion.objects.get().pk]},
    )
    trained = ModelVersion.objects.exclude(status=ModelVersion.Status.RETIRED).get()
    assert trained.status == ModelVersion.Status.ACTIVE
    assert trained.progress["stage"] == "finished"
    page = staff.get(_url(ModelVersion, "change", trained.pk)).content.decode()
    assert "last stage: finished (active)" in page
