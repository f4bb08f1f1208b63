"""The pipeline end to end, in-process (eager chord), on a small structured log."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from recommendations import registry
from recommendations.models import (
    Interaction,
    ModelVersion,
    RelatedProducts,
    UserRecommendations,
)
from recommendations.training import lists, pipeline, precompute, promotion
from recommendations.training.algorithms import ALGORITHMS, make_algorithm
from tests.factories import InteractionFactory, ProductFactory, UserFactory
from tests.recommendations.training.pipeline_support import FAILING, seed_log

pytestmark = pytest.mark.django_db
Status = ModelVersion.Status
STAGES = {"extract", "split", "fit", "evaluate", "refit", "save", "precompute", "activate"}


@pytest.fixture(autouse=True)
def small_lists(settings):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "TOP_N": 8,
        "RELATED_N": 4,
        "PRECOMPUTE_CHUNK_SIZE": 7,
        "PRIMARY_METRIC": "ndcg@10",
        "REFRESH_GRACE_SECONDS": 0,
    }


@pytest.fixture
def log_():
    return seed_log()


@pytest.fixture
def failing_algorithm(monkeypatch):
    monkeypatch.setitem(ALGORITHMS, "failing", FAILING)


def lists_of(version):
    return UserRecommendations.objects.filter(version=version)


def test_winner_is_promoted_with_metrics_timings_and_lists(log_):
    result = pipeline.run_pipeline(algorithms=["popularity", "cooccurrence"])

    pop, cooc = (ModelVersion.objects.get(pk=v.pk) for v in result.versions)
    assert result.promoted and result.winner.pk == cooc.pk
    assert cooc.status == Status.ACTIVE and cooc.activated is not None
    assert pop.status == Status.EVALUATED and "Not chosen" in pop.notes
    assert "clearly behind" in pop.notes and "(one-sided 95%)" in pop.notes
    assert cooc.metrics["ndcg@10"] > pop.metrics["ndcg@10"]
    assert cooc.metrics["protocol"] == "leave-last-out" and cooc.metrics["users"] > 0
    assert set(cooc.timings) >= STAGES and "precompute_started_at" not in cooc.timings
    assert (cooc.n_users, cooc.n_items) == (30, 18) and cooc.data_start < cooc.data_end
    assert (registry.model_path(cooc.pk)).is_file() and not pop.artifact_path

    # One list per shopper, full length, none of their own items, with reasons.
    assert lists_of(cooc).count() == 30
    user = log_["users"][0]
    row = lists_of(cooc).get(user=user)
    seen = set(Interaction.objects.filter(user=user).values_list("product_id", flat=True))
    assert len(row.product_ids) == 8 and not seen & set(row.product_ids)
    assert len(row.scores) == len(row.reasons) == 8
    group = {p.pk for p in log_["groups"][0]}
    assert row.product_ids[0] in group  # the model's first pick is from the shopper's group
    assert row.reasons[0].startswith("Because you")
    assert any(r == "Trending now" for r in row.reasons)  # filled from other groups

    kinds = set(RelatedProducts.objects.filter(version=cooc).values_list("kind", flat=True))
    assert {"similar", "also_viewed", "bought_together"} <= kinds
    first = log_["groups"][0][0]
    also = RelatedProducts.objects.get(version=cooc, product=first, kind="also_viewed")
    assert set(also.product_ids) <= group and first.pk not in also.product_ids


def test_second_run_that_does_not_beat_active_stays_evaluated(log_):
    first = pipeline.run_pipeline(algorithms=["cooccurrence"]).winner
    second = pipeline.run_pipeline(algorithms=["popularity"])

    v = ModelVersion.objects.get(pk=second.versions[0].pk)
    assert not second.promoted and v.status == Status.EVALUATED
    assert "does not replace active" in v.notes and "refitted on today's split" in v.notes
    assert "paired bootstrap" in v.notes and v.metrics["vs_active"]["promoted"] is False
    assert registry.active_version().pk == first.pk
    assert not lists_of(v).exists()

    # The same configuration again is a refresh: fresher data, promoted.
    third = pipeline.run_pipeline(algorithms=["cooccurrence"])
    assert third.promoted and registry.active_version().pk == third.winner.pk
    assert ModelVersion.objects.get(pk=first.pk).status == Status.RETIRED


def test_force_promote_and_rollback(log_):
    cooc = pipeline.run_pipeline(algorithms=["cooccurrence"]).winner
    pop = pipeline.run_pipeline(algorithms=["popularity"]).versions[0]

    promoted = promotion.force_promote(pop.pk)  # no artifact: refitted, then precomputed

    assert promoted.status == Status.ACTIVE and registry.active_version().pk == pop.pk
    assert registry.model_path(pop.pk).is_file() and lists_of(pop).count() == 30
    assert ModelVersion.objects.get(pk=cooc.pk).status == Status.RETIRED
    assert lists_of(cooc).count() == 30  # kept for rollback

    back = promotion.rollback()
    assert back.pk == cooc.pk and registry.active_version().pk == cooc.pk
    assert ModelVersion.objects.get(pk=pop.pk).status == Status.RETIRED


def test_rollback_precomputes_again_when_rows_were_cleaned(log_):
    old = pipeline.run_pipeline(algorithms=["cooccurrence"]).winner
    pipeline.run_pipeline(algorithms=["cooccurrence"])
    registry.delete_rows(old.pk)

    back = promotion.rollback(sync=True)

    assert back.pk == old.pk and back.status == Status.ACTIVE
    assert lists_of(old).count() == 30


@pytest.mark.parametrize("make_log", ["empty", "one_shopper", "no_repeat_shoppers"])
def test_tiny_logs_are_skipped_with_a_note(make_log):
    products = [ProductFactory() for _ in range(3)]
    if make_log == "one_shopper":
        user = UserFactory()
        for p in products:
            InteractionFactory(user=user, product=p)
    elif make_log == "no_repeat_shoppers":  # nobody has 3 distinct items to hold one out
        for p in products:
            InteractionFactory(product=p)

    result = pipeline.run_pipeline(algorithms=["popularity", "cooccurrence"])

    assert not result.promoted and registry.active_version() is None
    for v in ModelVersion.objects.all():
        assert v.status == Status.SKIPPED
        assert "popularity" in v.notes  # says the shop falls back to popularity
    assert "need 2" in result.note or "split" in result.note


def test_failing_chunk_keeps_previous_version(log_, failing_algorithm):
    before = pipeline.run_pipeline(algorithms=["popularity"]).winner
    served = set(lists_of(before).values_list("pk", flat=True))
    victim = f"u:{log_['users'][10].pk}"

    result = pipeline.run_pipeline(
        algorithms=["failing"], params={"failing": {"fail_user": victim}}, force=True
    )

    failed = ModelVersion.objects.get(pk=result.versions[0].pk)
    assert failed.status == Status.FAILED and "test failure" in failed.notes
    assert not result.promoted
    assert registry.active_version().pk == before.pk
    assert not lists_of(failed).exists()
    assert not RelatedProducts.objects.filter(version=failed).exists()
    assert set(lists_of(before).values_list("pk", flat=True)) == served


def test_failing_chunk_in_sync_mode(log_, failing_algorithm):
    victim = f"u:{log_['users'][3].pk}"
    result = pipeline.run_pipeline(
        algorithms=["failing"], params={"failing": {"fail_user": victim}}, sync=True
    )
    failed = ModelVersion.objects.get(pk=result.versions[0].pk)
    assert failed.status == Status.FAILED and registry.active_version() is None
    assert not lists_of(failed).exists()


def test_chunks_are_idempotent(log_):
    version = pipeline.run_pipeline(algorithms=["cooccurrence"]).winner
    rows = lists_of(version).count()
    related = RelatedProducts.objects.filter(version=version).count()

    precompute.precompute_chunk(version.pk, "users", 0, 7)
    precompute.precompute_chunk(version.pk, "items", 0, 7)

    assert lists_of(version).count() == rows
    assert RelatedProducts.objects.filter(version=version).count() == related


def _written(version) -> tuple[dict, dict]:
    users = {
        (r.user_id, r.anonymous_id): (r.product_ids, r.scores, r.reasons) for r in lists_of(version)
    }
    related = {
        (r.product_id, r.kind): (r.product_ids, r.scores)
        for r in RelatedProducts.objects.filter(version=version)
    }
    return users, related


@pytest.mark.parametrize("threads", [1, 3])
def test_sync_precompute_on_threads_writes_what_the_chunks_write(log_, settings, threads):
    version = pipeline.run_pipeline(algorithms=["sknn"]).winner  # chunk by chunk
    expected = _written(version)
    assert expected[0] and expected[1]
    lists_of(version).delete()
    RelatedProducts.objects.filter(version=version).delete()
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "PRECOMPUTE_THREADS": threads}

    chunks = precompute.plan_chunks(version.pk, lists.context(version.pk).data)
    assert len(chunks) > 2 * threads  # several chunks in flight at once
    precompute.run_chunks_here(version.pk, chunks)

    assert _written(version) == expected


def test_refresh_recent_users_folds_in_new_views(log_):
    version = pipeline.run_pipeline(algorithms=["cooccurrence"]).winner
    newcomer = UserFactory(username="newcomer")
    group = log_["groups"][1]
    InteractionFactory(user=newcomer, product=group[0], created=timezone.now())
    InteractionFactory(user=newcomer, product=group[1], created=timezone.now())
    # An old shopper switches interest to group 1.
    veteran = log_["users"][0]
    InteractionFactory(user=veteran, product=group[2], created=timezone.now())

    assert precompute.refresh_recent_users() == 2

    row = lists_of(version).get(user=newcomer)
    assert row.product_ids[0] in {p.pk for p in group[2:]}
    assert row.reasons[0] in {f"Because you viewed {p.name}" for p in group[:2]}
    assert group[2].pk not in lists_of(version).get(user=veteran).product_ids  # now seen
    assert ModelVersion.objects.get(pk=version.pk).refreshed is not None
    assert precompute.refresh_recent_users() == 0  # nothing new since


def test_refresh_without_active_version_is_a_no_op(log_):
    assert precompute.refresh_recent_users() == 0


def test_new_products_after_training_do_not_break_refresh(log_):
    pipeline.run_pipeline(algorithms=["cooccurrence"])
    brand_new = ProductFactory()
    user = log_["users"][1]
    InteractionFactory(user=user, product=brand_new, created=timezone.now() + timedelta(0))
    assert precompute.refresh_recent_users() == 1


def test_bad_input_changes_nothing(log_):
    with pytest.raises(ValueError, match="choose from"):
        pipeline.run_pipeline(algorithms=["nope"])
    with pytest.raises(ValueError, match="not trained"):
        pipeline.run_pipeline(algorithms=["popularity"], params={"ease": {}})
    with pytest.raises(ValueError, match="protocol"):
        pipeline.run_pipeline(algorithms=["popularity"], protocol="random")
    assert not ModelVersion.objects.exists()


def test_time_cut_protocol(log_):
    result = pipeline.run_pipeline(algorithms=["cooccurrence"], protocol="time-cut")
    assert ModelVersion.objects.get(pk=result.versions[0].pk).metrics["protocol"] == "time-cut"


def test_same_rankings_under_another_configuration_keep_the_champion(log_):
    first = pipeline.run_pipeline(algorithms=["cooccurrence"], tune=False).winner
    second = pipeline.run_pipeline(
        algorithms=["cooccurrence"], params={"cooccurrence": {"k": 49}}, tune=False
    )
    v = ModelVersion.objects.get(pk=second.versions[0].pk)
    assert not second.promoted and registry.active_version().pk == first.pk
    assert v.metrics["vs_active"]["diff"] == 0.0 and "not better beyond noise" in v.notes


def test_tuned_parameters_are_stored_on_the_version(log_):
    result = pipeline.run_pipeline(algorithms=["transitions", "popularity", "hybrid"])
    versions = {v.algorithm: ModelVersion.objects.get(pk=v.pk) for v in result.versions}
    assert versions["transitions"].metrics["tuned"] is True
    assert versions["transitions"].metrics["tuning_trials"] > 1
    assert "Tuned on this log's split" in versions["transitions"].notes
    hybrid = versions["hybrid"]
    assert set(hybrid.parameters["components"]) <= {"transitions", "popularity"}
    assert hybrid.metrics["ndcg@10"] >= versions["transitions"].metrics["ndcg@10"] - 1e-9


@pytest.mark.slow
def test_refit_keeps_the_tensorflow_weights_and_refits_the_rest(log_, monkeypatch):
    from recommendations.training.algorithms.two_tower import TwoTower
    from recommendations.training.extract import load_dataset

    fits = []
    real_fit = TwoTower.fit

    def counted_fit(self, data):
        fits.append(data)
        return real_fit(self, data)

    monkeypatch.setattr(TwoTower, "fit", counted_fit)
    fast = {"min_steps": 150, "batch_size": 64, "seed": 3}
    blend = {"components": {"two_tower": 1.0, "popularity": 0.1}, "params": {"two_tower": fast}}
    result = pipeline.run_pipeline(algorithms=["hybrid"], params={"hybrid": blend})

    winner = ModelVersion.objects.get(pk=result.winner.pk)
    assert result.promoted and winner.status == Status.ACTIVE
    assert len(fits) == 1  # trained once, on the split's training part
    full = load_dataset()
    assert fits[0].n_events < full.n_events
    model = registry.load_artifact(winner.pk)
    tower, pop = model.models["two_tower"], model.models["popularity"]
    assert model.data.n_events == tower.data.n_events == pop.data.n_events == full.n_events
    # The counts-based component is refitted on the full log.
    fresh = make_algorithm("popularity").fit(full)
    np.testing.assert_array_equal(pop.item_scores, fresh.item_scores)
    assert "two_tower kept the weights trained on the split" in winner.notes
    assert lists_of(winner).count() == 30


def test_related_lists_reuse_the_winners_content_model(log_, monkeypatch):
    from recommendations.training.algorithms.content import ContentSimilarity

    fits = count_fits(monkeypatch, ContentSimilarity)
    blend = {"components": {"content": 1.0, "cooccurrence": 0.5}}
    result = pipeline.run_pipeline(algorithms=["hybrid"], params={"hybrid": blend})
    assert result.promoted
    # Once on the split, once on the full log for serving; related lists reuse that one.
    assert len(fits) == 2 and fits[0] < fits[1]
    similar = RelatedProducts.objects.filter(version=result.winner, kind="similar")
    assert similar.exists()


@pytest.mark.slow
def test_time_cut_refit_trains_the_tensorflow_model_again(log_, monkeypatch):
    from recommendations.training.algorithms.two_tower import TwoTower

    fits = count_fits(monkeypatch, TwoTower)
    fast = {"min_steps": 150, "batch_size": 64, "seed": 3}
    blend = {"components": {"two_tower": 1.0, "popularity": 0.1}, "params": {"two_tower": fast}}
    result = pipeline.run_pipeline(
        algorithms=["hybrid"], params={"hybrid": blend}, protocol="time-cut"
    )
    assert result.promoted
    assert len(fits) == 2 and fits[0] < fits[1]  # the split's part, then the full log
    assert "kept the weights" not in ModelVersion.objects.get(pk=result.winner.pk).notes


def count_fits(monkeypatch, algorithm: type) -> list[int]:
    """The event count of every ``fit`` of ``algorithm`` from now on (it still fits)."""
    fits = []
    real_fit = algorithm.fit

    def counted_fit(self, data):
        fits.append(data.n_events)
        return real_fit(self, data)

    monkeypatch.setattr(algorithm, "fit", counted_fit)
    return fits


def test_the_promotion_is_judged_on_the_shoppers_that_judged_the_choice(log_):
    from recommendations.training import tuning
    from recommendations.training.extract import load_dataset

    pipeline.run_pipeline(algorithms=["cooccurrence"], tune=False)
    result = pipeline.run_pipeline(algorithms=["popularity", "transitions", "hybrid"])
    vs = ModelVersion.objects.get(pk=result.winner.pk).metrics["vs_active"]
    split = pipeline.make_split(load_dataset())
    judging = tuning.judging_rows(split)  # the hybrid's weights never saw these shoppers
    assert 0 < judging.sum() < len(split.test_users)
    assert vs["shoppers"] == judging.sum()
