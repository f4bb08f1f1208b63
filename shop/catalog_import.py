"""Catalogue import from CSV files: our own layout and two public data sets.

Shared by ``manage.py import_catalog`` and the event importer (which creates the
products an event file mentions). One transaction per import: a fatal error writes
nothing. Bad rows are reported by the line they start on (line 1 is the header; a
quoted value may span lines) and skipped, unless ``strict`` makes the first bad row
in the file fatal. Re-running the same file adds nothing,
and a re-import changes only what the file states: columns it lacks (and empty stock
cells) keep the product's current values.
"""

from __future__ import annotations

import csv
import gzip
import io
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from django.db import transaction
from django.utils.text import slugify

from config.pg_copy import analyze

from .models import Category, Product
from .retail_format import is_retail_fee

FORMATS = ("csv", "online-retail", "diginetica")
BATCH_SIZE = 2000
PROGRESS_EVERY = 10_000
MAX_MESSAGES = 20
# Stock given to new products whose source has none, so imported products can be shown.
DEFAULT_STOCK = 100
# The largest integer every database stores in a (Positive)IntegerField: bigger values
# are bad rows, not a database error half-way through the import.
MAX_INT = 2**31 - 1
MAX_PRICE = Decimal("99999999.99")  # DecimalField(max_digits=10, decimal_places=2)

CSV_COLUMNS = ("sku", "name", "category", "price", "description")
CSV_OPTIONAL = ("brand", "stock")
RETAIL_CATALOG_COLUMNS = ("StockCode", "Description", "UnitPrice")
DIGINETICA_COLUMNS = ("session_id", "user_id", "item_id", "timeframe", "eventdate")

RETAIL_DEFAULT_CATEGORY = "Gifts"
# Keyword -> category for Online Retail descriptions. The last keyword found in a
# description wins (its head noun usually comes last: "WHITE METAL LANTERN").
_RETAIL_KEYWORDS = {
    "Christmas": "CHRISTMAS XMAS ADVENT SNOWFLAKE REINDEER",
    "Candles & lights": "CANDLE T-LIGHT LANTERN LIGHT HOLDER NIGHTLIGHT",
    "Bags & purses": "BAG PURSE SHOPPER BACKPACK HANDBAG WALLET",
    "Kitchen & dining": "MUG CUP TEACUP BOWL PLATE TEA CAKE CUTLERY TRAY JAR TIN BOTTLE LUNCH "
    "PANTRY KITCHEN APRON DISH SPOON NAPKIN CAKESTAND COASTER TEAPOT GLASS JUG MOULD",
    "Jewellery": "EARRINGS NECKLACE BRACELET RING CHARM DIAMANTE BROOCH",
    "Stationery & cards": "CARD NOTEBOOK WRAP STICKER PAPER PEN PENCIL TAPE TAG LETTERS "
    "ENVELOPE NOTEPAD DIARY CALENDAR RIBBON STAMP",
    "Home decor": "FRAME CLOCK MIRROR SIGN CUSHION DOORMAT DECORATION GARLAND BUNTING HOOK "
    "CABINET DRAWER HANGER COVER TILE VASE BLANKET THROW DOORSTOP MAGNET ORNAMENT WREATH",
    "Toys & party": "TOY DOLLY DOLL GAME PARTY BALLOON KIT JIGSAW BIRTHDAY PUZZLE SKIPPING "
    "BLOCKS CRAYONS SPACEBOY",
    "Garden": "GARDEN PARASOL WATERING PLANT PLANTER BIRDHOUSE FEEDER",
    "Bath & beauty": "SOAP TISSUES TOWEL BATH SPONGE WASHBAG LIP",
}
RETAIL_CATEGORY_BY_KEYWORD = {
    word: category for category, words in _RETAIL_KEYWORDS.items() for word in words.split()
}
DIGINETICA_CATEGORY = "Catalogue"


class ImportFileError(Exception):
    """A fatal problem with the whole file (missing, unreadable, wrong header, strict)."""


