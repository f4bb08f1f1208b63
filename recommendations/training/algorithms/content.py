"""Content similarity: TF-IDF over product text, category and brand (cold start)."""

from __future__ import annotations

import logging
import re

import numpy as np
import scipy.sparse as sp

from ..dataset import Dataset, ItemFeatures
from .cooccurrence import ItemNeighbourModel, popularity_tiebreak

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "for",
        "in",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "by",
        "from",
        "at",
        "is",
        "this",
        "that",
    ]
)


def tfidf_matrix(features: ItemFeatures, max_df: float = 0.5) -> sp.csr_matrix:
    """L2-normalised TF-IDF rows (n_items, n_terms): words of the text plus one token
    for the category and one for the brand; words in more than ``max_df`` of the items
    are dropped. Sublinear tf (1 + log count), smooth idf (log((1 + n) / (1 + df)) + 1)."""
    n = len(features.text)
    docs: list[list[str]] = []
    for i, text in enumerate(features.text):
        tokens = [t for t in _TOKEN.findall((text or "").lower()) if t not in _STOPWORDS]
        if features.category[i] >= 0:
            tokens.append(f"category:{features.category[i]}")
        if features.brand[i] >= 0:
            tokens.append(f"brand:{features.brand[i]}")
        docs.append(tokens)
    lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=n)
    flat = np.array([t for d in docs for t in d], dtype=object)
    if not len(flat):
        return sp.csr_matrix((n, 0), dtype=np.float32)
    vocab, term = np.unique(flat.astype(str), return_inverse=True)
    rows = np.repeat(np.arange(n), lengths)
    counts = sp.csr_matrix(
        (np.ones(len(term), dtype=np.float32), (rows, term)), shape=(n, len(vocab))
    )
    counts.sum_duplicates()
    df = np.bincount(counts.indices, minlength=len(vocab)).astype(np.float32)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    idf[df > max(max_df * n, 1.0)] = 0.0  # too common to tell items apart
    counts.data = (1.0 + np.log(counts.data)) * idf[counts.indices]
    counts.eliminate_zeros()
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ counts, dtype=np.float32)


# Above this many products, content neighbours are searched within each category only:
# all pairs cost I² (about 5 minutes a fit at 100k products), a category's pairs g².
ALL_PAIRS_MAX_ITEMS = 20_000
# Above ALL_PAIRS_MAX_ITEMS, a category (or a catalogue without categories) of more than
# this many products is cut into chunks of at most this many by recursive bisection in
# feature space (``chunks``), and neighbours are searched within each chunk: pairs then
# grow as g x MAX_BLOCK_ITEMS, linearly with the category, instead of g².
MAX_BLOCK_ITEMS = 10_000
POWER_ITERATIONS = 12


def similarity_work(n_items: int, categories: tuple[int, ...] = ()) -> int:
    """Product pairs ``fit`` compares, at most, for a catalogue of ``n_items`` with
    ``categories`` products per category (budget.py's content cost)."""
    if n_items <= ALL_PAIRS_MAX_ITEMS:
        return n_items**2
    return sum(g * min(g, MAX_BLOCK_ITEMS) for g in (categories or (n_items,)))


