"""load_dataset: Interaction rows -> Dataset."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from recommendations.models import Interaction
from recommendations.training.dataset import KIND_CODES
from recommendations.training.extract import load_dataset, parse_user_key, split_user_keys, user_key
from tests.factories import InteractionFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def col(data, product) -> int:
    return int(np.flatnonzero(data.item_ids == product.pk)[0])


def row(data, key: str) -> int:
    return int(np.flatnonzero(data.user_keys == key)[0])


def test_weights_decay_and_excluded_kinds():
    now = timezone.now()
    user = UserFactory()
    a, b, c = ProductFactory(), ProductFactory(), ProductFactory()
    InteractionFactory(user=user, product=a, kind="view", created=now)
    InteractionFactory(user=user, product=a, kind="cart", created=now)
    InteractionFactory(user=user, product=b, kind="purchase", created=now - timedelta(days=30))
    InteractionFactory(user=user, product=c, kind="impression", created=now)
    InteractionFactory(user=user, product=c, kind="click", created=now)

    data = load_dataset(half_life_days=30.0)

    u = row(data, f"u:{user.pk}")
    assert data.n_events == 3  # impressions and clicks are not training signal
    assert data.matrix[u, col(data, a)] == pytest.approx(1.0 + 3.0, rel=1e-4)
    assert data.matrix[u, col(data, b)] == pytest.approx(5.0 * 0.5, rel=1e-3)
    assert data.matrix[u, col(data, c)] == 0


def test_sessions_sequences_and_baskets():
    t0 = timezone.now() - timedelta(hours=1)
    user = UserFactory()
    p = [ProductFactory() for _ in range(4)]
    InteractionFactory(user=user, product=p[2], kind="view", created=t0 + timedelta(minutes=2))
    InteractionFactory(user=user, product=p[0], kind="view", created=t0)
    InteractionFactory(user=user, product=p[1], kind="view", created=t0 + timedelta(minutes=1))
    for prod in (p[0], p[1]):
        InteractionFactory(user=user, product=prod, kind="purchase", created=t0, basket="o1")
    InteractionFactory(user=None, anonymous_id="abc", product=p[3], kind="view", created=t0)
    InteractionFactory(user=None, anonymous_id="abc", product=p[3], kind="purchase", basket="o2")

    data = load_dataset()

    assert sorted(data.user_keys) == sorted([f"u:{user.pk}", "a:abc"])
    u = row(data, f"u:{user.pk}")
    viewed = data.sequence(u)[data.seq_kinds[data.seq_indptr[u] : data.seq_indptr[u + 1]] == 0]
    assert list(data.item_ids[viewed]) == [p[0].pk, p[1].pk, p[2].pk]  # time order
    assert data.baskets.shape[0] == 2
    baskets = {frozenset(data.item_ids[data.baskets[i].indices]) for i in range(2)}
    assert baskets == {frozenset({p[0].pk, p[1].pk}), frozenset({p[3].pk})}
    assert set(np.unique(data.seq_kinds)) == {KIND_CODES["view"], KIND_CODES["purchase"]}


def test_new_and_inactive_products_get_columns_and_features():
    fresh = ProductFactory(name="Fresh kettle", description="Boils fast", tags="steel,kitchen")
    retired = ProductFactory(active=False)
    hidden = ProductFactory(active=False)  # inactive and no events: no column
    InteractionFactory(product=retired)

    data = load_dataset()

    assert fresh.pk in data.item_ids and retired.pk in data.item_ids
    assert hidden.pk not in data.item_ids
    j = col(data, fresh)
    assert data.matrix[:, j].nnz == 0
    assert data.features.text[j] == "Fresh kettle Boils fast steel kitchen"
    assert data.features.category_names[data.features.category[j]] == fresh.category.name
    assert data.features.brand_names[data.features.brand[j]] == "Acme"
    assert data.features.price[j] == pytest.approx(19.99)


def test_window_and_fold_in_restrictions():
    now = timezone.now()
    a, b = UserFactory(), UserFactory()
    old, new = ProductFactory(), ProductFactory()
    InteractionFactory(user=a, product=old, created=now - timedelta(days=5))
    InteractionFactory(user=b, product=new, created=now)

    recent = load_dataset(since=now - timedelta(days=1))
    assert list(recent.user_keys) == [f"u:{b.pk}"]
    early = load_dataset(until=now - timedelta(days=1))
    assert list(early.user_keys) == [f"u:{a.pk}"]

    # Fold-in: the model's columns are fixed; events on other products are dropped.
    folded = load_dataset(users=[f"u:{a.pk}", f"u:{b.pk}"], item_ids=np.array([old.pk]))
    assert list(folded.item_ids) == [old.pk]
    assert folded.n_events == 1 and list(folded.user_keys) == [f"u:{a.pk}"]


def test_empty_log():
    ProductFactory()
    data = load_dataset()
    assert data.n_users == 0 and data.n_events == 0 and data.n_items == 1


def test_user_keys_round_trip():
    assert user_key(7) == "u:7" and user_key(None, "abc") == "a:abc"
    assert parse_user_key("u:7") == (7, "") and parse_user_key("a:abc") == (None, "abc")
    assert split_user_keys(["u:1", "a:x", "u:2"]) == ([1, 2], ["x"])
    for bad in ("7", "u:x", "s:", "x:1"):
        with pytest.raises(ValueError):
            parse_user_key(bad)


def test_bulk_rows_are_read_in_chunks(monkeypatch):
    """Chunked streaming gives the same result as one chunk."""
    from recommendations.training import extract as data_module

    products = [ProductFactory() for _ in range(3)]
    users = [UserFactory() for _ in range(5)]
    now = timezone.now()
    Interaction.objects.bulk_create(
        Interaction(user=u, product=p, kind="view", created=now - timedelta(minutes=i))
        for i, (u, p) in enumerate((u, p) for u in users for p in products)
    )
    whole = load_dataset()
    monkeypatch.setattr(data_module, "CHUNK_SIZE", 4)
    chunked = load_dataset()
    assert (whole.matrix != chunked.matrix).nnz == 0
    assert np.array_equal(whole.seq_items, chunked.seq_items)
