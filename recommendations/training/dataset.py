"""The in-memory training data every algorithm and the evaluator share.

Built from arrays of events (one entry per event) in a vectorised way, so the same
structure comes from the Interaction table (see ``data.py``) or from a CSV file
(see ``datasets.py``) without per-row Python loops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from ..weights import CELL_WEIGHT_CAP, KIND_WEIGHTS

KIND_CODES: dict[str, int] = {"view": 0, "cart": 1, "purchase": 2}


@dataclass
class ItemFeatures:
    """Per-item content, aligned with ``Dataset.item_ids``."""

    text: list[str]  # name + description (+ tags)
    category: np.ndarray  # int32 codes, -1 = unknown
    brand: np.ndarray  # int32 codes, -1 = unknown
    price: np.ndarray  # float32, 0 = unknown
    category_names: list[str] = field(default_factory=list)
    brand_names: list[str] = field(default_factory=list)


@dataclass
class Dataset:
    """Users x items implicit feedback plus what order-aware and basket models need.

    - ``matrix``: CSR float32 (n_users, n_items); sum over a user's events of
      kind weight x time decay.
    - ``user_keys``: object array of shopper keys, "u:<user id>" or "a:<anonymous id>".
    - ``item_ids``: int64 product ids (or dataset item codes), column order.
    - ``seq_indptr``/``seq_items``/``seq_times``: each user's events in time order
      (item indices, epoch seconds), CSR-style: user u owns
      ``seq_items[seq_indptr[u]:seq_indptr[u+1]]``.
    - ``seq_kinds``: int8 kind code per sequence entry (KIND_CODES).
    - ``baskets``: CSR binary (n_baskets, n_items), purchases grouped by order.
    - ``features``: optional item content for content-based and feature-aware models.
    - ``now``: epoch seconds the time decay is measured from.
    """

    matrix: sp.csr_matrix
    user_keys: np.ndarray
    item_ids: np.ndarray
    seq_indptr: np.ndarray
    seq_items: np.ndarray
    seq_times: np.ndarray
    seq_kinds: np.ndarray
    baskets: sp.csr_matrix
    now: float
    features: ItemFeatures | None = None

    @property
    def n_users(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    @property
    def n_events(self) -> int:
        return len(self.seq_items)

    def sequence(self, user: int) -> np.ndarray:
        """Item indices of one user's events in time order."""
        return self.seq_items[self.seq_indptr[user] : self.seq_indptr[user + 1]]

    # Pickled after ``share_dataset``: only the version id and the small fields; the
    # arrays are memory-mapped from the version's directory when unpickled, so every
    # precompute process maps one copy instead of unpickling its own.
    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if state.get("_shared") is not None:
            for name in (*SHARED_ARRAYS, "matrix", "baskets"):
                state.pop(name, None)
            state["_shapes"] = (self.matrix.shape, self.baskets.shape)
        return state

    def __setstate__(self, state: dict) -> None:
        shapes = state.pop("_shapes", None)
        self.__dict__.update(state)
        if shapes is not None:
            _open_shared(self, shapes)


# Purchases of one shopper this close together form one inferred basket.
BASKET_WINDOW_SECONDS = 3600.0


def basket_codes(baskets: np.ndarray | None, kinds: np.ndarray) -> np.ndarray:
    """Integer order code per event (-1 = no basket) from order keys.

    ``baskets`` may already be integer codes (-1 = none) or keys (str, "" = none);
    only purchases keep one. Keys are compared once per purchase, never per event.
    """
    n = len(kinds)
    codes = np.full(n, -1, dtype=np.int64)
    if baskets is None or not len(baskets):
        return codes
    bought = np.flatnonzero(np.asarray(kinds) == KIND_CODES["purchase"])
    baskets = np.asarray(baskets)
    if baskets.dtype.kind in "iu":
        codes[bought] = baskets[bought]
        return codes
    keys = baskets[bought].astype(str)
    given = keys != ""
    if given.any():
        _, codes[bought[given]] = np.unique(keys[given], return_inverse=True)
    return codes


