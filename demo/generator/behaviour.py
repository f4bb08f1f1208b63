"""Shopping sessions simulated in bulk: views that wander through related products,
add-to-carts, and checkouts whose baskets include complementary products.

Everything is vectorised over sessions; the only Python loop is over the step
within a session (at most MAX_STEPS iterations for any number of sessions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalogue import DAY, Catalogue
from .sampling import cumulative_choice, sample_rows
from .shoppers import Shoppers

VIEW, CART, PURCHASE = 0, 1, 2
KIND_NAMES = ("view", "cart", "purchase")
MAX_STEPS = 30  # views per session at most
NEIGHBOUR_WEIGHTS = np.array([0.25, 0.2, 0.15, 0.15, 0.15, 0.1])
PARTNER_WEIGHTS = np.array([0.5, 0.3, 0.2])
# Relative traffic by hour of day (UTC): quiet nights, lunch and evening peaks.
HOUR_WEIGHTS = np.array(
    [2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 9, 11, 10, 8, 8, 8, 9, 11, 13, 14, 13, 9, 5], dtype=float
)


@dataclass
class Events:
    """Interactions as parallel arrays, sorted by time."""

    user: np.ndarray  # shopper index
    product: np.ndarray  # product index
    kind: np.ndarray  # VIEW / CART / PURCHASE
    time: np.ndarray  # seconds since the window start
    quantity: np.ndarray
    session: np.ndarray  # session index
    order: np.ndarray  # order index for purchases, else -1

    def __len__(self) -> int:
        return len(self.user)


@dataclass
class Orders:
    """Orders (one per checked-out session) and their lines."""

    user: np.ndarray
    time: np.ndarray
    total_cents: np.ndarray
    line_order: np.ndarray
    line_product: np.ndarray
    line_quantity: np.ndarray
    line_unit_cents: np.ndarray

    def __len__(self) -> int:
        return len(self.user)


@dataclass
class _Batch:
    session: np.ndarray
    product: np.ndarray
    kind: np.ndarray
    time: np.ndarray
    quantity: np.ndarray
    session_user: np.ndarray
    checkout_time: np.ndarray


def simulate(
    rng: np.random.Generator,
    catalogue: Catalogue,
    shoppers: Shoppers,
    n_events: int,
    days: int,
) -> tuple[Events, Orders]:
    """Exactly ``n_events`` interactions over ``days`` days, and the orders they imply."""
    if n_events == 0:
        none = np.zeros(0, dtype=np.int64)
        return (
            Events(none, none, none.astype(np.int8), none.astype(float), none, none, none),
            Orders(none, none.astype(float), none, none, none, none, none),
        )
    b = _concatenate(_simulate_batches(rng, catalogue, shoppers, n_events, days), n_events)
    # Keep every event inside the window: shift sessions that run past its end.
    end = np.zeros(len(b.session_user))
    np.maximum.at(end, b.session, b.time)
    late = np.maximum(end - days * DAY, 0.0)
    b.time = np.maximum(b.time - late[b.session], 0.0)
    b.checkout_time = b.checkout_time - late
    # Compact session ids to the ones kept.
    used, b.session = np.unique(b.session, return_inverse=True)
    b.session_user = b.session_user[used]
    b.checkout_time = b.checkout_time[used]
    order, orders = _orders(b, catalogue)
    by_time = np.argsort(b.time, kind="stable")
    events = Events(
        user=b.session_user[b.session][by_time],
        product=b.product[by_time],
        kind=b.kind[by_time],
        time=b.time[by_time],
        quantity=b.quantity[by_time],
        session=b.session[by_time],
        order=order[by_time],
    )
    return events, orders


def _simulate_batches(
    rng, catalogue: Catalogue, shoppers: Shoppers, n_events: int, days: int
) -> list[_Batch]:
    """Batches of sessions until they hold at least ``n_events`` events."""
    batches: list[_Batch] = []
    total = 0
    per_session = 4.5  # first guess; measured after the first batch
    while total < n_events:
        size = int((n_events - total) / per_session * 1.05) + 16
        batch = _simulate_sessions(rng, catalogue, shoppers, size, days)
        batches.append(batch)
        total += len(batch.session)
        per_session = max(total / sum(len(b.session_user) for b in batches), 1.0)
    return batches


def _concatenate(batches: list[_Batch], n_events: int) -> _Batch:
    """One batch of the first ``n_events`` events (session ids made global)."""
    offset = 0
    parts = []
    for b in batches:
        parts.append((b, offset))
        offset += len(b.session_user)
    return _Batch(
        session=np.concatenate([b.session + o for b, o in parts])[:n_events],
        product=np.concatenate([b.product for b in batches])[:n_events],
        kind=np.concatenate([b.kind for b in batches])[:n_events],
        time=np.concatenate([b.time for b in batches])[:n_events],
        quantity=np.concatenate([b.quantity for b in batches])[:n_events],
        session_user=np.concatenate([b.session_user for b in batches]),
        checkout_time=np.concatenate([b.checkout_time for b in batches]),
    )


def _orders(b: _Batch, catalogue: Catalogue) -> tuple[np.ndarray, Orders]:
    """(order index per event, -1 unless a purchase; the orders): one per session that
    bought, its lines at catalogue prices."""
    purchase = b.kind == PURCHASE
    order_sessions, line_order = np.unique(b.session[purchase], return_inverse=True)
    order = np.full(len(b.session), -1, dtype=np.int64)
    order[purchase] = line_order
    line_product = b.product[purchase]
    line_quantity = b.quantity[purchase]
    line_unit = catalogue.price_cents[line_product]
    totals = np.bincount(
        line_order, weights=line_unit * line_quantity, minlength=len(order_sessions)
    )
    orders = Orders(
        user=b.session_user[order_sessions],
        time=b.checkout_time[order_sessions],
        total_cents=np.rint(totals).astype(np.int64),
        line_order=line_order,
        line_product=line_product,
        line_quantity=line_quantity,
        line_unit_cents=line_unit,
    )
    return order, orders


def _draw(rng, catalogue: Catalogue, shoppers: Shoppers, users, cats) -> np.ndarray:
    """A product of each category for each shopper: the best of three popular candidates
    by the shopper's own taste (brand loyalty, price sensitivity) plus noise."""
    cand = catalogue.by_category.sample(np.repeat(cats, 3), rng).reshape(-1, 3)
    liked_brand = shoppers.brand_pref[users, cats][:, None]
    utility = (
        shoppers.loyalty[users][:, None] * (catalogue.brand[cand] == liked_brand)
        - 0.8 * shoppers.sensitivity[users][:, None] * catalogue.price_z[cand]
        + rng.gumbel(size=cand.shape)
    )
    return cand[np.arange(len(cand)), utility.argmax(axis=1)]


