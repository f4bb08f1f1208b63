"""Session-kNN (V-SKNN / STAN style): score what similar shoppers' histories contained.

A shopper's (or session's) history is compared with the other training histories
that share an item with it. A neighbour's similarity is the sum, over the items the
two share, of the shopper's weight for that item: ``recency ** n`` for the shopper's
n-th most recent item (position decay), optionally divided by a power of the
neighbour's length. The ``k`` most similar neighbours then vote for their items, an
item counting more the closer it sits, in the neighbour's own order, to the anchor:
the shared item the shopper saw most recently. Everything is sparse and vectorised
per batch of shoppers; each item only looks at its ``sample_size`` most recent
histories, which bounds the work on large logs.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from ..dataset import Dataset
from .base import Recommender
from .cooccurrence import neighbours, popularity_tiebreak, top_k_entries, user_history
from .transitions import collapsed_sequences

log = logging.getLogger(__name__)

# (shopper, neighbour, neighbour's item) entries expanded at once: bounds memory.
_BATCH_ENTRIES = 1_000_000
# Second history weights _CODE ** rank: in a sum over the items a pair shares, the most
# recent one (smallest rank) dominates, so one sparse product also finds the anchor.
_CODE = 0.25
# _CODE ** rank must stay a normal float32 (and recency ** rank nonzero).
_MAX_LAST_N = 50


def session_positions(data: Dataset) -> sp.csr_matrix:
    """Histories x items, each entry the item's last position (1-based) in the history.

    Positions count the history's entries with consecutive repeats collapsed.
    """
    users, items = collapsed_sequences(data)
    counts = np.bincount(users, minlength=data.n_users)
    starts = np.cumsum(counts) - counts
    position = (np.arange(len(users)) - starts[users] + 1).astype(np.float32)
    # Keep each (history, item)'s last position: scipy would sum duplicates.
    order = np.lexsort((-position, items, users))
    users, items, position = users[order], items[order], position[order]
    first = np.ones(len(users), dtype=bool)
    first[1:] = (users[1:] != users[:-1]) | (items[1:] != items[:-1])
    matrix = sp.csr_matrix(
        (position[first], (users[first], items[first])), shape=(data.n_users, data.n_items)
    )
    matrix.sort_indices()
    return matrix


def last_event_times(data: Dataset) -> np.ndarray:
    """Epoch seconds of each user's last event (0 without events)."""
    ends = data.seq_indptr[1:]
    has = ends > data.seq_indptr[:-1]
    out = np.zeros(data.n_users, dtype=np.float64)
    out[has] = data.seq_times[ends[has] - 1]
    return out