def infer_baskets(
    user_idx: np.ndarray,
    kinds: np.ndarray,
    times: np.ndarray,
    baskets: np.ndarray | None,
    window_seconds: float = BASKET_WINDOW_SECONDS,
) -> np.ndarray:
    """Integer order code per event (-1 = none), purchases without one grouped per shopper.

    ``baskets``: order keys or codes as ``basket_codes`` reads them. A purchase without
    a key joins the previous key-less purchase of the same shopper when it came at
    most ``window_seconds`` after it, else starts a new basket (a new code after the
    given ones, so it cannot clash with them).
    """
    codes = basket_codes(baskets, kinds)
    missing = np.flatnonzero((np.asarray(kinds) == KIND_CODES["purchase"]) & (codes < 0))
    if not len(missing):
        return codes
    order = missing[np.lexsort((times[missing], user_idx[missing]))]
    u, t = user_idx[order], times[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (u[1:] != u[:-1]) | (t[1:] - t[:-1] > window_seconds)
    codes[order] = np.cumsum(new) - 1 + (int(codes.max(initial=-1)) + 1)
    return codes


def build_dataset(
    users: np.ndarray,
    items: np.ndarray,
    kinds: np.ndarray,
    times: np.ndarray,
    baskets: np.ndarray | None = None,
    *,
    item_ids: np.ndarray | None = None,
    features: ItemFeatures | None = None,
    half_life_days: float = 30.0,
    now: float | None = None,
    basket_window_seconds: float = BASKET_WINDOW_SECONDS,
    user_keys: np.ndarray | None = None,
) -> Dataset:
    """Build a Dataset from parallel per-event arrays, fully vectorised.

    ``users``: shopper keys (str); ``items``: item ids (int64); ``kinds``: KIND_CODES;
    ``times``: epoch seconds; ``baskets``: order keys (str, "" = none) or integer codes
    (-1 = none). With ``user_keys`` (sorted distinct keys), ``users`` are integer indices
    into it: no text per event (the extract and the evaluation split); shoppers without
    events drop out. ``item_ids`` fixes the column order (products without events get a
    column, for content-based cold start); default: the distinct event items; it must
    contain every event item. ``features`` must align with ``item_ids``. Purchases
    without an order key are grouped into inferred baskets: one shopper's purchases
    with gaps of at most ``basket_window_seconds`` (``infer_baskets``; 0: off).
    """
    items = np.asarray(items, dtype=np.int64)
    kinds = np.asarray(kinds, dtype=np.int8)
    times = np.asarray(times, dtype=np.float64)
    if item_ids is None:
        item_ids = np.unique(items)
    item_ids = np.asarray(item_ids, dtype=np.int64)
    if now is None:
        now = float(times.max()) if len(times) else 0.0

    user_keys, user_idx = _user_index(users, user_keys)
    item_idx = _columns(item_ids, items)
    weights = _event_weights(kinds, times, now, half_life_days)
    matrix = _weight_matrix(weights, user_idx, item_idx, (len(user_keys), len(item_ids)))
    order = np.lexsort((times, user_idx))
    seq_indptr = np.zeros(len(user_keys) + 1, dtype=np.int64)
    np.cumsum(np.bincount(user_idx, minlength=len(user_keys)), out=seq_indptr[1:])

    if basket_window_seconds > 0 and len(items):
        baskets = infer_baskets(user_idx, kinds, times, baskets, basket_window_seconds)
    else:
        baskets = basket_codes(baskets, kinds)
    return Dataset(
        matrix=matrix,
        user_keys=user_keys.astype(object),
        item_ids=item_ids,
        seq_indptr=seq_indptr,
        seq_items=item_idx[order].astype(np.int32),
        seq_times=times[order],
        seq_kinds=kinds[order],
        baskets=_basket_matrix(baskets, kinds, item_idx, len(item_ids)),
        now=float(now),
        features=features,
    )


def _weight_matrix(weights, user_idx, item_idx, shape) -> sp.csr_matrix:
    """users x items CSR of the summed event weights, each cell capped (CELL_WEIGHT_CAP)."""
    matrix = sp.csr_matrix((weights, (user_idx, item_idx)), shape=shape, dtype=np.float32)
    matrix.sum_duplicates()
    np.minimum(matrix.data, CELL_WEIGHT_CAP, out=matrix.data)
    return matrix


def _user_index(users: np.ndarray, table: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct shopper keys, per-event row index) from keys or from codes."""
    if table is None:
        keys, idx = np.unique(np.asarray(users, dtype=object).astype(str), return_inverse=True)
        return keys, idx
    present, idx = np.unique(np.asarray(users, dtype=np.int64), return_inverse=True)
    return np.asarray(table, dtype=object)[present], idx


def _columns(item_ids: np.ndarray, items: np.ndarray) -> np.ndarray:
    """The column of each event's item in ``item_ids``; ValueError for a missing one."""
    sorter = np.argsort(item_ids, kind="stable")
    pos = np.searchsorted(item_ids, items, sorter=sorter)
    pos = np.clip(pos, 0, max(len(item_ids) - 1, 0))
    item_idx = sorter[pos] if len(item_ids) else pos
    if len(items) and not np.array_equal(item_ids[item_idx], items):
        raise ValueError("events reference items missing from item_ids")
    return item_idx


def _event_weights(
    kinds: np.ndarray, times: np.ndarray, now: float, half_life_days: float
) -> np.ndarray:
    """Each event's weight: its kind's KIND_WEIGHTS, halved every ``half_life_days``."""
    weight_by_kind = np.array(
        [KIND_WEIGHTS[k] for k in sorted(KIND_CODES, key=KIND_CODES.get)], dtype=np.float32
    )
    decay = np.power(0.5, (now - times) / (half_life_days * 86400.0)).astype(np.float32)
    return weight_by_kind[kinds] * np.minimum(decay, 1.0)


def _basket_matrix(
    codes: np.ndarray, kinds: np.ndarray, item_idx: np.ndarray, n_items: int
) -> sp.csr_matrix:
    """baskets x items, 1 where the order holds the item (purchases with an order code)."""
    bought = (kinds == KIND_CODES["purchase"]) & (codes >= 0)
    if not bought.any():
        return sp.csr_matrix((0, n_items), dtype=np.float32)
    _, basket_idx = np.unique(codes[bought], return_inverse=True)
    basket_matrix = sp.csr_matrix(
        (np.ones(bought.sum(), dtype=np.float32), (basket_idx, item_idx[bought])),
        shape=(basket_idx.max() + 1, n_items),
    )
    basket_matrix.sum_duplicates()
    basket_matrix.data[:] = 1.0
    return basket_matrix


# ---------------------------------------------------------------- arrays on disk


def save_array(version_id: int, name: str, array: np.ndarray) -> None:
    """Store ``array`` (.npy) as the version's artifact ``name``, with its sha256.

    The one place training writes raw arrays beside a version's artifacts. Imported
    lazily: unpickling a Dataset that was never shared needs no Django (a model loads
    in a plain process)."""
    from ..registry.artifacts import save_file

    array = np.ascontiguousarray(array)
    save_file(version_id, name, lambda fh: np.save(fh, array, allow_pickle=False))


def load_array(version_id: int, name: str, mode: str = "r") -> np.ndarray:
    """An array written by ``save_array``, memory-mapped (read-only by default):
    processes that open the same file share its pages instead of each holding a copy.
    The file is checked against its sha256 (fetched to this host first from a remote
    store); a corrupt one raises CorruptArtifact."""
    from ..registry.artifacts import local_file

    return np.load(local_file(version_id, name), mmap_mode=mode, allow_pickle=False)


# The Dataset's arrays (besides the two sparse matrices'), as shared by share_dataset.
SHARED_ARRAYS = ("user_keys", "item_ids", "seq_indptr", "seq_items", "seq_times", "seq_kinds")
_SPARSE_PARTS = ("data", "indices", "indptr")


def share_dataset(version_id: int, data: Dataset) -> Dataset:
    """Write ``data``'s arrays beside the version's artifacts (``dataset-*.npy``) and mark
    it so that pickling it (inside a model artifact) stores a reference to them.

    Shopper keys are stored as fixed-width text so they can be mapped too."""
    for name in SHARED_ARRAYS:
        value = getattr(data, name)
        if name == "user_keys":
            value = np.asarray(value, dtype=str)
        save_array(version_id, f"dataset-{name}.npy", value)
    for name in ("matrix", "baskets"):
        matrix = getattr(data, name)
        for part in _SPARSE_PARTS:
            save_array(version_id, f"dataset-{name}.{part}.npy", getattr(matrix, part))
    data._shared = version_id
    return data


def _open_shared(data: Dataset, shapes: tuple) -> None:
    """Map the arrays of a shared Dataset (copy-on-write: a stray in-place write changes
    this process's pages only, never the files)."""
    version_id = data._shared
    for name in SHARED_ARRAYS:
        setattr(data, name, load_array(version_id, f"dataset-{name}.npy", mode="c"))
    for name, shape in zip(("matrix", "baskets"), shapes, strict=True):
        parts = [load_array(version_id, f"dataset-{name}.{p}.npy", mode="c") for p in _SPARSE_PARTS]
        setattr(data, name, sp.csr_matrix(tuple(parts), shape=shape, copy=False))
