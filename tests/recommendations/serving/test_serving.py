"""The serving path: blend, filters, fills, cold starts, diversity, reasons, caching."""

from __future__ import annotations

from decimal import Decimal
from itertools import combinations

import pytest
from django.core.cache import cache

from recommendations import tracking
from recommendations.models import Interaction, ModelVersion
from recommendations.serving import RELATED_KINDS, WIDGETS, Rules, Shopper, recommend
from recommendations.serving.cache import forget_active
from tests.factories import ProductFactory, UserFactory
from tests.recommendations.serving.serving_support import build_world

pytestmark = pytest.mark.django_db
GUEST = "a" * 32


@pytest.fixture(autouse=True)
def _clean_cache(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "DIVERSITY": 0.0}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world():
    return build_world()


def ids(served):
    return [item.product.pk for item in served.items]


def view(product, shopper=GUEST):
    if isinstance(shopper, str):
        return tracking.record_view(product, anonymous_id=shopper)
    return tracking.record_view(product, user=shopper)


def test_surface(world):
    assert set(RELATED_KINDS.values()) <= set(WIDGETS)
    with pytest.raises(ValueError):
        recommend(Shopper(), "nope")
    with pytest.raises(ValueError):
        recommend(Shopper(), "similar")
    served = recommend(Shopper.for_user(world.user), "for-you", limit=5)
    assert served.version_id == world.version.pk
    assert served.src == f"rec:for-you:v{world.version.pk}"
    assert ids(served) == [p.pk for p in world.personal[:5]]
    assert [i.reason for i in served.items] == ["Popular in Garden"] * 5
    assert all(i.product.category.name for i in served.items)  # select_related


def test_every_widget_answers_with_reasons(world):
    kettle = world.kitchen[0]
    shopper = Shopper.for_user(world.user)
    similar = recommend(shopper, "similar", product=kettle, limit=4)
    assert ids(similar) == [p.pk for p in world.kitchen[1:5]]
    assert {i.reason for i in similar.items} == {f"Similar to {kettle.name}"}
    together = recommend(shopper, "bought-together", product=kettle, limit=3)
    assert ids(together) == [p.pk for p in world.kitchen[::-1][:3]]
    assert together.items[0].reason == f"Bought together with {kettle.name}"
    also = recommend(shopper, "also-viewed", product=kettle, limit=3)
    assert also.items[0].reason == f"Often viewed with {kettle.name}"
    order = recommend(shopper, "complete-order", cart=[kettle.pk], limit=3)
    assert order.items[0].reason == f"Bought together with {kettle.name}"
    assert kettle.pk not in ids(order)
    trending = recommend(Shopper(), "trending", limit=4)
    assert ids(trending) == [p.pk for p in world.garden[:4]]
    assert {i.reason for i in trending.items} == {"Trending now"}


def test_session_views_change_the_next_list_and_say_why(world):
    before = recommend(Shopper(anonymous_id=GUEST), "for-you", limit=6)
    assert {i.reason for i in before.items} == {"Trending now"}  # cold start: trending
    viewed = world.kitchen[5:8]
    for product in viewed:
        view(product)
    after = recommend(Shopper(anonymous_id=GUEST), "for-you", limit=5)
    assert ids(after) != ids(before)[:5]
    assert all(i.product.category.slug == "kitchen" for i in after.items)
    assert not set(ids(after)) & {p.pk for p in viewed}  # just seen: not recommended
    names = {p.name for p in viewed}
    assert all(
        i.reason.startswith("Because you viewed ")
        and i.reason.removeprefix("Because you viewed ") in names
        for i in after.items
    )
    # The most recent view leads: its first neighbour is first.
    assert after.items[0].reason == f"Because you viewed {viewed[-1].name}"


def test_signed_in_list_blends_session_with_precomputed(world):
    shopper = Shopper.for_user(world.user)
    view(world.kitchen[6], world.user)
    served = recommend(shopper, "for-you", limit=8)
    reasons = [i.reason for i in served.items]
    assert reasons[0] == f"Because you viewed {world.kitchen[6].name}"
    assert "Popular in Garden" in reasons  # the precomputed list still counts


def test_reasons_name_only_strong_neighbours(world):
    # A garden product viewed: kitchen items it is not related to are never explained by it.
    view(world.garden[7])
    served = recommend(Shopper(anonymous_id=GUEST), "for-you", limit=12)
    for item in served.items:
        if item.reason.startswith("Because you viewed"):
            assert item.product.category.slug == "garden"


