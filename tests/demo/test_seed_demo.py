"""seed_demo and setup_demo: sizes, determinism, behavioural structure, idempotence."""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count

from demo.generator import DEMO_SHOPPER_PASSWORD, DemoOptions, anchor_now, generate, store
from demo.generator.behaviour import PURCHASE, VIEW
from demo.generator.store import SOURCE, demo_users
from demo.management.commands import seed_demo as seed_demo_command
from demo.management.commands.setup_demo import ADMIN_PASSWORD, ADMIN_USERNAME
from demo.models import demo_categories, demo_products
from recommendations.models import Interaction, ModelVersion
from shop.models import Category, Order, OrderLine, Product
from tests.factories import (
    InteractionFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    UserFactory,
)

SMALL = {"products": 60, "categories": 5, "users": 30, "interactions": 2000, "days": 30}
# Enough categories that "events concentrate in two of them" cannot happen by chance.
WIDE = {"products": 160, "categories": 10, "users": 40, "interactions": 4000, "days": 30}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    """The one shared shopper hash and the admin hash: fast in tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def local_demo(settings):
    """A local demo (DEBUG on), where the README's published passwords apply."""
    settings.DEBUG = True


def seed(*, seed: int = 42, reset: bool = False, **sizes: int) -> str:
    """Run seed_demo with the given sizes; return its output."""
    out = io.StringIO()
    args = [f"--seed={seed}"] + [f"--{k}={v}" for k, v in (sizes or SMALL).items()]
    call_command("seed_demo", *args, *(["--reset"] if reset else []), stdout=out)
    return out.getvalue()


def event_multiset() -> Counter:
    return Counter(
        Interaction.objects.values_list("user__username", "product__sku", "kind", "quantity")
    )


def test_counts_match_options_and_window():
    output = seed()
    assert Category.objects.count() == 5
    assert Product.objects.count() == 60
    assert demo_users().count() == 30
    assert Interaction.objects.count() == 2000
    assert set(Interaction.objects.values_list("source", flat=True)) == {SOURCE}
    assert Order.objects.exists()
    assert "interactions written: 2,000/2,000 (100%)" in output and "Seeded 60 products" in output

    anchor = anchor_now()
    times = list(Interaction.objects.values_list("created", flat=True))
    assert min(times) >= anchor - timedelta(days=30)
    assert max(times) <= anchor
    assert max(times) - min(times) > timedelta(days=28)

    assert all(c.description for c in Category.objects.all())
    skus = list(Product.objects.values_list("sku", flat=True))
    assert all(len(s) == 10 and s[3] == "-" and s[4:].isdigit() for s in skus)
    for product in Product.objects.all():
        assert product.price > 0 and str(product.price)[-2:] in ("99", "49")
        assert product.brand and product.tags and product.description.count(".") >= 2


def test_same_seed_same_shop_and_different_seed_differs():
    seed()
    products = list(Product.objects.order_by("sku").values_list("sku", "name", "price"))
    users = sorted(demo_users().values_list("username", flat=True))
    events = event_multiset()

    seed(reset=True)
    assert list(Product.objects.order_by("sku").values_list("sku", "name", "price")) == products
    assert sorted(demo_users().values_list("username", flat=True)) == users
    assert event_multiset() == events

    seed(seed=7, reset=True)
    assert list(Product.objects.order_by("sku").values_list("sku", "name", "price")) != products
    assert event_multiset() != events


def test_refuses_without_reset_and_changes_nothing():
    seed()
    before = (Product.objects.count(), Interaction.objects.count(), Order.objects.count())
    with pytest.raises(CommandError, match="--reset"):
        seed(seed=3)
    assert (Product.objects.count(), Interaction.objects.count(), Order.objects.count()) == before


@pytest.mark.parametrize(
    ("option", "value"), [("categories", 99), ("products", 2), ("users", 0), ("days", 0)]
)
def test_bad_options_are_rejected(option, value):
    sizes = {**SMALL, option: value}
    with pytest.raises(CommandError, match=f"--{option}"):
        seed(**sizes)
    assert not Product.objects.exists() and not demo_users().exists()


