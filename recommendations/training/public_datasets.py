"""Loaders for the two shared real datasets (../shared/datasets), straight into a Dataset.

No database involved: the offline benchmark and the slow tests read the CSV files,
filter them with numpy masks and hand the event arrays to ``build_dataset``.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from shop.retail_format import RETAIL_COLUMNS, RETAIL_FEE_CODES

from .dataset import KIND_CODES, Dataset, ItemFeatures, build_dataset

# Online Retail stock codes that are postage, fees, discounts or manual adjustments.
# Decay that leaves a year of purchases (or a day of views) weighted almost evenly.
OFFLINE_HALF_LIFE_DAYS = 3650.0


def _open_text(path: Path) -> io.TextIOBase:
    """A text handle on ``path``, transparently gunzipping ``*.gz`` files."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset file not found: {path}")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace", newline="")


def _columns(path: Path, names: list[str], delimiter: str = ",") -> dict[str, np.ndarray]:
    """Read the named CSV columns into object arrays (one pass, no per-row logic)."""
    with _open_text(path) as fh:
        reader: Iterator[list[str]] = csv.reader(fh, delimiter=delimiter)
        header = [h.strip() for h in next(reader, [])]
        missing = [n for n in names if n not in header]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; found {header}")
        rows = [r for r in reader if r]
    width = len(header)
    rows = [r if len(r) == width else (r + [""] * width)[:width] for r in rows]
    table = np.array(rows, dtype=object).reshape(len(rows), width)
    return {n: table[:, header.index(n)].astype(str) for n in names}


def _epoch(dates: np.ndarray) -> np.ndarray:
    """Epoch seconds (float64) of ISO-like date/datetime strings."""
    return np.asarray(dates, dtype="datetime64[s]").astype(np.int64).astype(np.float64)


def online_retail_events(path: Path) -> dict[str, np.ndarray]:
    """Filtered purchase events of the UCI Online Retail file, as parallel arrays.

    Drops cancellations (InvoiceNo starting with "C"), rows without CustomerID,
    non-positive quantities or prices, and postage/fee codes. Keys: ``user`` ("u:<id>"),
    ``code`` (StockCode), ``description``, ``price``, ``time`` (epoch s), ``basket``
    (InvoiceNo), in file order (the file is sorted by time).
    """
    cols = _columns(
        path,
        list(RETAIL_COLUMNS),
    )
    invoice = np.char.strip(cols["InvoiceNo"].astype(str))
    code = np.char.strip(cols["StockCode"].astype(str))
    customer = np.char.strip(cols["CustomerID"].astype(str))
    quantity = np.array([float(q or 0) for q in cols["Quantity"]])
    price = np.array([float(p or 0) for p in cols["UnitPrice"]], dtype=np.float32)
    keep = (
        ~np.char.startswith(invoice, "C")
        & (customer != "")
        & (quantity > 0)
        & (price > 0)
        & ~np.isin(np.char.upper(code), list(RETAIL_FEE_CODES))
    )
    # CustomerID sometimes comes as "17850.0" in other exports of the same data.
    customer = np.char.replace(customer[keep], ".0", "")
    return {
        "user": np.char.add("u:", customer).astype(object),
        "code": code[keep],
        "description": np.char.strip(cols["Description"][keep].astype(str)),
        "price": price[keep],
        "time": _epoch(np.char.replace(cols["InvoiceDate"][keep].astype(str), " ", "T")),
        "basket": invoice[keep].astype(object),
    }


def load_online_retail(
    path: Path, half_life_days: float = OFFLINE_HALF_LIFE_DAYS
) -> tuple[Dataset, np.ndarray]:
    """The Online Retail sample as a purchases Dataset plus the StockCode of each column.

    Item ids are dense integers 0..n-1 (StockCodes are not numeric); the returned code
    array maps them back. Features: the most recent Description as text and the
    median unit price; no category or brand exists in this data.
    """
    ev = online_retail_events(path)
    codes, item = np.unique(ev["code"], return_inverse=True)
    n_items = len(codes)
    # Last description seen per item (the file is in time order, later wins).
    last_row = np.zeros(n_items, dtype=np.int64)
    np.maximum.at(last_row, item, np.arange(len(item)))
    text = [str(d).lower() for d in ev["description"][last_row]]
    order = np.lexsort((ev["price"], item))
    counts = np.bincount(item, minlength=n_items)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    median_price = ev["price"][order][starts + counts // 2].astype(np.float32)
    features = ItemFeatures(
        text=text,
        category=np.full(n_items, -1, dtype=np.int32),
        brand=np.full(n_items, -1, dtype=np.int32),
        price=median_price,
    )
    data = build_dataset(
        ev["user"],
        item.astype(np.int64),
        np.full(len(item), KIND_CODES["purchase"], dtype=np.int8),
        ev["time"],
        ev["basket"],
        item_ids=np.arange(n_items, dtype=np.int64),
        features=features,
        half_life_days=half_life_days,
    )
    return data, codes


def load_diginetica(path: Path, half_life_days: float = OFFLINE_HALF_LIFE_DAYS) -> Dataset:
    """The DIGINETICA view sample as a Dataset: sessions are users, every row is a view.

    Time is the event date plus ``timeframe`` milliseconds (which orders views inside
    a session). No item features exist beyond the item id.
    """
    cols = _columns(path, ["session_id", "item_id", "timeframe", "eventdate"], delimiter=";")
    ok = (cols["session_id"] != "") & (cols["item_id"] != "") & (cols["eventdate"] != "")
    session = cols["session_id"][ok]
    items = cols["item_id"][ok].astype(np.int64)
    frames = np.where(cols["timeframe"][ok] == "", "0", cols["timeframe"][ok]).astype(np.int64)
    times = _epoch(cols["eventdate"][ok]) + frames / 1000.0
    return build_dataset(
        np.char.add("s:", session).astype(object),
        items,
        np.full(len(items), KIND_CODES["view"], dtype=np.int8),
        times,
        half_life_days=half_life_days,
    )