class SessionKNN(Recommender):
    """Neighbour histories vote for their items (V-SKNN / STAN, vectorised).

    ``k`` neighbours per shopper; ``sample_size``: most recent histories looked at per
    item; ``recency``: the shopper's n-th most recent item weighs ``recency ** n``,
    over the ``last_n`` most recent; ``length_norm``: a neighbour's similarity is
    divided by its length ** length_norm (0: V-SKNN's plain overlap, 0.5: cosine);
    ``proximity``: a neighbour's item ``d`` steps from the anchor counts
    ``proximity ** (d - 1)`` (STAN's neighbour-item weighting; 1 = all alike);
    ``before_weight`` scales the neighbour's items that came before the anchor (1 =
    symmetric, 0 = only what came next). Neither time decay between histories nor an
    idf weight of shared items is used: on the demo, Online Retail and Diginetica logs
    they cost NDCG on validation or changed nothing.
    """

    # Its candidates (every neighbour's items) cost more than for the item-neighbour
    # models: dense rows were faster at 20,000 products on the demo's 1M log (7.4 s vs
    # 13.9 s), candidates clearly faster at 40,000 (bench/candidate_crossover.py).
    candidate_scale = 4.0
    name = "sknn"
    defaults = {
        "k": 100,
        "sample_size": 200,
        "recency": 0.5,
        "last_n": 10,
        "length_norm": 0.0,
        "proximity": 0.5,
        "before_weight": 0.5,
    }

    def fit(self, data: Dataset) -> SessionKNN:
        p = self.params
        if p["k"] < 1 or p["sample_size"] < 1 or not 1 <= p["last_n"] <= _MAX_LAST_N:
            raise ValueError(f"sknn: k, sample_size >= 1 and last_n in 1..{_MAX_LAST_N}")
        if not (0.0 < p["recency"] <= 1.0 and 0.0 < p["proximity"] <= 1.0):
            raise ValueError("sknn: recency and proximity must be in (0, 1]")
        if min(p["length_norm"], p["before_weight"]) < 0:
            raise ValueError("sknn: length_norm and before_weight must be >= 0")
        self.positions = session_positions(data)
        self.lengths = np.diff(self.positions.indptr).astype(np.float32)
        # Sorted (history, item) keys, to find an item's position in a history.
        self.position_keys = (
            np.repeat(np.arange(data.n_users, dtype=np.int64), self.lengths.astype(np.int64))
            * data.n_items
            + self.positions.indices
        )
        self.times = last_event_times(data)
        self.user_keys = np.asarray(data.user_keys).astype(str)
        self.user_order = np.argsort(self.user_keys, kind="stable")
        self.index = self._item_index(p["sample_size"])
        self.tiebreak = popularity_tiebreak(data)
        self.data = data
        log.info("sknn: %d item-history links kept", self.index.nnz)
        return self

    def _item_index(self, sample_size: int) -> sp.csr_matrix:
        """Items x histories, 1 for each item's ``sample_size`` most recent histories."""
        by_item = self.positions.T.tocsr()
        counts = np.diff(by_item.indptr)
        rows = np.repeat(np.arange(by_item.shape[0]), counts)
        hist = by_item.indices
        order = np.lexsort((hist, -self.times[hist], rows))  # most recent first
        rank = np.arange(len(rows)) - np.repeat(by_item.indptr[:-1], counts)
        keep = order[rank < sample_size]
        index = sp.csr_matrix(
            (np.ones(len(keep), dtype=np.float32), (rows[keep], hist[keep])),
            shape=by_item.shape,
        )
        index.sort_indices()
        return index

    def _histories(self, users: np.ndarray, data: Dataset):
        """(recency weights, anchor codes, own training rows) of the users' histories."""
        users = np.asarray(users, dtype=np.int64)
        last_n = self.params["last_n"]
        weights = user_history(data, users, self.params["recency"], last_n)
        codes = user_history(data, users, _CODE, last_n)
        return weights, codes, self._own_rows(data, users)

    def score(self, users: np.ndarray, data: Dataset | None = None) -> np.ndarray:
        data = data if data is not None else self.data
        return self._vote(*self._histories(users, data))

    def votes(self, users: np.ndarray, data: Dataset) -> tuple[sp.csr_matrix, np.ndarray]:
        """The neighbours' votes as sparse rows (the shopper's own recent items get none)."""
        return self._sparse_votes(*self._histories(users, data)), self.tiebreak

    def _sparse_votes(
        self, weights: sp.csr_matrix, codes: sp.csr_matrix, own: np.ndarray
    ) -> sp.csr_matrix:
        """``_vote`` without the tie-break, as sparse rows (the histories' own items get
        no votes)."""
        parts = [
            (rows + start, cols, vote)
            for start, part in self._chunks(weights.shape[0])
            for rows, cols, vote in [self._vote_chunk(weights[part], codes[part], own[part])]
        ]
        n_rows, n_items = weights.shape
        if not parts:
            return sp.csr_matrix((n_rows, n_items), dtype=np.float32)
        rows, cols, vote = (np.concatenate(p) for p in zip(*parts, strict=True))
        own_items = np.sort(
            np.repeat(np.arange(n_rows), np.diff(weights.indptr)) * n_items + weights.indices
        )
        keys = rows * n_items + cols
        keep = np.ones(len(keys), dtype=bool)
        if len(own_items):  # a sorted lookup: np.isin would sort every vote as well
            at = np.minimum(np.searchsorted(own_items, keys), len(own_items) - 1)
            keep = own_items[at] != keys
        out = sp.csr_matrix((vote[keep], (rows[keep], cols[keep])), shape=(n_rows, n_items))
        out.sum_duplicates()
        return out

    def _chunks(self, n_rows: int):
        """(start, slice) of the row chunks one vote expands at a time (bounded memory)."""
        avg_len = max(float(self.lengths.mean()) if len(self.lengths) else 1.0, 1.0)
        chunk = max(1, int(_BATCH_ENTRIES // (self.params["k"] * avg_len)))
        for start in range(0, n_rows, chunk):
            yield start, slice(start, min(start + chunk, n_rows))

    def _own_rows(self, data: Dataset, users: np.ndarray) -> np.ndarray:
        """Each scored user's own row among the training histories (-1: none)."""
        own = np.full(len(users), -1, dtype=np.int64)
        if not len(self.user_keys) or not len(users):
            return own
        keys = np.asarray(data.user_keys[users]).astype(str)
        at = np.searchsorted(self.user_keys, keys, sorter=self.user_order)
        found = self.user_order[np.clip(at, 0, len(self.user_order) - 1)]
        return np.where(self.user_keys[found] == keys, found, own)

    def _vote(
        self,
        weights: sp.csr_matrix,
        codes: sp.csr_matrix,
        own: np.ndarray,
    ) -> np.ndarray:
        """Dense scores for rows of item histories; ``codes``: the same entries weighted
        _CODE ** recency rank; ``own``: each row's training history, never its neighbour."""
        n_rows, n_items = weights.shape
        out = np.zeros((n_rows, n_items), dtype=np.float32)
        for _, part in self._chunks(n_rows):
            rows, cols, vote = self._vote_chunk(weights[part], codes[part], own[part])
            block = out[part]
            np.add.at(block.reshape(-1), rows * n_items + cols, vote)  # numpy >= 2: fast
            # The shopper's own recent items (masked by callers anyway) get no votes.
            w = weights[part]
            block[np.repeat(np.arange(w.shape[0]), np.diff(w.indptr)), w.indices] = 0.0
        out += self.tiebreak
        return out

    def _vote_chunk(
        self,
        weights: sp.csr_matrix,
        codes: sp.csr_matrix,
        own: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The votes for these rows: (row, item, vote) entries, repeats to be summed."""
        p = self.params
        n_rows, n_items = weights.shape
        # Every history sharing an item (within each item's sample), with similarity and
        # the anchor's code; both products have the same sparsity pattern.
        sim = (weights @ self.index).tocsr()
        code = (codes.astype(np.float64) @ self.index).tocsr()
        sim.sort_indices()
        code.sort_indices()
        if sim.nnz != code.nnz:  # positive weights: never, unless one product underflows
            raise FloatingPointError("sknn: similarity and anchor codes differ in pattern")
        rows = np.repeat(np.arange(n_rows), np.diff(sim.indptr))
        nbrs = sim.indices.astype(np.int64)
        vals = sim.data.astype(np.float32)
        vals[nbrs == own[rows]] = 0.0
        if p["length_norm"]:
            vals /= self.lengths[nbrs] ** np.float32(p["length_norm"])
        sim.data = vals
        kept = top_k_entries(sim, p["k"])
        kept = kept[vals[kept] > 0]
        rows, nbrs, vals = rows[kept], nbrs[kept], vals[kept]
        # Recency rank of the anchor: the shared item with the largest _CODE ** rank term.
        anchor_rank = np.ceil(np.log(code.data[kept]) / np.log(_CODE) - 1e-6).astype(np.int64)
        anchor = _items_by_rank(codes, self.params["last_n"])[rows, anchor_rank]
        # The anchor's position in each neighbour: positions' keys are sorted.
        pos = self.positions
        anchor_pos = pos.data[np.searchsorted(self.position_keys, nbrs * n_items + anchor)]
        # Expand each (row, neighbour) pair to the neighbour's items (a CSR row gather).
        gathered = pos[nbrs]
        pair = np.repeat(np.arange(len(rows)), np.diff(gathered.indptr))
        dist = gathered.data - anchor_pos[pair]
        vote = np.power(np.float32(p["proximity"]), np.maximum(np.abs(dist) - 1.0, 0.0))
        vote[dist < 0] *= np.float32(p["before_weight"])
        vote *= vals[pair]
        return rows[pair], gathered.indices.astype(np.int64), vote

    def similar_items(self, items: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """What the histories containing each item voted for (one-item histories)."""
        items = np.asarray(items, dtype=np.int64)
        one = sp.csr_matrix(
            (np.ones(len(items), dtype=np.float32), (np.arange(len(items)), items)),
            shape=(len(items), self.data.n_items),
        )
        votes = self._sparse_votes(one, one, np.full(len(items), -1))
        votes.data = np.maximum(votes.data, 0.0)
        votes.eliminate_zeros()
        return neighbours(votes, np.arange(len(items)), k)


def _items_by_rank(codes: sp.csr_matrix, last_n: int) -> np.ndarray:
    """(rows, last_n) item index of each row's history entry of recency rank r."""
    out = np.zeros((codes.shape[0], max(last_n, 1)), dtype=np.int64)
    rows = np.repeat(np.arange(codes.shape[0]), np.diff(codes.indptr))
    rank = np.rint(np.log(codes.data.astype(np.float64)) / np.log(_CODE)).astype(np.int64)
    out[rows, rank] = codes.indices
    return out