class TestFilters:
    def test_fresh_rows_decide_stock_and_activity(self, world):
        shopper = Shopper.for_user(world.user)
        first = recommend(shopper, "for-you", limit=8)
        gone, sold_out = world.personal[0], world.personal[1]
        gone.active = False
        gone.save()
        sold_out.stock = 0
        sold_out.save()
        again = recommend(shopper, "for-you", limit=8)  # the shopper's state is cached
        assert gone.pk not in ids(again) and sold_out.pk not in ids(again)
        assert len(again) == len(first) == 8  # topped up
        trending = recommend(Shopper(), "trending", limit=16)
        assert gone.pk not in ids(trending) and sold_out.pk not in ids(trending)

    def test_page_cart_and_rules(self, world):
        kettle = world.kitchen[0]
        shopper = Shopper.for_user(world.user)
        cart = [world.kitchen[1].pk]
        for widget in WIDGETS:
            served = recommend(shopper, widget, product=kettle, cart=cart, limit=8)
            assert kettle.pk not in ids(served) and cart[0] not in ids(served), widget
        rules = Rules(exclude=frozenset({world.garden[0].pk}), category="garden")
        served = recommend(shopper, "for-you", limit=5, rules=rules)
        assert world.garden[0].pk not in ids(served)
        assert {i.product.category.slug for i in served.items} == {"garden"}
        assert len(served) == 5
        cheap = recommend(shopper, "trending", limit=20, rules=Rules(max_price=Decimal("12")))
        assert cheap.items and all(i.product.price <= 12 for i in cheap.items)
        dear = recommend(shopper, "trending", limit=20, rules=Rules(min_price=Decimal("26")))
        assert dear.items and all(i.product.price >= 26 for i in dear.items)

    def test_purchased_hidden_unless_repeatable(self, world, settings):
        bought = world.personal[0]
        Interaction.objects.create(
            user=world.user, product=bought, kind="purchase", created=bought.created
        )
        cache.clear()
        assert bought.pk not in ids(recommend(Shopper.for_user(world.user), "for-you", limit=8))
        settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "REPEAT_CATEGORIES": ["garden"]}
        assert bought.pk in ids(recommend(Shopper.for_user(world.user), "for-you", limit=8))
        settings.RECOMMENDATIONS = {
            **settings.RECOMMENDATIONS,
            "REPEAT_CATEGORIES": [],
            "EXCLUDE_PURCHASED": False,
        }
        assert bought.pk in ids(recommend(Shopper.for_user(world.user), "for-you", limit=8))

    def test_not_interested_hides_and_demotes_neighbours(self, world):
        shopper = Shopper.for_user(world.user)
        before = ids(recommend(shopper, "for-you", limit=8))
        tracking.record_not_interested(world.personal[0], user=world.user)
        after = ids(recommend(shopper, "for-you", limit=8))
        assert world.personal[0].pk not in after
        # Its close neighbours (the other garden products) fall below the kitchen ones.
        assert after.index(world.kitchen[0].pk) < after.index(world.garden[1].pk)
        assert before.index(world.kitchen[0].pk) > before.index(world.garden[1].pk)


class TestColdStart:
    def test_new_shopper_gets_trending(self, world):
        served = recommend(Shopper(anonymous_id="new" * 8), "for-you", limit=4)
        assert ids(served) == [p.pk for p in world.garden[:4]]
        assert served.version_id == world.version.pk

    def test_no_version_at_all(self, world):
        ModelVersion.objects.update(status=ModelVersion.Status.RETIRED)
        forget_active()
        served = recommend(Shopper.for_user(world.user), "for-you", limit=4)
        assert served.version_id is None and len(served) == 4
        similar = recommend(Shopper(), "similar", product=world.kitchen[0], limit=4)
        assert {i.product.category.slug for i in similar.items} == {"kitchen"}  # content

    def test_new_product_appears_in_similar_lists_at_once(self, world):
        kettle = world.kitchen[0]
        new = ProductFactory(name="Kettle Deluxe", category=kettle.category, brand="Hearth")
        served = recommend(Shopper(), "similar", product=kettle, limit=6)
        assert new.pk in ids(served)
        item = served.items[ids(served).index(new.pk)]
        assert item.reason == f"Similar to {kettle.name}"
        # the same by id (the new products are then read in a query of their own)
        assert ids(recommend(Shopper(), "similar", product=kettle.pk, limit=6)) == ids(served)
        # ... and the new product's own page has similar products, by content.
        own = recommend(Shopper(), "similar", product=new, limit=4)
        assert len(own) == 4 and {i.product.category.slug for i in own.items} == {"kitchen"}


def intra_list_diversity(served) -> float:
    pairs = list(combinations(served.items, 2))
    return sum(a.product.category_id != b.product.category_id for a, b in pairs) / len(pairs)


