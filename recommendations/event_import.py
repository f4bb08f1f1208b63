"""Behaviour import: CSV event files (ours, Online Retail, DIGINETICA) -> Interaction rows.

Same contract as the catalogue importer (shop/catalog_import.py, whose file reading,
report and product creation it reuses): one transaction, bad rows reported by line
and skipped unless ``strict``, and idempotent. Users the file names but the database
lacks are reported (how many, the first few with their lines) and created only with
``create_users``; otherwise their rows are bad rows. Each event gets a ``client_event_id``
hashed from its content (format, shopper, sku, kind, time, quantity, basket), so a
second run of the same file inserts nothing. Work is done in chunks of rows: users
and products are looked up (and created) per chunk, events bulk-inserted. Every value
is checked against what its column can hold (lengths, integer range) before any write,
so a bad value is a bad row with its line number, never a database error.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import transaction

from config.pg_copy import analyze
from shop.catalog_import import (
    BATCH_SIZE,
    DIGINETICA_COLUMNS,
    FORMATS,
    ImportFileError,
    ImportReport,
    ProductData,
    Progress,
    Rows,
    chunked,
    diginetica_product,
    diginetica_sku,
    open_table,
    parse_count,
    read_rows,
    retail_product,
    upsert_products,
)
from shop.models import Product
from shop.retail_format import RETAIL_COLUMNS, is_cancellation, is_retail_fee

from .models import Interaction
from .tracking import IMPORT_SENDER
from .tracking.client_ids import stored_client_ids

CSV_COLUMNS = ("user", "sku", "kind", "timestamp")
CSV_OPTIONAL = ("quantity", "basket")
CSV_KINDS = ("view", "cart", "purchase")
CHUNK_ROWS = 10_000
UNKNOWN_USERS_LISTED = 5
_username_validator = UnicodeUsernameValidator()


@dataclass
class EventImportReport(ImportReport):
    """An import report that also names the users the file mentions but did not exist."""

    create_users: bool = False
    unknown_users: dict[str, int] = field(default_factory=dict)  # username -> first line

    def summary(self) -> list[str]:
        """The catalogue report's lines, then the unknown users (created or not)."""
        lines = super().summary()
        if not self.unknown_users:
            return lines
        first = sorted(self.unknown_users.items(), key=lambda item: item[1])
        names = ", ".join(f"{u} (line {n})" for u, n in first[:UNKNOWN_USERS_LISTED])
        more = len(first) - UNKNOWN_USERS_LISTED
        names += f" and {more} more" if more > 0 else ""
        what = (
            "created"
            if self.create_users
            else "not created, their rows are bad (--create-users creates them)"
        )
        lines.insert(1, f"unknown users: {len(first)}, {what}: {names}")
        return lines


@dataclass
class Event:
    """One parsed row: who (username or session key), what, when, and product hints."""

    line: int
    username: str
    session_key: str
    sku: str
    kind: str
    created: datetime
    quantity: int = 1
    basket: str = ""
    # For formats that create missing products: Online Retail (description, unit price)
    # or the DIGINETICA item id.
    hint: tuple = ()

    def client_event_id(self, fmt: str) -> str:
        """Stable id from the event's content, so re-importing it is a no-op."""
        key = "|".join(
            (
                fmt,
                self.username,
                self.session_key,
                self.sku,
                self.kind,
                self.created.isoformat(),
                str(self.quantity),
                self.basket,
            )
        )
        return "imp-" + hashlib.blake2b(key.encode(), digest_size=20).hexdigest()


def parse_timestamp(value: str) -> datetime:
    """ISO 8601 (or the UCI file's m/d/Y H:M) to an aware UTC datetime; naive means UTC."""
    value = value.strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.strptime(value, "%m/%d/%Y %H:%M")
        except ValueError:
            raise ValueError(f"timestamp {value!r} is not ISO 8601") from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _check_username(username: str) -> None:
    if not username:
        raise ValueError("missing user")
    if len(username) > 150:
        raise ValueError("user longer than 150 characters")
    try:
        _username_validator(username)
    except ValidationError:
        raise ValueError(f"user {username!r} is not a valid username") from None


def _parse_csv(rows: Rows, report: ImportReport):
    for line, row in rows:
        try:
            username = (row.get("user") or "").strip()
            _check_username(username)
            sku = (row.get("sku") or "").strip()
            if not sku:
                raise ValueError("missing sku")
            kind = (row.get("kind") or "").strip().lower()
            if kind not in CSV_KINDS:
                raise ValueError(f"kind {kind!r} is not one of {', '.join(CSV_KINDS)}")
            created = parse_timestamp(row.get("timestamp") or "")
            quantity = (row.get("quantity") or "").strip()
            quantity = parse_count(quantity, "quantity", minimum=1) if quantity else 1
            basket = (row.get("basket") or "").strip()
            if len(basket) > 64:
                raise ValueError("basket longer than 64 characters")
        except ValueError as exc:
            report.bad_row(line, str(exc))
            continue
        yield Event(line, username, "", sku, kind, created, quantity, basket)