def _quantity(rng, catalogue: Catalogue, products: np.ndarray) -> np.ndarray:
    """1 mostly; consumables often come in twos and threes."""
    r = rng.random((2, len(products)))
    cons = catalogue.consumable[products]
    extra = np.where(cons, (r[0] < 0.35).astype(int) + (r[1] < 0.1), (r[0] < 0.03).astype(int))
    return 1 + extra


def _simulate_sessions(rng, catalogue: Catalogue, shoppers: Shoppers, n: int, days: int):
    """``n`` sessions' events, sorted by (session, time)."""
    users = cumulative_choice(shoppers.activity, n, rng)
    cat = sample_rows(shoppers.category_cum, users, rng)
    length = np.minimum(rng.geometric(0.24, n), MAX_STEPS)
    items = _browse(rng, catalogue, shoppers, users, cat, length)
    view_time = _view_times(rng, n, items.shape[1], days)
    mask = np.arange(items.shape[1])[None, :] < length[:, None]
    v_sess, _ = np.nonzero(mask)
    views = (v_sess, items[mask], view_time[mask])
    last_view = view_time[np.arange(n), length - 1]
    c_sess, c_prod, c_time, c_qty = _add_to_carts(rng, catalogue, shoppers, users, views)

    # Checkout: some sessions with a cart buy (most of) it, one order per session.
    has_cart = np.bincount(c_sess, minlength=n) > 0
    checks_out = has_cart & (rng.random(n) < 0.55)
    checkout_time = last_view + rng.uniform(90.0, 300.0, n)
    bought = checks_out[c_sess] & (rng.random(len(c_sess)) < 0.9)
    key = c_sess[bought] * len(catalogue) + c_prod[bought]
    _, first = np.unique(key, return_index=True)  # one line per product per order
    p_sess = c_sess[bought][first]
    p_prod = c_prod[bought][first]
    p_qty = c_qty[bought][first]
    x_sess, x_prod, x_qty = _complements(rng, catalogue, p_sess, p_prod)
    x_time = checkout_time[x_sess] - rng.uniform(20.0, 60.0, len(x_sess))

    v_sess, v_prod, v_time = views
    session = np.concatenate([v_sess, c_sess, x_sess, p_sess, x_sess])
    product = np.concatenate([v_prod, c_prod, x_prod, p_prod, x_prod])
    kind = np.concatenate(
        [
            np.full(len(v_sess), VIEW),
            np.full(len(c_sess) + len(x_sess), CART),
            np.full(len(p_sess) + len(x_sess), PURCHASE),
        ]
    ).astype(np.int8)
    time = np.concatenate([v_time, c_time, x_time, checkout_time[p_sess], checkout_time[x_sess]])
    quantity = np.concatenate([np.ones(len(v_sess), dtype=np.int64), c_qty, x_qty, p_qty, x_qty])
    order = np.lexsort((kind, time, session))
    return _Batch(
        session=session[order],
        product=product[order],
        kind=kind[order],
        time=time[order],
        quantity=quantity[order],
        session_user=users,
        checkout_time=checkout_time,
    )