def _halves(sub: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``sub`` on either side of its principal direction (centred power
    iteration), cut at the widest gap between projections, so a tight cluster of alike
    products stays on one side; each side keeps at least a sixteenth of the rows, so
    groups shrink geometrically (a few dozen levels at 100k products)."""
    m = sub.shape[0]
    mean = np.asarray(sub.mean(axis=0)).ravel()
    v = np.random.default_rng(0).standard_normal(sub.shape[1])
    for _ in range(POWER_ITERATIONS):
        u = sub @ v - mean @ v
        v = sub.T @ u - mean * u.sum()
        v /= np.linalg.norm(v) or 1.0
    order = np.argsort(sub @ v - mean @ v, kind="stable")
    proj = (sub @ v)[order]
    lo, hi = max(m // 16, 1), m - max(m // 16, 1)
    cut = lo + int(np.argmax(np.diff(proj[lo - 1 : hi + 1]))) if lo < hi else m // 2
    return order[:cut], order[cut:]


def chunks(vectors: sp.csr_matrix, members: np.ndarray, max_size: int) -> list[np.ndarray]:
    """``members`` (row numbers of ``vectors``) cut into groups of at most ``max_size``
    products that are alike: halves by ``_halves`` until each is small enough."""
    out, todo = [], [members]
    while todo:
        group = todo.pop()
        if len(group) <= max_size:
            out.append(group)
            continue
        left, right = _halves(vectors[group])
        todo += [group[right], group[left]]
    return out


def content_similarity(
    vectors: sp.csr_matrix,
    k: int,
    block: int = 1000,
    groups: np.ndarray | None = None,
    max_group: int | None = None,
) -> sp.csr_matrix:
    """Cosine top-k neighbours of every row, computed in row blocks to bound memory.

    ``groups``: a code per row; neighbours are then searched only among rows of the
    same code (unknown, -1, is one more group). ``max_group``: a group larger than
    this is cut into ``chunks`` of alike rows first. Text similarity is nearly dense
    (shared words link most items), so each block is densified and cut with
    argpartition: sorting its sparse entries is ~10x slower."""
    n = vectors.shape[0]
    if groups is None:
        groups = np.zeros(n, dtype=np.int64)
    rows, cols, vals = [], [], []
    for code in np.unique(groups):
        members = np.flatnonzero(groups == code)
        for part in chunks(vectors, members, max_group or len(members)):
            for r, c, v in _top_k_within(vectors[part], k, block):
                rows.append(part[r])
                cols.append(part[c])
                vals.append(v)
        if n > block:
            log.info("content: %d items of group %s done", len(members), code)
    if not rows:
        return sp.csr_matrix((n, n), dtype=np.float32)
    out = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, n),
        dtype=np.float32,
    )
    out.sort_indices()
    return out


def _top_k_within(sub: sp.csr_matrix, k: int, block: int):
    """(rows, cols, values) of the top-k neighbours among the rows of ``sub``, block by block."""
    transposed = sub.T.tocsc()
    for start in range(0, sub.shape[0], block):
        sims = (sub[start : start + block] @ transposed).toarray()
        np.fill_diagonal(sims[:, start : start + block], 0.0)  # not its own neighbour
        top = dense_top_k_rows(sims, k).tocoo()
        yield top.row + start, top.col, top.data


def dense_top_k_rows(sims: np.ndarray, k: int) -> sp.csr_matrix:
    """The k largest positive entries of each row of a dense block, as sparse rows."""
    k = min(k, sims.shape[1])
    if k == 0:
        return sp.csr_matrix(sims.shape, dtype=np.float32)
    idx = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    val = np.take_along_axis(sims, idx, axis=1)
    keep = val > 0
    rows = np.broadcast_to(np.arange(len(sims))[:, None], idx.shape)
    out = sp.csr_matrix((val[keep], (rows[keep], idx[keep])), shape=sims.shape, dtype=np.float32)
    out.sort_indices()
    return out


class ContentSimilarity(ItemNeighbourModel):
    """Items described alike are similar; a shopper's score = history x similarity.

    Works for products without any events (their vectors come from the catalogue).
    Without ``data.features`` nothing is similar and every score is 0.
    """

    name = "content"
    defaults = {"k": 50, "recency": 0.8, "max_df": 0.5}

    def fit(self, data: Dataset) -> ContentSimilarity:
        if self.params["k"] < 1:
            raise ValueError("content: k must be >= 1")
        n = data.n_items
        self.scale_note = ""
        if data.features is None:
            log.warning("content: the dataset has no item features; no neighbours")
            self.similarity = sp.csr_matrix((n, n), dtype=np.float32)
        else:
            vectors = tfidf_matrix(data.features, self.params["max_df"])
            groups, max_group = None, None
            if n > ALL_PAIRS_MAX_ITEMS:
                groups, max_group = np.asarray(data.features.category), MAX_BLOCK_ITEMS
                self.scale_note = (
                    f"Content neighbours searched within each category only, in chunks of "
                    f"at most {MAX_BLOCK_ITEMS:,} alike products ({n:,} products, more "
                    f"than {ALL_PAIRS_MAX_ITEMS:,}: all pairs would cost I²)."
                )
            self.similarity = content_similarity(
                vectors, self.params["k"], groups=groups, max_group=max_group
            )
        # Without features, score nothing (not a hidden popularity list) so a hybrid
        # that includes this component is not silently skewed towards bestsellers.
        self.tiebreak = (
            popularity_tiebreak(data) if data.features is not None else np.zeros(n, np.float32)
        )
        self.data = data
        return self