def _retail_customer(value: str) -> str:
    """CustomerID as digits: some exports write 17850 as "17850.0"."""
    value = value.strip()
    return value.removesuffix(".0") if value.endswith(".0") else value


def _parse_retail(rows: Rows, report: ImportReport):
    for line, row in rows:
        skipped = _retail_skip(row)
        if skipped:
            report.skip(skipped)
            continue
        invoice, customer = row["InvoiceNo"].strip(), _retail_customer(row["CustomerID"])
        code = row["StockCode"].strip()
        try:
            quantity, created, price = _retail_values(row, invoice, code)
        except ValueError as exc:
            report.bad_row(line, str(exc))
            continue
        username = f"retail-{customer}"
        try:
            _check_username(username)
        except ValueError:
            report.bad_row(line, f"CustomerID {customer!r} is not a valid customer id")
            continue
        hint = (row["Description"], price)
        yield Event(line, username, "", code, "purchase", created, quantity, invoice, hint)


def _retail_skip(row: dict) -> str:
    """Why a retail row is not an event (a cancellation, a guest, a fee), or ""."""
    if is_cancellation(row["InvoiceNo"].strip()):
        return "cancellation"
    if not _retail_customer(row["CustomerID"]):
        return "no CustomerID"
    if is_retail_fee(row["StockCode"].strip()):
        return "fee or postage"
    return ""


def _retail_values(row: dict, invoice: str, code: str) -> tuple[int, datetime, Decimal]:
    """(quantity, time, unit price) of a retail row; ValueError naming a bad field."""
    if not invoice or len(invoice) > 64:
        raise ValueError("missing or too long InvoiceNo")
    if not code or len(code) > 64:
        raise ValueError("missing or too long StockCode")
    quantity = parse_count(row["Quantity"], "quantity", minimum=1)
    created = parse_timestamp(row["InvoiceDate"])
    try:
        price = Decimal(row["UnitPrice"].strip())
        if not price.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise ValueError(f"UnitPrice {row['UnitPrice']!r} is not a number") from None
    return quantity, created, price


def _parse_diginetica(rows: Rows, report: ImportReport):
    for line, row in rows:
        try:
            session, item = row["session_id"].strip(), row["item_id"].strip()
            if not session.isdigit():
                raise ValueError(f"session_id {session!r} is not a number")
            if not item.isdigit():
                raise ValueError(f"item_id {item!r} is not a number")
            if len(f"dgn-{session}") > 40:
                raise ValueError(f"session_id {session!r} is too long")
            if len(diginetica_sku(item)) > 64:
                raise ValueError(f"item_id {item!r} is too long")
            millis = parse_count(row["timeframe"], "timeframe")
            try:
                day = date.fromisoformat(row["eventdate"].strip())
            except ValueError:
                raise ValueError(f"eventdate {row['eventdate']!r} is not a date") from None
        except ValueError as exc:
            report.bad_row(line, str(exc))
            continue
        created = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
            milliseconds=millis
        )
        yield Event(line, "", f"dgn-{session}", diginetica_sku(item), "view", created, hint=(item,))


def _retail_products(events: list[Event]) -> list[ProductData]:
    seen: dict[str, tuple[list[str], list[Decimal]]] = {}
    for event in events:
        descriptions, prices = seen.setdefault(event.sku, ([], []))
        descriptions.append(event.hint[0])
        prices.append(event.hint[1])
    return [retail_product(sku, d, p) for sku, (d, p) in seen.items()]


def _diginetica_products(events: list[Event]) -> list[ProductData]:
    return [diginetica_product(item) for item in {e.hint[0] for e in events}]


# format -> (required columns, optional columns, delimiter, row parser, product maker or
# None when unknown products are bad rows)
SPECS = {
    "csv": (CSV_COLUMNS, CSV_OPTIONAL, ",", _parse_csv, None),
    "online-retail": (RETAIL_COLUMNS, ("Country",), ",", _parse_retail, _retail_products),
    "diginetica": (DIGINETICA_COLUMNS, (), ";", _parse_diginetica, _diginetica_products),
}