def test_diversity_setting_changes_intra_list_diversity(world, settings):
    shopper = Shopper.for_user(world.user)
    plain = recommend(shopper, "for-you", limit=6)
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "DIVERSITY": 0.5}
    diverse = recommend(shopper, "for-you", limit=6)
    assert intra_list_diversity(diverse) > intra_list_diversity(plain)
    assert diverse.items[0].product == plain.items[0].product  # the best stays first


class TestCaching:
    def test_a_ranking_is_reused_until_anything_it_came_from_changes(
        self, world, monkeypatch, django_assert_num_queries
    ):
        from recommendations.serving import core
        from shop.models import Product

        shopper = Shopper.for_user(world.user)
        view(world.kitchen[0], world.user)  # a reason that names a product
        first = recommend(shopper, "for-you", limit=6)
        assert f"Because you viewed {world.kitchen[0].name}" in {i.reason for i in first.items}
        ranked = []
        real = core._for_you
        monkeypatch.setattr(core, "_for_you", lambda *a: ranked.append(1) or real(*a))
        Product.objects.filter(pk=world.kitchen[0].pk).update(name="Renamed Kettle")
        with django_assert_num_queries(1):  # the shown products' fresh facts, nothing else
            again = recommend(shopper, "for-you", limit=6)
        assert not ranked and ids(again) == ids(first)
        # reasons and cards come from this request's rows
        assert "Because you viewed Renamed Kettle" in {i.reason for i in again.items}
        sold_out = Product.objects.get(pk=ids(first)[0])
        sold_out.stock = 0
        sold_out.save()
        after = recommend(shopper, "for-you", limit=6)
        assert ranked and sold_out.pk not in ids(after) and len(after) == 6
        for change in (
            lambda: recommend(shopper, "for-you", limit=4),
            lambda: recommend(shopper, "for-you", limit=6, cart=[world.garden[1].pk]),
            lambda: recommend(shopper, "for-you", limit=6, rules=Rules(category="garden")),
            lambda: recommend(Shopper(anonymous_id=GUEST), "for-you", limit=6),
        ):
            ranked.clear()
            change()
            assert ranked, "a ranking of other inputs is not reused"
        ranked.clear()
        view(world.kitchen[7], world.user)  # the shopper acted
        served = recommend(shopper, "for-you", limit=6)
        assert ranked and served.items[0].reason == f"Because you viewed {world.kitchen[7].name}"

    def test_trending_rankings_are_shared_by_shoppers_with_nothing_to_hide(
        self, world, settings, monkeypatch
    ):
        from recommendations.serving import core

        settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "DIVERSITY": 0.1}
        ranked = []
        real = core.mmr_rerank
        monkeypatch.setattr(core, "mmr_rerank", lambda *a: ranked.append(1) or real(*a))
        first = recommend(Shopper(anonymous_id=GUEST), "trending", limit=4)
        assert len(ranked) == 1
        assert ids(recommend(Shopper(anonymous_id="b" * 32), "trending", limit=4)) == ids(first)
        assert len(ranked) == 1  # another guest, the same ranking
        tracking.record_not_interested(world.kitchen[0], anonymous_id="b" * 32)
        recommend(Shopper(anonymous_id="b" * 32), "trending", limit=4)
        assert len(ranked) == 2  # something to hide: ranked for this shopper

    def test_state_is_cached_until_the_shopper_acts(self, world, django_assert_num_queries):
        shopper = Shopper.for_user(world.user)
        recommend(shopper, "for-you", limit=8)
        with django_assert_num_queries(1):  # fresh facts of the candidates (the rows shown)
            recommend(shopper, "for-you", limit=8)
        view(world.kitchen[7], world.user)
        served = recommend(shopper, "for-you", limit=8)
        assert served.items[0].reason == f"Because you viewed {world.kitchen[7].name}"

    def test_views_and_carts_update_the_cached_state_as_a_rebuild_would(
        self, world, settings, django_assert_num_queries
    ):
        from recommendations.serving.cache import active_version, forget_shopper
        from recommendations.serving.sources import shopper_state

        settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "SESSION_ITEMS": 3}
        shopper = Shopper.for_user(world.user)
        recommend(shopper, "for-you", limit=4)  # caches the state
        for product in (world.kitchen[5], world.kitchen[6], world.kitchen[5]):
            view(product, world.user)
        tracking.record_add_to_cart(world.kitchen[7], user=world.user)
        version = active_version()
        with django_assert_num_queries(0):  # updated in place, not dropped
            updated = shopper_state(shopper, version)
        forget_shopper(world.user.pk)
        rebuilt = shopper_state(shopper, version)
        assert updated.recent == rebuilt.recent
        assert updated.recent[:2] == [(world.kitchen[7].pk, "cart"), (world.kitchen[5].pk, "view")]
        assert updated.events == rebuilt.events

    def test_activation_invalidates(self, world):
        shopper = Shopper.for_user(world.user)
        assert recommend(shopper, "for-you").version_id == world.version.pk
        world.version.move_to(ModelVersion.Status.RETIRED)
        newer = ModelVersion.objects.create(algorithm="ease", status="evaluated")
        newer.move_to(ModelVersion.Status.ACTIVE)
        served = recommend(shopper, "for-you", limit=4)
        assert served.version_id == newer.pk
        assert {i.reason for i in served.items} == {"Trending now"}  # no list in the new one

    def test_clear_history_drops_events_lists_and_cache(self, world):
        other = UserFactory()
        view(world.kitchen[0], world.user)
        view(world.kitchen[0], other)
        shopper = Shopper.for_user(world.user)
        recommend(shopper, "for-you")
        assert tracking.clear_history(shopper) == 2  # one event, one list
        assert not Interaction.objects.filter(user=world.user).exists()
        assert Interaction.objects.filter(user=other).exists()
        served = recommend(shopper, "for-you", limit=4)
        assert {i.reason for i in served.items} == {"Trending now"}
        view(world.kitchen[0])
        assert tracking.clear_history(Shopper(anonymous_id=GUEST)) == 1
        assert tracking.clear_history(Shopper()) == 0


