"""Per-shopper lists and reasons, computed batch-wise, against the per-shopper rule."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import override_settings

from recommendations.models import ModelVersion, RelatedProducts, UserRecommendations
from recommendations.reasons import TRENDING
from recommendations.training import lists, precompute
from recommendations.training.algorithms import make_algorithm
from recommendations.training.dataset import KIND_CODES, build_dataset
from tests.factories import ProductFactory, UserFactory


def _log(seed: int = 11, n_users: int = 150, n_items: int = 40):
    rng = np.random.default_rng(seed)
    users, items, kinds, times = [], [], [], []
    for u in range(n_users):
        start = int(rng.integers(0, n_items))
        for step in range(int(rng.integers(1, 30))):  # some shoppers have seen a lot
            item = (start + step) % n_items if rng.random() < 0.7 else int(rng.integers(n_items))
            users.append(f"u:{u}")
            items.append(item + 100)
            kinds.append(int(rng.choice([0, 0, 0, 1, 2])))
            times.append(1_000_000.0 + u * 10_000 + step * 60)
    return build_dataset(
        np.array(users, dtype=object),
        np.array(items),
        np.array(kinds),
        np.array(times),
        item_ids=np.arange(n_items) + 100,
    )


def _context(model, n_items: int, seed: int = 2):
    rng = np.random.default_rng(seed)
    categories = [["Kitchen", "Garden", "", None][i % 4] for i in range(n_items)]
    active = rng.random(n_items) > 0.2
    return lists.build_context(
        model,
        names=[f"P{i}" for i in range(n_items)],
        categories=categories,
        exists=np.ones(n_items, dtype=bool),
        active=active,
    )


def reference_lists(ctx, users, data, n, k):
    """The rule one shopper at a time, as precompute applied it before batching."""
    idx, scores = ctx.model.recommend(users, k, data=data)
    out = []
    for row, user in enumerate(users):
        keep = np.isfinite(scores[row]) & ctx.active[idx[row]]
        items, item_scores = idx[row][keep][:n], scores[row][keep][:n]
        personal = len(items)
        if personal < n:
            taken = np.union1d(data.matrix[user].indices, items)
            head = ctx.popular[: n + len(taken)]
            fill = head[~np.isin(head, taken)][: n - personal]
            items = np.concatenate([items, fill])
            item_scores = np.concatenate([item_scores, np.zeros(len(fill), dtype=np.float32)])
        seq = data.sequence(user)
        kinds = data.seq_kinds[data.seq_indptr[user] : data.seq_indptr[user + 1]]
        recent, first = np.unique(seq[::-1], return_index=True)
        history = recent[np.argsort(first)[: lists.HISTORY_FOR_REASONS]]
        bought = {int(i) for i in seq[kinds == KIND_CODES["purchase"]]}
        user_categories = {ctx.categories[i] for i in history if ctx.categories[i]}
        sims = np.zeros((0, len(items)))
        if len(history) and personal and ctx.model.name != "popularity":
            sims = ctx.similar[history][:, items[:personal]].toarray()
        reasons = []
        for pos, item in enumerate(items):
            if sims.shape[0] and pos < sims.shape[1] and sims[:, pos].max() > 0:
                because = int(history[int(np.argmax(sims[:, pos]))])
                verb = "bought" if because in bought else "viewed"
                reasons.append(f"Because you {verb} {ctx.names[because]}")
            elif ctx.categories[item] in user_categories:
                reasons.append(f"Popular in {ctx.categories[item]}")
            else:
                reasons.append(TRENDING)
        out.append(
            (
                str(data.user_keys[user]),
                [int(i) for i in data.item_ids[items]],
                [round(float(s), 6) for s in item_scores],
                reasons,
            )
        )
    return out


@pytest.mark.parametrize("name", ["cooccurrence", "transitions", "popularity"])
@pytest.mark.parametrize("n", [5, 30])  # 30 of 40 items: many lists are topped up
def test_batched_lists_and_reasons_match_the_per_shopper_rule(name, n):
    data = _log()
    ctx = _context(make_algorithm(name).fit(data), data.n_items)
    users = np.arange(data.n_users)
    k = min(data.n_items, 2 * n + 10)
    got = lists._user_batch(ctx, users, data, n, k)
    expected = reference_lists(ctx, users, data, n, k)
    assert got == expected
    # Every kind of reason occurs (long lists reach past the strong neighbours).
    reasons = [r for _, _, _, rs in got for r in rs]
    assert any(r.startswith("Because you bought") for r in reasons) or name == "popularity"
    if n == 30:
        assert any(r.startswith("Popular in") for r in reasons) and TRENDING in reasons
    assert "Popular in None" not in reasons and "Popular in " not in reasons


@override_settings(RECOMMENDATIONS={"TOP_N": 10})
def test_user_lists_in_batches_equal_one_batch(monkeypatch, db):
    data = _log(seed=4)
    ctx = _context(make_algorithm("cooccurrence").fit(data), data.n_items)
    monkeypatch.setattr(lists, "refresh_availability", lambda ctx: ctx)
    one = lists._user_batch(ctx, np.arange(data.n_users), data, 10, 30)
    monkeypatch.setattr(lists, "SCORE_BATCH", 7)
    assert lists.user_lists(ctx, np.arange(data.n_users), n=10) == one


def test_written_rows_read_back_exactly_and_replace_earlier_ones(db):
    version = ModelVersion.objects.create(algorithm="popularity", status="precomputing")
    user = UserFactory()
    products = [ProductFactory(), ProductFactory()]
    nasty = 'Because you viewed Mug "big", 1\\2\nline\ttab ü'
    entries = [
        (
            f"u:{user.pk}",
            [products[0].pk, products[1].pk],
            [0.5, 0.123457],
            [nasty, "Trending now"],
        ),
        ("a:guest1", [products[1].pk], [1e-06], ["Popular in A, B"]),
        ("u:999999", [products[0].pk], [0.1], ["x"]),  # account deleted since the extract
    ]
    assert precompute.write_user_lists(version.pk, entries) == 2
    assert precompute.write_user_lists(version.pk, entries[:2]) == 2  # idempotent
    rows = UserRecommendations.objects.filter(version=version)
    assert rows.count() == 2
    mine = rows.get(user=user)
    assert (mine.product_ids, mine.scores, mine.reasons, mine.anonymous_id) == (
        entries[0][1],
        entries[0][2],
        entries[0][3],
        "",
    )
    guest = rows.get(user=None)
    assert (guest.anonymous_id, guest.reasons, guest.scores) == (
        "guest1",
        ["Popular in A, B"],
        [1e-06],
    )
    assert mine.created is not None

    related = [(products[0].pk, "similar", [products[1].pk], [0.75])]
    assert precompute.write_related_lists(version.pk, [products[0].pk], related) == 1
    assert precompute.write_related_lists(version.pk, [products[0].pk], related) == 1
    row = RelatedProducts.objects.get(version=version)
    assert (row.product_id, row.kind, row.product_ids, row.scores) == related[0]