class _Importer:
    """Per-run state: id caches and the set of event ids already seen in this file."""

    def __init__(self, fmt: str, report: EventImportReport) -> None:
        self.fmt = fmt
        self.report = report
        self.make_products = SPECS[fmt][4]
        self.user_ids: dict[str, int] = {}
        self.product_ids: dict[str, int] = {}
        self.seen: set[str] = set()

    def _lookup_users(self, usernames: list[str]) -> None:
        User = get_user_model()
        name = User.USERNAME_FIELD
        for chunk in chunked(usernames):
            self.user_ids.update(
                User.objects.filter(**{f"{name}__in": chunk}).values_list(name, "id")
            )

    def _resolve_users(self, events: list[Event]) -> list[Event]:
        """The events whose user exists (or was just created, with ``create_users``);
        the others are bad rows. Every unknown user is noted with its first line."""
        self._lookup_users(sorted({e.username for e in events} - self.user_ids.keys() - {""}))
        unknown: dict[str, int] = {}
        for event in events:
            if event.username and event.username not in self.user_ids:
                unknown.setdefault(event.username, event.line)
        for username, line in unknown.items():
            self.report.unknown_users.setdefault(username, line)
        if unknown and self.report.create_users:
            User = get_user_model()
            # Imported shoppers cannot log in until someone sets a password.
            users = [
                User(**{User.USERNAME_FIELD: u, "password": make_password(None)}) for u in unknown
            ]
            User.objects.bulk_create(users, batch_size=BATCH_SIZE, ignore_conflicts=True)
            self._lookup_users(sorted(unknown))
        known = []
        for event in events:
            if event.username in unknown and event.username not in self.user_ids:
                self.report.bad_row(event.line, f"unknown user {event.username!r}")
            else:
                known.append(event)
        return known

    def _lookup_products(self, skus: list[str]) -> None:
        for chunk in chunked(skus):
            self.product_ids.update(Product.objects.filter(sku__in=chunk).values_list("sku", "id"))

    def _resolve_products(self, events: list[Event]) -> list[Event]:
        self._lookup_products(sorted({e.sku for e in events} - self.product_ids.keys()))
        unknown = [e for e in events if e.sku not in self.product_ids]
        if unknown and self.make_products:
            upsert_products(self.make_products(unknown), update=False)
            self._lookup_products(sorted({e.sku for e in unknown}))
        known = []
        for event in events:
            if event.sku in self.product_ids:
                known.append(event)
            else:
                self.report.bad_row(event.line, f"unknown sku {event.sku!r}")
        return known

    def process(self, events: list[Event]) -> None:
        """Resolve users and products for one chunk of events, insert the new ones."""
        events = self._resolve_products(self._resolve_users(events))
        fresh: dict[str, Event] = {}
        for event in events:
            event_id = event.client_event_id(self.fmt)
            if event_id in self.seen:
                self.report.skip("duplicate in file")
                continue
            self.seen.add(event_id)
            fresh[event_id] = event
        for chunk in chunked(list(fresh)):
            for event_id in stored_client_ids(Interaction, IMPORT_SENDER, chunk):
                del fresh[event_id]
                self.report.skip("already imported")
        source = f"import:{self.fmt}"
        rows = [
            Interaction(
                user_id=self.user_ids[e.username] if e.username else None,
                anonymous_id=e.session_key,
                product_id=self.product_ids[e.sku],
                kind=e.kind,
                created=e.created,
                quantity=e.quantity,
                basket=e.basket,
                source=source,
                client_event_id=event_id,
                sender=IMPORT_SENDER,
            )
            for event_id, e in fresh.items()
        ]
        Interaction.objects.bulk_create(rows, batch_size=BATCH_SIZE, ignore_conflicts=True)
        self.report.imported += len(rows)


def import_events(
    path: str | Path,
    fmt: str = "csv",
    strict: bool = False,
    progress: Progress | None = None,
    create_users: bool = False,
) -> EventImportReport:
    """Import behaviour events from ``path`` in one transaction; see the module docstring."""
    if fmt not in SPECS:
        raise ImportFileError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    required, optional, delimiter, parse, _ = SPECS[fmt]
    report = EventImportReport(strict=strict, create_users=create_users)
    importer = _Importer(fmt, report)
    with transaction.atomic(), open_table(path, required, optional, delimiter) as rows:
        chunk: list[Event] = []
        for event in parse(read_rows(rows, report, progress), report):
            chunk.append(event)
            if len(chunk) >= CHUNK_ROWS:
                importer.process(chunk)
                report.stop_if_strict()  # the chunk's rows are all checked
                chunk = []
        importer.process(chunk)
        report.stop_if_strict()
    analyze(Interaction, get_user_model())  # committed; statistics for the new rows
    return report