@dataclass
class ImportReport:
    """What an import did: rows read, imported/updated, skipped by reason, bad rows by line."""

    read: int = 0
    imported: int = 0
    updated: int = 0
    bad: int = 0
    skipped: Counter = field(default_factory=Counter)
    messages: list[tuple[int, str]] = field(default_factory=list)
    first_bad: tuple[int, str] | None = None
    strict: bool = False

    def bad_row(self, line: int, reason: str) -> None:
        """Count a bad row (in strict mode, ``stop_if_strict`` then aborts the import)."""
        message = f"line {line}: {reason}"
        self.bad += 1
        if self.first_bad is None or line < self.first_bad[0]:
            self.first_bad = (line, message)
        if len(self.messages) < MAX_MESSAGES:
            self.messages.append((line, message))

    def stop_if_strict(self) -> None:
        """In strict mode, abort (rolling back) on the bad row that comes first in the file.

        Called once a batch of rows is fully checked: a row can turn out bad after later
        rows were parsed (an unknown sku is found when its batch is looked up)."""
        if self.strict and self.first_bad:
            raise ImportFileError(f"{self.first_bad[1]} (--strict: nothing imported)")

    def skip(self, reason: str, count: int = 1) -> None:
        """Count rows deliberately left out (not errors), grouped by reason."""
        if count:
            self.skipped[reason] += count

    def summary(self) -> list[str]:
        """Human-readable summary lines, as the commands print them."""
        lines = [f"rows read: {self.read}", f"imported: {self.imported}"]
        if self.updated:
            lines.append(f"updated: {self.updated}")
        detail = ", ".join(f"{reason} {n}" for reason, n in sorted(self.skipped.items()))
        lines.append(f"skipped: {sum(self.skipped.values())}" + (f" ({detail})" if detail else ""))
        lines.append(f"bad: {self.bad}")
        lines += [f"  {message}" for _, message in sorted(self.messages)]
        if self.bad > len(self.messages):
            lines.append(f"  ... and {self.bad - len(self.messages)} more")
        return lines


@dataclass(frozen=True)
class ProductData:
    """One product as an import source describes it."""

    sku: str
    name: str
    category: str
    price: Decimal
    description: str = ""
    brand: str = ""
    stock: int = DEFAULT_STOCK
    # The fields the source states; the others are defaults for a new product and are
    # left alone on an existing one.
    given: frozenset[str] = frozenset({"name", "description", "price", "category", "brand"})


Rows = Iterator[tuple[int, dict[str, str]]]
Progress = Callable[[int], None]


