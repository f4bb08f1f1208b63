"""Writing a generated demo shop to the database, and removing it again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.db import connection, models
from django.utils.text import slugify

from config.pg_copy import copy_rows, copy_text
from recommendations.models import Interaction, ModelVersion, RelatedProducts, UserRecommendations
from shop.models import Category, Order, OrderLine, Product

from ..models import DemoCategory, DemoProduct, demo_categories, demo_products
from .behaviour import KIND_NAMES
from .generate import DemoShop
from .shoppers import DEMO_EMAIL_DOMAIN

BATCH = 5_000
COPY_CHUNK = 200_000  # interaction rows per COPY statement
REBUILD_FROM = 100_000  # from this many rows, rebuilding indexes beats maintaining them
SOURCE = "seed_demo"  # Interaction.source of every generated event
INTERACTION_FIELDS = (
    "user",
    "anonymous_id",
    "product",
    "kind",
    "created",
    "quantity",
    "source",
    "basket",
)

Log = Callable[[str], None]
Tick = Callable[[int, int], None]  # (done, total)


def demo_users() -> models.QuerySet:
    """Accounts created by seed_demo (recognised by their e-mail domain)."""
    return get_user_model().objects.filter(email__iendswith=f"@{DEMO_EMAIL_DOMAIN}")


class DemoDataInUse(Exception):
    """Rows the generator did not make stand in the way of a reset or a seed."""


def reset_demo_data(log: Log) -> None:
    """Delete what seed_demo made; keep every other row and log how many were kept.

    Demo rows: shoppers (by e-mail domain) with their orders and events, the products and
    categories marked in demo/models.py, and events with the generator's source. Events of other
    shoppers on demo products go with those products. Trained models and their lists are
    dropped only when no product is left (they describe a catalogue that is gone).
    Raises ``DemoDataInUse`` (nothing deleted) when a kept order bought a demo product.
    """
    products = demo_products()
    in_use = OrderLine.objects.filter(product__in=products).exclude(order__user__in=demo_users())
    if in_use.exists():
        orders = in_use.values("order").distinct().count()
        raise DemoDataInUse(
            f"{orders:,} orders not made by the generator bought demo products; delete "
            "them (admin) or keep the demo data"
        )
    removed = (
        ("generated interactions", Interaction.objects.filter(source=SOURCE)),
        ("demo shoppers' orders", Order.objects.filter(user__in=demo_users())),
        ("demo shoppers (with their events)", demo_users()),
        ("demo products (with events on them)", products),
        ("demo categories", demo_categories()),
    )
    for label, queryset in removed:
        deleted, _ = queryset.delete()
        log(f"  deleted {deleted:,} rows: {label}")
    if not Product.objects.exists():
        for label, queryset in (
            ("user recommendation lists", UserRecommendations.objects.all()),
            ("related-product lists", RelatedProducts.objects.all()),
            ("model versions", ModelVersion.objects.all()),
        ):
            deleted, _ = queryset.delete()
            log(f"  deleted {deleted:,} rows: {label} (no catalogue left)")
    log("  kept (not made by the generator): " + _kept_counts())


def _kept_counts() -> str:
    """What a reset left in place, e.g. "3 products, 1 categories, 2 orders, ..."."""
    kept = {
        "products": Product.objects.count(),
        "categories": Category.objects.count(),
        "orders": Order.objects.count(),
        "accounts": get_user_model().objects.count(),
        "interactions": Interaction.objects.count(),
        "model versions": ModelVersion.objects.count(),
    }
    return ", ".join(f"{n:,} {label}" for label, n in kept.items())


def check_no_clash(shop: DemoShop) -> None:
    """Raise ``DemoDataInUse`` when kept rows hold the SKUs, slugs or names the demo needs."""
    cat = shop.catalogue
    wanted_categories = {s.name for s in cat.specs} | set(_category_slugs(shop))
    wanted_products = set(cat.sku) | set(cat.slug)
    clashes = {
        "categories": sum(
            bool(wanted_categories & {name, slug})
            for name, slug in Category.objects.values_list("name", "slug").iterator()
        ),
        "products": sum(
            bool(wanted_products & {sku, slug})
            for sku, slug in Product.objects.values_list("sku", "slug").iterator()
        ),
    }
    if any(clashes.values()):
        found = " and ".join(f"{n:,} {label}" for label, n in clashes.items() if n)
        raise DemoDataInUse(
            f"{found} not made by the generator use the demo's names, SKUs or slugs"
        )


def _category_slugs(shop: DemoShop) -> list[str]:
    return [slugify(s.name.replace("&", "and")) for s in shop.catalogue.specs]


@contextmanager
def _explicit_created(model: type[models.Model]) -> Iterator[None]:
    """Let bulk_create keep our ``created`` values despite ``auto_now_add``."""
    field = model._meta.get_field("created")
    saved = field.auto_now_add
    field.auto_now_add = False
    try:
        yield
    finally:
        field.auto_now_add = saved


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def _insert(model: type[models.Model], columns: dict[str, list]) -> np.ndarray:
    """Insert rows given column-wise (field name -> values); return their primary keys.

    PostgreSQL: ids reserved from the table's sequence, then one COPY. Elsewhere:
    bulk_create in batches (``created`` kept as given despite ``auto_now_add``).
    """
    n = len(next(iter(columns.values())))
    if _is_postgres():
        ids = _reserve_ids(model, n)
        _copy(model, {model._meta.pk.name: ids.tolist(), **columns})
        return ids
    names = list(columns)
    objs = [
        model(**dict(zip(names, values, strict=True)))
        for values in zip(*columns.values(), strict=True)
    ]
    with _explicit_created(model) if "created" in columns else nullcontext():
        created = model.objects.bulk_create(objs, batch_size=BATCH)
    return np.array([o.pk for o in created], dtype=np.int64)


def _mark(model: type[models.Model], field: str, ids: np.ndarray) -> None:
    """Record that the generator made the rows ``ids`` (DemoCategory / DemoProduct)."""
    if _is_postgres():
        _copy(model, {field: ids.tolist()})
    else:
        model.objects.bulk_create([model(**{field: i}) for i in ids.tolist()], batch_size=BATCH)


def _reserve_ids(model: type[models.Model], n: int) -> np.ndarray:
    """Take ``n`` fresh ids from the primary key's sequence (safe alongside other writers)."""
    opts = model._meta
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [opts.db_table, opts.pk.column, n],
        )
        return np.array([row[0] for row in cursor.fetchall()], dtype=np.int64)