class TestFastPaths:
    """The hand-made parts of the hot path give what the plain versions give."""

    def test_facts_statement_reads_what_the_orm_reads(self, world):
        from datetime import timedelta

        from django.db.models import Q

        from recommendations.serving.core import Newest, _facts, _read_facts
        from shop.models import Product

        world.kitchen[2].active = False
        world.kitchen[2].save()
        world.garden[5].stock = 0  # not among the newest: out of stock
        world.garden[5].save()
        ids = [p.pk for p in world.kitchen[:5]] + [world.garden[0].pk, 10**9]  # one unknown
        since = world.garden[3].created - timedelta(microseconds=1)
        newest = Newest(
            category_id=world.garden[0].category_id, since=since, page=world.garden[4].pk
        )
        orm = _facts(Product.objects.filter(Q(pk__in=ids) | Q(pk__in=newest.queryset())))
        assert _read_facts(ids, newest) == orm
        # garden 3, 6 and 7 are newer than ``since``, in stock and not the page
        assert set(orm) == {p.pk for p in world.kitchen[:5]} | {
            world.garden[i].pk for i in (0, 3, 6, 7)
        }
        assert _read_facts(ids) == _facts(Product.objects.filter(pk__in=ids))
        assert _read_facts([]) == {}

    def test_vectorised_similarity_equals_the_pairwise_one(self, world):
        import numpy as np

        from recommendations.serving.core import _read_facts, _similarities, _similarity

        world.garden[1].brand = ""
        world.garden[1].save()
        world.garden[2].brand = ""
        world.garden[2].save()
        world.kitchen[3].brand = "Verde"  # a garden brand in the kitchen
        world.kitchen[3].save()
        read = _read_facts([p.pk for p in world.kitchen + world.garden])
        facts = [read[pk] for pk in sorted(read)]  # the query's row order is not defined
        fn = _similarities(facts)
        positions = np.arange(len(facts))
        for pos in positions:
            expected = [_similarity(facts[p], facts[pos]) for p in positions]
            assert np.allclose(fn(positions, pos), expected)
        branded = next(f for f in facts if f.brand)
        assert _similarity(branded, branded) == 1.0

    def test_products_made_from_facts_equal_the_orm_rows(self, world, django_assert_num_queries):
        from recommendations.serving.core import _product, _read_facts
        from shop.models import Product

        world.kitchen[1].image = "shop/img/kettle.png"
        world.kitchen[1].stock = 0
        world.kitchen[1].save()
        facts = _read_facts([world.kitchen[1].pk, world.garden[3].pk])
        for pk, fact in facts.items():
            orm = Product.objects.select_related("category").get(pk=pk)
            with django_assert_num_queries(0):
                made = _product(fact)
                fields = [f.attname for f in Product._meta.concrete_fields]
                for name in fields:
                    if name != "description":
                        assert getattr(made, name) == getattr(orm, name), name
                assert (made.category.pk, made.category.name, made.category.slug) == (
                    orm.category.pk,
                    orm.category.name,
                    orm.category.slug,
                )
                assert made == orm and made.in_stock == orm.in_stock
                assert not made._state.adding and made._state.db == orm._state.db
            with django_assert_num_queries(1):  # deferred, loaded on use
                assert made.description == orm.description