@contextmanager
def open_table(
    path: str | Path, required: Iterable[str], optional: Iterable[str] = (), delimiter: str = ","
) -> Iterator[Rows]:
    """Open a .csv or .csv.gz file, check its header, yield (first line, row) pairs.

    Raises ImportFileError when the file is missing or its header lacks a required
    column; the message lists the expected columns.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"file not found: {path}")
    with _open_binary(path) as raw:
        reader = csv.reader(_text_lines(raw, path.name), delimiter=delimiter)
        try:
            header = [column.strip() for column in next(reader, [])]
        except (csv.Error, UnicodeDecodeError, OSError) as exc:
            raise ImportFileError(f"cannot read {path.name}: {exc}") from exc
        required = tuple(required)
        missing = [c for c in required if c not in header]
        if missing:
            expected = ", ".join(required)
            extra = f" (optional: {', '.join(optional)})" if optional else ""
            raise ImportFileError(
                f"wrong header in {path.name}: expected columns {expected}{extra}; "
                f"missing {', '.join(missing)}; found {', '.join(header) or 'nothing'}"
            )

        def rows() -> Rows:
            try:
                while True:
                    # line_num counts the lines read so far, and a quoted value may span
                    # lines: a row starts on the line after the previous row's end.
                    first = reader.line_num + 1
                    values = next(reader, None)
                    if values is None:
                        return
                    if not any(v.strip() for v in values):
                        continue  # blank line
                    if any("\x00" in v for v in values):
                        raise ImportFileError(
                            f"cannot read {path.name}: line {first} contains a NUL "
                            "character (is it a text file?)"
                        )
                    values += [""] * (len(header) - len(values))
                    yield first, dict(zip(header, values, strict=False))
            except (csv.Error, UnicodeDecodeError, OSError) as exc:
                raise ImportFileError(f"cannot read {path.name}: {exc}") from exc

        yield rows()


def read_rows(rows: Rows, report: ImportReport, progress: Progress | None) -> Rows:
    """Pass ``rows`` through, counting them in ``report.read`` and calling ``progress``
    every PROGRESS_EVERY rows and once at the end (so a bar ends on the exact count)."""
    for line, row in rows:
        report.read += 1
        if progress and report.read % PROGRESS_EVERY == 0:
            progress(report.read)
        yield line, row
    if progress:
        progress(report.read)


def count_rows(path: str | Path, delimiter: str = ",") -> int | None:
    """Data rows in a table file as open_table reads them (header and blank rows left out,
    a quoted value spanning lines is one row): a progress total. None when the file cannot
    be read (the import then says why). The csv module's C reader alone: about 2 s a
    million rows, where counting newlines would miss multi-line rows and a last line
    without a newline."""
    try:
        with (
            _open_binary(Path(path)) as raw,
            io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="") as text,
        ):
            records = csv.reader(text, delimiter=delimiter)
            next(records, None)  # the header
            return sum(1 for values in records if any(map(str.strip, values)))
    except (csv.Error, OSError, EOFError):
        return None


def _open_binary(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # noqa: SIM115


def _text_lines(raw: IO[bytes], name: str) -> Iterator[str]:
    """Decode a binary file line by line, so an encoding error names its line
    (a decoder reading in blocks only knows a byte offset)."""
    for number, line in enumerate(raw, 1):
        try:
            yield line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                f"cannot read {name}: line {number} is not UTF-8 text (byte "
                f"{exc.object[exc.start]:#04x} at column {exc.start + 1}); save it as UTF-8"
            ) from None


def parse_price(value: str) -> Decimal:
    """A non-negative price with two decimals; ValueError says what is wrong."""
    try:
        price = Decimal(value.strip())
    except InvalidOperation:
        raise ValueError(f"price {value!r} is not a number") from None
    if not price.is_finite() or price < 0:
        raise ValueError(f"price {value!r} must be a number >= 0")
    price = price.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if price > MAX_PRICE:
        raise ValueError(f"price {value!r} is too large")
    return price


def parse_count(value: str, name: str, minimum: int = 0, maximum: int = MAX_INT) -> int:
    """An integer in [minimum, maximum]; ValueError says what is wrong."""
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"{name} {value!r} is not an integer") from None
    if number < minimum:
        raise ValueError(f"{name} {value!r} must be >= {minimum}")
    if number > maximum:
        raise ValueError(f"{name} {value!r} is too large (at most {maximum})")
    return number


def product_from_csv_row(row: dict[str, str]) -> ProductData:
    """Validate one row of our CSV layout; ValueError lists what is wrong.

    Only the columns present in the row (and a non-empty stock) count as given.
    """
    values = {key: (row.get(key) or "").strip() for key in CSV_COLUMNS + CSV_OPTIONAL}
    problems = [f"missing {key}" for key in ("sku", "name", "category") if not values[key]]
    limits = {"sku": 64, "name": 255, "category": 120, "brand": 120}
    problems += [
        f"{key} longer than {limit} characters"
        for key, limit in limits.items()
        if len(values[key]) > limit
    ]
    price = stock = None
    try:
        price = parse_price(values["price"]) if values["price"] else None
        if price is None:
            problems.append("missing price")
    except ValueError as exc:
        problems.append(str(exc))
    try:
        stock = parse_count(values["stock"], "stock") if values["stock"] else DEFAULT_STOCK
    except ValueError as exc:
        problems.append(str(exc))
    if problems:
        raise ValueError("; ".join(problems))
    given = {"name", "category", "price", "description"}
    given |= {"brand"} if "brand" in row else set()
    given |= {"stock"} if values["stock"] else set()
    return ProductData(
        sku=values["sku"],
        name=values["name"],
        category=values["category"],
        price=price,
        description=values["description"],
        brand=values["brand"],
        stock=stock,
        given=frozenset(given),
    )


def retail_category(description: str) -> str:
    """A category for an Online Retail description: its last known keyword, or Gifts."""
    for word in reversed(description.upper().replace("/", " ").split()):
        word = word.strip(".,'\"()!&+")
        for candidate in (word, word.removesuffix("S"), word.removesuffix("ES")):
            if candidate in RETAIL_CATEGORY_BY_KEYWORD:
                return RETAIL_CATEGORY_BY_KEYWORD[candidate]
    return RETAIL_DEFAULT_CATEGORY


def retail_product(
    code: str, descriptions: Iterable[str], prices: Iterable[Decimal]
) -> ProductData:
    """Online Retail product from the descriptions and unit prices seen for one StockCode.

    Name: the most frequent non-empty description, title-cased (descriptions vary
    slightly for one code); price: median positive unit price (0 when none).
    """
    names = Counter(d.strip() for d in descriptions if d and d.strip())
    description = names.most_common(1)[0][0] if names else ""
    positive = [p for p in prices if p > 0]
    price = Decimal(statistics.median(positive)) if positive else Decimal("0")
    price = min(price.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), MAX_PRICE)
    code = code.strip()
    return ProductData(
        sku=code,
        name=(description.title() or f"Item {code}")[:255],
        category=retail_category(description),
        price=price,
        description=description.capitalize(),
        given=frozenset({"name", "category", "price", "description"}),
    )


def diginetica_sku(item_id: str) -> str:
    """Our SKU for a DIGINETICA item id (prefixed: the ids clash with other catalogues)."""
    return f"DGN-{item_id.strip()}"


def diginetica_product(item_id: str) -> ProductData:
    """A placeholder product for a DIGINETICA item (the data set has no names or prices)."""
    return ProductData(
        sku=diginetica_sku(item_id),
        name=f"Item {item_id.strip()}",
        category=DIGINETICA_CATEGORY,
        price=Decimal("0"),
        given=frozenset(),  # only the id is known: an existing product keeps everything
    )


def _unique_slug(base: str, taken: set[str], suffix: str, max_length: int) -> str:
    """``base`` if free, else ``base-suffix``, else ``base-suffix-N``; reserves the result."""
    base = base[:max_length] or slugify(suffix)[:max_length] or "item"
    candidate = base
    if candidate in taken:
        tail = slugify(suffix) or "x"
        candidate = f"{base[: max_length - len(tail) - 1]}-{tail}"
        n = 2
        while candidate in taken:
            extra = f"{tail}-{n}"
            candidate = f"{base[: max_length - len(extra) - 1]}-{extra}"
            n += 1
    taken.add(candidate)
    return candidate


def chunked(values: list, size: int = 900) -> Iterator[list]:
    """Slices small enough for an ``__in`` lookup on every backend."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def ensure_categories(names: Iterable[str]) -> dict[str, int]:
    """Category ids by name, creating missing ones (matched by name, then by slug)."""
    wanted = set(names)
    by_name: dict[str, int] = {}
    for chunk in chunked(sorted(wanted)):
        by_name.update(Category.objects.filter(name__in=chunk).values_list("name", "id"))
    missing = wanted - by_name.keys()
    if not missing:
        return by_name
    by_slug = dict(Category.objects.values_list("slug", "id"))
    taken = set(by_slug)
    new = []
    for name in sorted(missing):
        slug = slugify(name)[:140]
        if slug and slug in by_slug:  # "home decor" and "Home Decor" are one category
            by_name[name] = by_slug[slug]
            continue
        new.append(Category(name=name, slug=_unique_slug(slug, taken, "category", 140)))
    Category.objects.bulk_create(new, batch_size=BATCH_SIZE)
    for chunk in chunked([c.name for c in new]):
        by_name.update(Category.objects.filter(name__in=chunk).values_list("name", "id"))
    return by_name