def _copy(model: type[models.Model], columns: dict[str, list]) -> None:
    """COPY rows given column-wise into ``model``'s table."""
    copy_rows(model, list(columns), zip(*columns.values(), strict=True))


def write_shop(
    shop: DemoShop, anchor: datetime, password_hash: str, log: Log, progress: Tick | None = None
) -> dict[str, int]:
    """Insert everything in ``shop``; times are relative to ``anchor - days``.

    ``progress(done, total)`` follows the interaction rows (else ``log`` lines do)."""
    start = anchor - timedelta(days=shop.options.days)
    category_ids = _write_categories(shop)
    log(f"  {len(category_ids):,} categories")
    product_ids = _write_products(shop, start, category_ids)
    _mark(DemoCategory, "category_id", category_ids)
    _mark(DemoProduct, "product_id", product_ids)
    log(f"  {len(product_ids):,} products")
    user_ids = _write_shoppers(shop, start, password_hash)
    log(f"  {len(user_ids):,} shoppers")
    order_ids, line_ids = _write_orders(shop, start, user_ids, product_ids)
    log(f"  {len(order_ids):,} orders with {len(line_ids):,} lines")
    n_events = _write_interactions(shop, start, user_ids, product_ids, order_ids, log, progress)
    return {
        "categories": len(category_ids),
        "products": len(product_ids),
        "users": len(user_ids),
        "orders": len(order_ids),
        "order_lines": len(line_ids),
        "interactions": n_events,
    }


def _times(start: datetime, seconds: np.ndarray) -> list[datetime | None]:
    """Datetimes ``seconds`` after ``start`` (NaN: none)."""
    return [None if np.isnan(x) else start + timedelta(seconds=x) for x in seconds.tolist()]


def _money(cents: np.ndarray) -> list[Decimal]:
    return [Decimal(c).scaleb(-2) for c in cents.tolist()]


def _write_categories(shop: DemoShop) -> np.ndarray:
    specs = shop.catalogue.specs
    return _insert(
        Category,
        {
            "name": [s.name for s in specs],
            "slug": _category_slugs(shop),
            "description": [s.description for s in specs],
        },
    )


def _write_products(shop: DemoShop, start: datetime, category_ids: np.ndarray) -> np.ndarray:
    cat = shop.catalogue
    return _insert(
        Product,
        {
            "sku": cat.sku,
            "name": cat.name,
            "slug": cat.slug,
            "description": cat.description,
            "price": _money(cat.price_cents),
            "category_id": category_ids[cat.category].tolist(),
            "brand": [cat.brand_names[b] for b in cat.brand.tolist()],
            "tags": cat.tags,
            "stock": cat.stock.tolist(),
            "active": cat.active.tolist(),
            "created": _times(start, cat.created_offset + shop.options.days * 86_400.0),
            "image": [""] * len(cat),
        },
    )


def _write_shoppers(shop: DemoShop, start: datetime, password_hash: str) -> np.ndarray:
    users = shop.shoppers
    u = len(users)
    return _insert(
        get_user_model(),
        {
            "username": users.username,
            "email": users.email,
            "first_name": users.first_name,
            "last_name": users.last_name,
            "password": [password_hash] * u,
            "date_joined": _times(start, shop.joined),
            "last_login": _times(start, shop.last_login),
            "is_active": [True] * u,
            "is_staff": [False] * u,
            "is_superuser": [False] * u,
        },
    )