def test_reset_keeps_other_accounts():
    staff = get_user_model().objects.create_user("someone", "someone@example.com", "x-pass-123")
    seed()
    seed(reset=True)
    assert get_user_model().objects.filter(pk=staff.pk).exists()
    assert demo_users().count() == 30


def real_rows() -> dict:
    """Rows the generator did not make: an imported product, a guest order, an event."""
    imported = ProductFactory(sku="IMP-1", name="Imported Kettle", slug="imported-kettle")
    guest_order = OrderFactory(user=None, anonymous_id="f" * 32, email="guest@example.com")
    OrderLineFactory(order=guest_order, product=imported)
    event = InteractionFactory(user=UserFactory(), product=imported)
    return {
        "product": imported,
        "category": imported.category,
        "order": guest_order,
        "event": event,
    }


def test_reset_removes_only_what_the_generator_made_and_says_what_it_kept():
    seed()
    real = real_rows()
    output = seed(reset=True)
    for row in real.values():
        assert type(row).objects.filter(pk=row.pk).exists(), row
    assert Product.objects.exclude(pk__in=demo_products()).get() == real["product"]
    assert demo_products().count() == 60
    assert demo_categories().count() == 5
    assert Order.objects.filter(user__isnull=True).get() == real["order"]
    kept = "1 products, 1 categories, 1 orders, 1 accounts, 1 interactions, 0 model versions"
    assert f"kept (not made by the generator): {kept}" in output


def test_reset_refuses_while_a_real_order_holds_a_demo_product():
    seed()
    OrderLineFactory(order=OrderFactory(user=None), product=demo_products()[0])
    before = (Product.objects.count(), Interaction.objects.count(), Order.objects.count())
    with pytest.raises(CommandError, match="bought demo products"):
        seed(reset=True)
    assert (Product.objects.count(), Interaction.objects.count(), Order.objects.count()) == before


def test_seed_refuses_when_a_real_product_has_a_demo_sku():
    seed()
    taken = demo_products().order_by("sku").values_list("sku", flat=True)[0]
    store.reset_demo_data(log=lambda line: None)
    ProductFactory(sku=taken)
    with pytest.raises(CommandError, match="1 products not made by the generator"):
        seed(reset=True)
    assert Product.objects.count() == 1 and not demo_users().exists()


def test_shoppers_concentrate_in_their_favourite_categories():
    seed(**WIDE)
    per_user: dict[int, Counter] = defaultdict(Counter)
    for user_id, category_id in Interaction.objects.values_list("user_id", "product__category_id"):
        per_user[user_id][category_id] += 1
    shares = [
        sum(n for _, n in counts.most_common(2)) / sum(counts.values())
        for counts in per_user.values()
        if sum(counts.values()) >= 20
    ]
    assert len(shares) >= 20
    assert np.mean(shares) > 0.6  # uniform browsing over 10 categories gives ~0.3


def test_sessions_browse_related_products_in_order():
    # Sessions exist in the generator only: stored demo events carry the user, no session.
    shop = generate(DemoOptions(**WIDE))
    ev, category = shop.events, shop.catalogue.category
    views = np.flatnonzero(ev.kind == VIEW)
    views = views[np.lexsort((ev.time[views], ev.session[views]))]
    consecutive = ev.session[views][1:] == ev.session[views][:-1]
    cats = category[ev.product[views]]
    pairs = int(consecutive.sum())
    same = int((consecutive & (cats[1:] == cats[:-1])).sum())
    assert pairs > 1000
    assert same / pairs > 0.6  # next view stays in the category most of the time