_PRODUCT_FIELDS = ("name", "description", "price", "category_id", "brand", "stock")
# ProductData field -> Product field, in _PRODUCT_FIELDS order.
_SOURCE_FIELDS = ("name", "description", "price", "category", "brand", "stock")


def _row_values(data: ProductData, current: tuple | None, category_ids: dict) -> tuple:
    """Values for _PRODUCT_FIELDS: the source's, except what it does not state about an
    existing product (``current``), which keeps its stored value."""
    values = []
    for i, source in enumerate(_SOURCE_FIELDS):
        if current is not None and source not in data.given:
            values.append(current[i + 1])
        elif source == "category":
            values.append(category_ids[data.category])
        else:
            values.append(getattr(data, source))
    return tuple(values)


def upsert_products(products: list[ProductData], update: bool = True) -> tuple[int, int, int]:
    """Create missing products and (if ``update``) overwrite changed ones, by SKU.

    An update writes only the fields each ProductData states (``given``); the rest
    keep their current values. Batched: one query per chunk of SKUs to read what
    exists, then bulk insert and bulk update. Existing slugs are kept, new ones made
    unique. Returns (created, updated, unchanged). SKUs must be unique in ``products``.
    """
    existing: dict[str, tuple] = {}
    for chunk in chunked([p.sku for p in products]):
        rows = Product.objects.filter(sku__in=chunk).values_list("sku", "id", *_PRODUCT_FIELDS)
        existing.update((row[0], row[1:]) for row in rows)
    todo = products if update else [p for p in products if p.sku not in existing]
    if not todo:
        return 0, 0, len(products)
    category_ids = ensure_categories(
        p.category for p in todo if p.sku not in existing or "category" in p.given
    )
    any_new = any(p.sku not in existing for p in todo)
    taken = set(Product.objects.values_list("slug", flat=True)) if any_new else set()
    creates, updates = [], []
    for data in todo:
        current = existing.get(data.sku)
        values = _row_values(data, current, category_ids)
        fields = dict(zip(_PRODUCT_FIELDS, values, strict=True))
        if current is None:
            slug = _unique_slug(slugify(data.name), taken, data.sku, 280)
            creates.append(Product(sku=data.sku, slug=slug, **fields))
        elif current[1:] != values:
            updates.append(Product(pk=current[0], **fields))
    Product.objects.bulk_create(creates, batch_size=BATCH_SIZE)
    # bulk_update builds one CASE expression per field: keep its batches smaller. It
    # writes every field, but unstated ones carry the values just read (same transaction).
    Product.objects.bulk_update(updates, _PRODUCT_FIELDS, batch_size=500)
    return len(creates), len(updates), len(products) - len(creates) - len(updates)