def _write_orders(
    shop: DemoShop, start: datetime, user_ids: np.ndarray, product_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Orders (to each buyer's name and address) and their lines; returns both ids."""
    users, orders = shop.shoppers, shop.orders
    buyer = orders.user.tolist()
    order_ids = _insert(
        Order,
        {
            "user_id": user_ids[orders.user].tolist(),
            "anonymous_id": [""] * len(orders),
            "email": [users.email[b] for b in buyer],
            "full_name": [f"{users.first_name[b]} {users.last_name[b]}" for b in buyer],
            "address": [users.address[b] for b in buyer],
            "status": shop.order_status.tolist(),
            "total": _money(orders.total_cents),
            "created": _times(start, orders.time),
        },
    )
    line_ids = _insert(
        OrderLine,
        {
            "order_id": order_ids[orders.line_order].tolist(),
            "product_id": product_ids[orders.line_product].tolist(),
            "quantity": orders.line_quantity.tolist(),
            "unit_price": _money(orders.line_unit_cents),
        },
    )
    return order_ids, line_ids


def _write_interactions(
    shop: DemoShop,
    start: datetime,
    user_ids: np.ndarray,
    product_ids: np.ndarray,
    order_ids: np.ndarray,
    log: Log,
    progress: Tick | None = None,
) -> int:
    """Interaction rows: COPY on PostgreSQL (an order of magnitude faster), else bulk_create."""
    n = len(shop.events)
    copy = _is_postgres()
    opts = Interaction._meta
    step = COPY_CHUNK if copy else BATCH * 4
    bulk = copy and n >= REBUILD_FROM
    with _secondary_indexes_dropped(opts.db_table) if bulk else nullcontext():
        _write_interaction_chunks(
            shop, start, user_ids, product_ids, order_ids, progress or _log_tick(log), copy, step
        )
        if bulk:
            log("  rebuilding interaction indexes and foreign keys")
    return n


def _write_interaction_chunks(
    shop: DemoShop,
    start: datetime,
    user_ids: np.ndarray,
    product_ids: np.ndarray,
    order_ids: np.ndarray,
    progress: Tick,
    copy: bool,
    step: int,
) -> None:
    ev = shop.events
    n = len(ev)
    kinds = np.array(KIND_NAMES)
    start_us = np.datetime64(start.replace(tzinfo=None), "us")
    opts = Interaction._meta
    columns = [opts.get_field(f).column for f in INTERACTION_FIELDS]
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        users = user_ids[ev.user[lo:hi]].tolist()
        products = product_ids[ev.product[lo:hi]].tolist()
        kind = kinds[ev.kind[lo:hi]].tolist()
        micros = np.rint(ev.time[lo:hi] * 1e6).astype("timedelta64[us]")
        quantity = ev.quantity[lo:hi].tolist()
        # Every demo shopper is signed in: identified by user only, no anonymous id.
        session = [""] * (hi - lo)
        order = ev.order[lo:hi]
        basket = np.where(order >= 0, order_ids[np.maximum(order, 0)].astype(str), "").tolist()
        if copy:
            created = np.datetime_as_string(start_us + micros, unit="us", timezone="UTC").tolist()
            rows = zip(users, session, products, kind, created, quantity, basket, strict=True)
            text = "".join(
                f"{u}\t{s}\t{p}\t{k}\t{c}\t{q}\t{SOURCE}\t{b}\n" for u, s, p, k, c, q, b in rows
            )
            copy_text(opts.db_table, columns, text)
        else:
            seconds = (micros.astype(np.int64) / 1e6).tolist()
            Interaction.objects.bulk_create(
                [
                    Interaction(
                        user_id=u,
                        anonymous_id=s,
                        product_id=p,
                        kind=k,
                        created=start + timedelta(seconds=t),
                        quantity=q,
                        source=SOURCE,
                        basket=b,
                    )
                    for u, s, p, k, t, q, b in zip(
                        users, session, products, kind, seconds, quantity, basket, strict=True
                    )
                ],
                batch_size=BATCH,
            )
        progress(hi, n)


def _log_tick(log: Log) -> Tick:
    """Progress as log lines."""
    return lambda done, total: log(f"  interactions {done:,}/{total:,}")


@contextmanager
def _secondary_indexes_dropped(table: str) -> Iterator[None]:
    """Bulk-load without maintaining secondary indexes and per-row foreign-key checks.

    PostgreSQL's advice for populating a table: drop them, load, then rebuild
    (one sort per index, one join per foreign key). The definitions are read from
    the catalog and restored verbatim. DDL is transactional, so a failure inside
    the surrounding transaction rolls everything back, indexes included.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("bulk load must run inside a transaction")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        # Run the checks still queued for rows written so far (ALTER TABLE refuses to
        # touch a referenced table with pending trigger events).
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index i "
            "WHERE indrelid = %s::regclass AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [table],
        )
        indexes = cursor.fetchall()
        for name, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")  # regclass text is already quoted
    yield
    with connection.cursor() as cursor:
        for _, definition in indexes:
            cursor.execute(definition)
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