def test_popular_products_get_most_views():
    seed(**WIDE)
    views = sorted(
        Interaction.objects.filter(kind="view")
        .values("product")
        .annotate(n=Count("id"))
        .values_list("n", flat=True),
        reverse=True,
    )
    top = views[: max(1, Product.objects.count() // 10)]
    assert sum(top) / sum(views) > 0.3


def test_orders_match_purchase_interactions():
    seed()
    purchases = Interaction.objects.filter(kind="purchase")
    assert purchases.exists()
    assert not purchases.filter(basket="").exists()
    assert not Interaction.objects.exclude(kind="purchase").exclude(basket="").exists()
    by_basket: dict[str, Counter] = defaultdict(Counter)
    for basket, product_id, quantity, user_id, created in purchases.values_list(
        "basket", "product_id", "quantity", "user_id", "created"
    ):
        by_basket[basket][(product_id, quantity, user_id, created)] += 1
    orders = Order.objects.prefetch_related("lines")
    assert {str(o.pk) for o in orders} == set(by_basket)
    multi_line = 0
    for order in orders:
        lines = list(order.lines.all())
        multi_line += len(lines) > 1
        expected = Counter(
            (ln.product_id, ln.quantity, order.user_id, order.created) for ln in lines
        )
        assert by_basket[str(order.pk)] == expected
        assert order.total == sum((ln.unit_price * ln.quantity for ln in lines), Decimal("0"))
        assert all(ln.unit_price == ln.product.price for ln in lines)
        assert order.email == order.user.email and order.full_name and order.address
    assert multi_line > 0
    # Every purchase was carted first by the same shopper.
    for user_id, product_id, created in purchases.values_list("user_id", "product_id", "created"):
        assert Interaction.objects.filter(
            user_id=user_id, product_id=product_id, kind="cart", created__lte=created
        ).exists()
    assert not Interaction.objects.exclude(anonymous_id="").exists()  # signed-in: user only


def test_baskets_hold_complementary_products():
    shop = generate(DemoOptions(**{**WIDE, "interactions": 20_000}))
    orders, catalogue = shop.orders, shop.catalogue
    partners = {(p, q) for p in range(len(catalogue)) for q in catalogue.partners[p]}
    baskets: dict[int, list[int]] = defaultdict(list)
    for order, product in zip(
        orders.line_order.tolist(), orders.line_product.tolist(), strict=True
    ):
        baskets[order].append(product)
    multi = [items for items in baskets.values() if len(items) > 1]
    paired = [
        items for items in multi if any((p, q) in partners for p in items for q in items if p != q)
    ]
    assert len(multi) > 50
    assert len(paired) / len(multi) > 0.4
    assert shop.events.kind.tolist().count(PURCHASE) == len(orders.line_order)


def test_default_sizes_meet_the_floors():
    parser = seed_demo_command.Command().create_parser("manage.py", "seed_demo")
    defaults = vars(parser.parse_args([]))
    assert defaults["products"] >= 500
    assert defaults["categories"] >= 10
    assert defaults["users"] >= 200
    assert defaults["interactions"] >= 20_000
    assert defaults["days"] >= 60
    DemoOptions(**{k: defaults[k] for k in SMALL | {"seed": 0}}).validate()


@pytest.fixture
def popularity_only(settings):
    """The real pipeline, training only the cheapest algorithm."""
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "ALGORITHMS": ["popularity"]}


def setup_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("setup_demo", *args, stdout=out)
    return out.getvalue()


def test_setup_demo_seeds_creates_admin_trains_once_and_is_idempotent(
    monkeypatch, popularity_only, local_demo
):
    monkeypatch.setattr(seed_demo_command, "DEFAULTS", DemoOptions(**SMALL))
    first = setup_demo()
    assert "seeding demo data" in first
    assert Product.objects.count() == 60 and Interaction.objects.count() == 2000
    admin = get_user_model().objects.get(username=ADMIN_USERNAME)
    assert admin.is_staff and admin.is_superuser and admin.check_password(ADMIN_PASSWORD)
    active = ModelVersion.objects.get(status="active")
    assert active.algorithm == "popularity" and active.user_lists.exists()
    # One summary of the run, whose last line says what happened.
    assert first.strip().splitlines()[-1] == f"popularity #{active.pk} is active (first version)"
    assert "Training finished" not in first and "no version was active" not in first
    assert "Seeded 60 products" in first and "deleted 0 rows" not in first  # seed's summary

    snapshot = (
        admin.password,
        list(Product.objects.order_by("pk").values_list("pk", "name")),
        Interaction.objects.count(),
        ModelVersion.objects.count(),
    )
    second = setup_demo()
    admin.refresh_from_db()
    assert "not seeding" in second and "left unchanged" in second and "not training" in second
    assert snapshot == (
        admin.password,
        list(Product.objects.order_by("pk").values_list("pk", "name")),
        Interaction.objects.count(),
        ModelVersion.objects.count(),
    )


def test_setup_demo_never_changes_an_existing_accounts_password():
    seed()
    existing = get_user_model().objects.create_user(ADMIN_USERNAME, "a@example.com", "own-pass-1")
    output = setup_demo("--skip-training")
    admin = get_user_model().objects.get(username=ADMIN_USERNAME)
    assert admin.password == existing.password and admin.check_password("own-pass-1")
    assert not admin.check_password(ADMIN_PASSWORD)
    assert not admin.is_staff  # no privileges granted to an account it did not create
    assert "left unchanged" in output


def test_debug_off_never_gives_an_account_a_published_password(monkeypatch):
    monkeypatch.setattr(seed_demo_command, "DEFAULTS", DemoOptions(**SMALL))
    output = setup_demo("--skip-training")  # tests run with DEBUG off, as production
    admin = get_user_model().objects.get(username=ADMIN_USERNAME)
    assert not admin.check_password(ADMIN_PASSWORD)
    printed = re.search(r"with the random password '([^']+)'", output).group(1)
    assert admin.check_password(printed)
    shopper = demo_users().order_by("pk").first()
    assert not shopper.check_password(DEMO_SHOPPER_PASSWORD)
    printed = re.search(r"shoppers \(password '([^']+)'\)", output).group(1)
    assert shopper.check_password(printed)


def test_debug_off_takes_passwords_from_the_environment(monkeypatch):
    monkeypatch.setattr(seed_demo_command, "DEFAULTS", DemoOptions(**SMALL))
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "chosen-admin-pass-1")
    monkeypatch.setenv("DEMO_SHOPPER_PASSWORD", "chosen-shopper-pass-1")
    output = setup_demo("--skip-training")
    assert (
        get_user_model().objects.get(username=ADMIN_USERNAME).check_password("chosen-admin-pass-1")
    )
    assert demo_users().first().check_password("chosen-shopper-pass-1")
    assert "chosen-" not in output