def _read_csv(path: Path, report: ImportReport, progress: Progress | None) -> list[ProductData]:
    products: dict[str, ProductData] = {}
    first_line: dict[str, int] = {}
    with open_table(path, CSV_COLUMNS, CSV_OPTIONAL) as rows:
        for line, row in read_rows(rows, report, progress):
            try:
                data = product_from_csv_row(row)
            except ValueError as exc:
                report.bad_row(line, str(exc))
                continue
            if data.sku in products:
                report.bad_row(
                    line, f"duplicate sku {data.sku!r} (first on line {first_line[data.sku]})"
                )
                continue
            products[data.sku] = data
            first_line[data.sku] = line
    return list(products.values())


def _read_retail(path: Path, report: ImportReport, progress: Progress | None) -> list[ProductData]:
    seen: dict[str, tuple[list[str], list[Decimal]]] = {}
    with open_table(path, RETAIL_CATALOG_COLUMNS) as rows:
        for line, row in read_rows(rows, report, progress):
            code = row["StockCode"].strip()
            if not code:
                report.bad_row(line, "missing StockCode")
                continue
            if len(code) > 64:
                report.bad_row(line, "StockCode longer than 64 characters")
                continue
            if is_retail_fee(code):
                report.skip("fee or postage")
                continue
            try:
                price = Decimal(row["UnitPrice"].strip())
                if not price.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                report.bad_row(line, f"UnitPrice {row['UnitPrice']!r} is not a number")
                continue
            descriptions, prices = seen.setdefault(code, ([], []))
            descriptions.append(row["Description"])
            prices.append(price)
    products = []
    for code, (descriptions, prices) in seen.items():
        if not any(d.strip() for d in descriptions):
            report.skip("no description", len(descriptions))
            continue
        products.append(retail_product(code, descriptions, prices))
    return products


def _read_diginetica(
    path: Path, report: ImportReport, progress: Progress | None
) -> list[ProductData]:
    items: dict[str, None] = {}
    with open_table(path, ("item_id",), DIGINETICA_COLUMNS, delimiter=";") as rows:
        for line, row in read_rows(rows, report, progress):
            item = row["item_id"].strip()
            if not item.isdigit():
                report.bad_row(line, f"item_id {item!r} is not a number")
                continue
            if len(diginetica_sku(item)) > 64:
                report.bad_row(line, f"item_id {item!r} is too long")
                continue
            items[item] = None
    return [diginetica_product(item) for item in items]


READERS = {"csv": _read_csv, "online-retail": _read_retail, "diginetica": _read_diginetica}
DELIMITERS = {"csv": ",", "online-retail": ",", "diginetica": ";"}


def import_catalog(
    path: str | Path,
    fmt: str = "csv",
    strict: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import products from ``path`` in one transaction; see the module docstring."""
    if fmt not in READERS:
        raise ImportFileError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    report = ImportReport(strict=strict)
    with transaction.atomic():
        products = READERS[fmt](Path(path), report, progress)
        report.stop_if_strict()
        report.imported, report.updated, unchanged = upsert_products(products)
        report.skip("unchanged", unchanged)
    analyze(Product, Category)  # committed; statistics for the new rows
    return report
