"""Interaction rows -> Dataset: the one place the behaviour log becomes training data.

Rows are streamed in chunks straight into numpy arrays; event times are converted to
epoch seconds by the database, so no Python datetime is built per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import numpy as np
from django.conf import settings
from django.db import connections
from django.db.models import Case, FloatField, Func, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce

from shop.models import Category, Product

from ..models import Interaction
from .dataset import KIND_CODES, Dataset, ItemFeatures, build_dataset

CHUNK_SIZE = 50_000
# Only these kinds are training signal; impressions and clicks measure widgets.
TRAINING_KINDS = tuple(KIND_CODES)


class EpochSeconds(Func):
    """Seconds since 1970-01-01 UTC of a datetime column, computed by the database."""

    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra):  # type: ignore[override]
        vendor = connection.vendor
        if vendor == "postgresql":
            template = "EXTRACT(EPOCH FROM %(expressions)s)::double precision"
        elif vendor == "sqlite":
            # SQLite stores UTC text; julianday() parses it with sub-second precision.
            template = "((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
        elif vendor == "mysql":
            template = "UNIX_TIMESTAMP(%(expressions)s)"
        else:
            raise NotImplementedError(f"EpochSeconds: unsupported database {vendor!r}")
        return super().as_sql(compiler, connection, template=template, **extra)


def user_key(user_id: int | None, anonymous_id: str = "") -> str:
    """The Dataset key of a shopper: "u:<user id>" or "a:<anonymous id>"."""
    return f"u:{user_id}" if user_id else f"a:{anonymous_id}"


def parse_user_key(key: str) -> tuple[int | None, str]:
    """(user_id, "") or (None, anonymous_id) from a Dataset user key; ValueError if malformed."""
    prefix, _, rest = str(key).partition(":")
    if prefix == "u" and rest.isdigit():
        return int(rest), ""
    if prefix == "a" and rest:
        return None, rest
    raise ValueError(f"not a shopper key: {key!r}")


def split_user_keys(keys: Iterable[str]) -> tuple[list[int], list[str]]:
    """Separate shopper keys into user ids and anonymous ids."""
    user_ids: list[int] = []
    sessions: list[str] = []
    for key in keys:
        uid, session = parse_user_key(key)
        if uid is not None:
            user_ids.append(uid)
        else:
            sessions.append(session)
    return user_ids, sessions


def _events(queryset) -> dict[str, np.ndarray]:
    """Parallel event arrays from a filtered Interaction queryset, chunk by chunk.

    The database computes epoch seconds, kind codes and 0 for anonymous user ids, and
    rows go from a server-side cursor (``chunked_cursor``) straight into arrays:
    Django's per-row model/converter machinery would cost more than everything else.
    """
    kind_code = Case(
        *[When(kind=name, then=Value(code)) for name, code in KIND_CODES.items()],
        default=Value(-1),
        output_field=IntegerField(),
    )
    rows = (
        queryset.order_by()
        .annotate(
            u=Coalesce("user_id", Value(0)),
            # Strings only where they matter: ids of guests' rows, baskets of buys.
            s=Case(When(user__isnull=True, then="anonymous_id"), default=Value("")),
            b=Case(When(kind="purchase", then="basket"), default=Value("")),
            t=EpochSeconds("created"),
            k=kind_code,
        )
        .values_list("u", "s", "product_id", "k", "t", "b")
    )
    sql, params = rows.query.sql_with_params()
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("uid", "sess", "item", "kind", "t", "b")}
    with connections[rows.db].chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(CHUNK_SIZE):
            uid, sess, item, kind, t, basket = zip(*batch, strict=True)
            parts["uid"].append(np.array(uid, dtype=np.int64))
            parts["sess"].append(np.array(sess, dtype=object))
            parts["item"].append(np.array(item, dtype=np.int64))
            parts["kind"].append(np.array(kind, dtype=np.int8))
            parts["t"].append(np.array(t, dtype=np.float64))
            parts["b"].append(np.array(basket, dtype=object))
    dtypes = {"uid": np.int64, "sess": object, "item": np.int64, "kind": np.int8}
    dtypes["t"] = np.float64
    return {
        k: np.concatenate(v) if v else np.zeros(0, dtype=dtypes.get(k, object))
        for k, v in parts.items()
    }


def _shopper_keys(uid: np.ndarray, sess: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct "u:<id>"/"a:<anonymous id>" strings, per-event index into them).

    One string is built per distinct shopper, never per event.
    """
    is_user = uid > 0
    users, user_inv = np.unique(uid[is_user], return_inverse=True)
    sessions, sess_inv = np.unique(sess[~is_user].astype(str), return_inverse=True)
    table = np.array([f"u:{u}" for u in users] + [f"a:{s}" for s in sessions], dtype=object)
    codes = np.empty(len(uid), dtype=np.int64)
    codes[is_user] = user_inv
    codes[~is_user] = sess_inv + len(users)
    order = np.argsort(table.astype(str), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return table[order], rank[codes]


def item_features(item_ids: np.ndarray) -> ItemFeatures:
    """Content of the given products (name + description + tags, category, brand, price)."""
    # The whole catalogue in one query (no huge IN list); unneeded rows are ignored.
    rows = {
        r[0]: r
        for r in Product.objects.order_by().values_list(
            "id", "name", "description", "tags", "category_id", "brand", "price"
        )
    }
    categories = dict(Category.objects.values_list("id", "name"))
    cat_ids = sorted(categories)
    cat_code = {cid: n for n, cid in enumerate(cat_ids)}
    brands = sorted({r[5] for r in rows.values() if r[5]})
    brand_code = {b: n for n, b in enumerate(brands)}
    text, cats, brand_arr, prices = [], [], [], []
    for pid in item_ids:
        r = rows.get(int(pid))
        if r is None:  # deleted since its events were read
            text.append("")
            cats.append(-1)
            brand_arr.append(-1)
            prices.append(0.0)
            continue
        tags = r[3].replace(",", " ") if r[3] else ""
        text.append(" ".join(part for part in (r[1], r[2], tags) if part))
        cats.append(cat_code.get(r[4], -1))
        brand_arr.append(brand_code.get(r[5], -1))
        prices.append(float(r[6] or 0))
    return ItemFeatures(
        text=text,
        category=np.array(cats, dtype=np.int32),
        brand=np.array(brand_arr, dtype=np.int32),
        price=np.array(prices, dtype=np.float32),
        category_names=[categories[c] for c in cat_ids],
        brand_names=brands,
    )


def catalogue_item_ids(event_items: np.ndarray) -> np.ndarray:
    """Column order: every active product plus every product that has events."""
    active = np.fromiter(
        Product.objects.filter(active=True).values_list("id", flat=True).iterator(),
        dtype=np.int64,
    )
    return np.union1d(active, np.unique(event_items))


def load_dataset(
    since: datetime | None = None,
    until: datetime | None = None,
    half_life_days: float | None = None,
    *,
    users: Iterable[str] | None = None,
    item_ids: np.ndarray | None = None,
    features: bool = True,
    now: float | None = None,
) -> Dataset:
    """A Dataset of views, carts and purchases from the Interaction table.

    ``since``/``until`` bound event times (until exclusive). ``users`` restricts to
    those shopper keys (fold-in of recent shoppers); ``item_ids`` fixes the columns
    (events on other products are dropped), default: active products + products
    with events. ``now`` is the decay reference (default: the latest event).
    """
    if half_life_days is None:
        half_life_days = settings.RECOMMENDATIONS["HALF_LIFE_DAYS"]
    qs = Interaction.objects.filter(kind__in=TRAINING_KINDS)
    if since is not None:
        qs = qs.filter(created__gte=since)
    if until is not None:
        qs = qs.filter(created__lt=until)
    if users is not None:
        user_ids, sessions = split_user_keys(users)
        qs = qs.filter(Q(user_id__in=user_ids) | Q(user__isnull=True, anonymous_id__in=sessions))
    ev = _events(qs)
    if item_ids is None:
        item_ids = catalogue_item_ids(ev["item"])
    else:  # products added after the model was trained have no column: drop their events
        item_ids = np.asarray(item_ids, dtype=np.int64)
        keep = np.isin(ev["item"], item_ids)
        ev = {k: v[keep] for k, v in ev.items()}
    item_ids = np.asarray(item_ids, dtype=np.int64)
    # Integer shopper codes per event (one key string per shopper, none per event).
    table, codes = _shopper_keys(ev["uid"], ev["sess"])
    return build_dataset(
        codes,
        ev["item"],
        ev["kind"],
        ev["t"],
        ev["b"],
        item_ids=item_ids,
        features=item_features(item_ids) if features else None,
        half_life_days=half_life_days,
        now=now,
        user_keys=table,
    )