@pytest.mark.parametrize(
    ("name", "value"),
    [("DEMO_ADMIN_PASSWORD", ADMIN_PASSWORD), ("DEMO_SHOPPER_PASSWORD", DEMO_SHOPPER_PASSWORD)],
)
def test_debug_off_refuses_a_published_password_and_changes_nothing(monkeypatch, name, value):
    monkeypatch.setattr(seed_demo_command, "DEFAULTS", DemoOptions(**SMALL))
    monkeypatch.setenv(name, value)
    with pytest.raises(CommandError, match="published demo password"):
        setup_demo("--skip-training")
    assert not get_user_model().objects.exists() and not Product.objects.exists()


def test_demo_shoppers_can_log_in(client, local_demo):
    seed()
    username = demo_users().order_by("pk").values_list("username", flat=True).first()
    assert client.login(username=username, password=DEMO_SHOPPER_PASSWORD)


def test_order_lines_reference_seeded_products():
    seed()
    assert OrderLine.objects.exists()
    assert not OrderLine.objects.exclude(product__in=Product.objects.all()).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL bulk-load path")
def test_postgres_bulk_load_restores_indexes_and_foreign_keys(monkeypatch):
    def schema() -> tuple[list, list]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_indexdef(indexrelid) FROM pg_index "
                "WHERE indrelid = 'recommendations_interaction'::regclass ORDER BY 1"
            )
            indexes = cursor.fetchall()
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'recommendations_interaction'::regclass ORDER BY 1"
            )
            return indexes, cursor.fetchall()

    before = schema()
    monkeypatch.setattr(store, "REBUILD_FROM", 1000)
    output = seed()
    assert "rebuilding interaction indexes" in output
    assert schema() == before
    assert Interaction.objects.count() == 2000


def planner_rows(model) -> float:
    """PostgreSQL's estimate of the table's rows (-1: never analyzed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table]
        )
        return cursor.fetchone()[0]


def test_a_seed_leaves_fresh_planner_statistics():
    """Autovacuum may be off or late: the seed analyzes what it wrote, so the first
    queries (trending over every fresh event) are not planned for empty tables."""
    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    seed()
    for model in (Product, Interaction, Category):
        assert planner_rows(model) == model.objects.count()