def _browse(rng, catalogue: Catalogue, shoppers: Shoppers, users, cat, length) -> np.ndarray:
    """(sessions, steps) products viewed, -1 after a session's ``length``: each page a
    neighbour of the last, a fresh draw from a (possibly new) category, or a return."""
    n, steps = len(users), int(length.max())
    items = np.full((n, steps), -1, dtype=np.int64)
    items[:, 0] = _draw(rng, catalogue, shoppers, users, cat)
    for t in range(1, steps):
        act = np.flatnonzero(length > t)
        prev = items[act, t - 1]
        r = rng.random(len(act))
        nxt = np.empty(len(act), dtype=np.int64)
        # Half the time the next page is a neighbour of the last one (sequence structure).
        nb = r < 0.5
        cols = cumulative_choice(NEIGHBOUR_WEIGHTS, int(nb.sum()), rng)
        nxt[nb] = catalogue.neighbours[prev[nb], cols]
        switch = (r >= 0.85) & (r < 0.95)
        cat[act[switch]] = sample_rows(shoppers.category_cum, users[act[switch]], rng)
        fresh = (r >= 0.5) & (r < 0.95)
        nxt[fresh] = _draw(rng, catalogue, shoppers, users[act[fresh]], cat[act[fresh]])
        back = r >= 0.95  # back to something seen earlier in the session
        earlier = (rng.random(int(back.sum())) * t).astype(np.int64)
        nxt[back] = items[act[back], earlier]
        items[act, t] = nxt
    return items


def _view_times(rng, n: int, steps: int, days: int) -> np.ndarray:
    """(sessions, steps) view times: session starts busier towards the end of the
    window, at weekends and in the evening; then gaps of about a minute."""
    day_idx = np.arange(days)
    day_w = (1.0 + 0.5 * day_idx / max(days, 1)) * np.where(day_idx % 7 >= 5, 1.25, 1.0)
    start = (
        cumulative_choice(day_w, n, rng) * DAY
        + cumulative_choice(HOUR_WEIGHTS, n, rng) * 3600.0
        + rng.random(n) * 3600.0
    )
    gaps = 20.0 + rng.lognormal(3.6, 0.9, (n, steps))
    gaps[:, 0] = 0.0
    return start[:, None] + np.cumsum(gaps, axis=1)


def _add_to_carts(rng, catalogue: Catalogue, shoppers: Shoppers, users, views):
    """(session, product, time, quantity) of add-to-carts after ``views`` (session,
    product, time): likelier for favourite categories, the liked brand and prices that
    suit the shopper."""
    v_sess, v_prod, v_time = views
    v_user = users[v_sess]
    v_cat = catalogue.category[v_prod]
    liked_brand = catalogue.brand[v_prod] == shoppers.brand_pref[v_user, v_cat]
    favourite = (shoppers.top_categories[v_user] == v_cat[:, None]).any(axis=1)
    logit = (
        np.log(0.05)
        + 0.7 * liked_brand
        + 0.5 * favourite
        - 0.35 * shoppers.sensitivity[v_user] * catalogue.price_z[v_prod]
    )
    carted = rng.random(len(v_prod)) < np.minimum(np.exp(logit), 0.6)
    c_sess = v_sess[carted]
    c_prod = v_prod[carted]
    c_time = v_time[carted] + rng.uniform(4.0, 16.0, len(c_prod))
    return c_sess, c_prod, c_time, _quantity(rng, catalogue, c_prod)


def _complements(rng, catalogue: Catalogue, p_sess, p_prod):
    """(session, product, quantity) of complementary products added at checkout
    ("bought together"), never one the order already holds."""
    adds = rng.random(len(p_prod)) < 0.3
    col = cumulative_choice(PARTNER_WEIGHTS, int(adds.sum()), rng)
    x_sess = p_sess[adds]
    x_prod = catalogue.partners[p_prod[adds], col]
    x_key = x_sess * len(catalogue) + x_prod
    x_key, keep = np.unique(x_key, return_index=True)
    keep = keep[~np.isin(x_key, p_sess * len(catalogue) + p_prod)]
    x_sess, x_prod = x_sess[keep], x_prod[keep]
    return x_sess, x_prod, _quantity(rng, catalogue, x_prod)
