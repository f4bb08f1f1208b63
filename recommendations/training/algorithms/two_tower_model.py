"""The Keras side of the two-tower recommender: networks, training loop, query encoding.

Imported only by ``two_tower.py`` when it trains or scores, never by the web process.
Item feature tables (numpy, built in ``two_tower.py``) are baked into the network as
constants, so a network is rebuilt exactly from ``(tables, config, weights)``.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import numpy as np

from ..verbosity import quiet_tensorflow_import

with quiet_tensorflow_import():  # TensorFlow's C++ start-up logs (CUDA probe) off
    import keras
    import tensorflow as tf
    from keras import layers

logger = logging.getLogger(__name__)

_threads_configured = False
CHECK_STEPS = 200  # early stopping judges the weights about this many updates apart


def configure_runtime(threads: int) -> None:
    """Cap TensorFlow's thread pools once per process (they are fixed after first use)."""
    global _threads_configured
    if _threads_configured:
        return
    _threads_configured = True
    threads = threads or os.cpu_count() or 1
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(threads, 2))
    except RuntimeError:  # the runtime already started (another model ran first)
        pass
    tf.config.experimental.enable_op_determinism()


class ItemTower(layers.Layer):
    """Item index -> vector: id embedding (OOV bucket 0) + category + brand + price band
    + mean of hashed text-token embeddings. A product without events has id 0 and is
    described by its features alone."""

    def __init__(self, tables: dict[str, np.ndarray], cfg: dict[str, Any], **kw: Any):
        super().__init__(**kw)
        dim = int(cfg["embedding_dim"])
        self.id_code = tf.constant(tables["id_code"])
        self.category = tf.constant(tables["category"])
        self.brand = tf.constant(tables["brand"])
        self.price_band = tf.constant(tables["price_band"])
        self.tokens = tf.constant(tables["tokens"])
        self.id_dropout = float(cfg["id_dropout"])
        init = keras.initializers.RandomNormal(stddev=0.05)

        def emb(n: int) -> layers.Embedding:
            return layers.Embedding(max(n, 1), dim, embeddings_initializer=init)

        self.id_emb = emb(int(tables["id_code"].max()) + 1)
        self.cat_emb = emb(int(tables["category"].max()) + 1)
        self.brand_emb = emb(int(tables["brand"].max()) + 1)
        self.price_emb = emb(int(tables["price_band"].max()) + 1)
        self.tok_emb = emb(int(cfg["text_buckets"]))
        self.seed_gen = keras.random.SeedGenerator(int(cfg["seed"]) + 3)

    def call(self, items: tf.Tensor, training: bool = False) -> tf.Tensor:
        ids = tf.gather(self.id_code, items)
        if training and self.id_dropout > 0:
            # Train the feature part to stand alone, as it must for new products.
            drop = keras.random.uniform(tf.shape(ids), seed=self.seed_gen) < self.id_dropout
            ids = tf.where(drop, tf.zeros_like(ids), ids)
        x = self.id_emb(ids)
        x += self.cat_emb(tf.gather(self.category, items))
        x += self.brand_emb(tf.gather(self.brand, items))
        x += self.price_emb(tf.gather(self.price_band, items))
        toks = tf.gather(self.tokens, items)  # (..., T), 0 = no token
        mask = tf.cast(toks > 0, x.dtype)[..., None]
        count = tf.maximum(tf.reduce_sum(mask, axis=-2), 1.0)
        return x + tf.reduce_sum(self.tok_emb(toks) * mask, axis=-2) / count


class AttentionBlock(layers.Layer):
    """Pre-norm transformer block (self-attention + feed-forward) over a history."""

    def __init__(self, dim: int, heads: int, dropout: float, seed: int, **kw: Any):
        super().__init__(**kw)
        self.norm1 = layers.LayerNormalization(epsilon=1e-6)
        self.attn = layers.MultiHeadAttention(heads, dim // heads, dropout=dropout, seed=seed)
        self.norm2 = layers.LayerNormalization(epsilon=1e-6)
        self.ff1 = layers.Dense(dim * 2, activation="gelu")
        self.ff2 = layers.Dense(dim)
        self.drop = layers.Dropout(dropout, seed=seed + 1)

    def call(self, x: tf.Tensor, mask: tf.Tensor, training: bool = False) -> tf.Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, attention_mask=mask, training=training)
        h = self.ff2(self.ff1(self.norm2(x)))
        return x + self.drop(h, training=training)


class TwoTowerNet(keras.Model):
    """Query tower (recent items -> vector) and item tower (features -> vector), both
    L2-normalised so a dot product is a cosine similarity.

    Histories are right-padded (oldest item first); with a causal mask, the output at
    position t encodes the history up to item t, so one pass over a window trains every
    prefix of it (SASRec-style) and scoring reads the output at the newest item.
    """

    def __init__(self, tables: dict[str, np.ndarray], cfg: dict[str, Any], **kw: Any):
        super().__init__(**kw)
        dim, seed = int(cfg["embedding_dim"]), int(cfg["seed"])
        self.cfg = cfg
        self.pad = int(len(tables["id_code"]) - 1)  # last table row: the padding item
        self.items = ItemTower(tables, cfg)
        self.encoder = cfg["encoder"]
        self.pos_emb = layers.Embedding(int(cfg["max_len"]), dim)
        self.in_drop = layers.Dropout(float(cfg["dropout"]), seed=seed + 7)
        self.blocks = [
            AttentionBlock(dim, int(cfg["heads"]), float(cfg["dropout"]), seed + 10 * i)
            for i in range(int(cfg["blocks"]) if self.encoder == "attention" else 0)
        ]
        self.out_norm = layers.LayerNormalization(epsilon=1e-6)
        self.query_proj = layers.Dense(dim)

    def item_vectors(self, items: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Normalised item-tower vectors of item indices."""
        return tf.math.l2_normalize(self.items(items, training=training), axis=-1)

    def encode_all(self, seqs: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Normalised query vectors (B, L, D) after every prefix of right-padded (B, L)."""
        flat = tf.reshape(seqs, [-1])
        uniq, inv = tf.unique(flat)  # run the item tower once per distinct item
        x = tf.gather(self.items(uniq, training=training), inv)
        x = tf.reshape(x, [tf.shape(seqs)[0], tf.shape(seqs)[1], int(self.cfg["embedding_dim"])])
        valid = seqs != self.pad  # (B, L)
        length = tf.shape(seqs)[1]
        x = x + self.pos_emb(tf.range(length))[None]
        x = self.in_drop(x, training=training) * tf.cast(valid, x.dtype)[..., None]
        causal = tf.linalg.band_part(tf.ones([length, length], tf.bool), -1, 0)
        if self.encoder == "attention":
            mask = causal[None] & valid[:, None, :]
            for block in self.blocks:
                x = block(x, mask, training=training)
        else:  # recency-weighted mean of the prefix
            age = tf.cast(tf.range(length)[:, None] - tf.range(length)[None, :], x.dtype)
            w = (
                tf.where(causal, tf.pow(float(self.cfg["recency_decay"]), age), 0.0)[None]
                * tf.cast(valid, x.dtype)[:, None]
            )
            x = tf.einsum("bij,bjd->bid", w, x) / (tf.reduce_sum(w, -1, keepdims=True) + 1e-6)
        return tf.math.l2_normalize(self.query_proj(self.out_norm(x)), axis=-1)

    def encode(self, seqs: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
        """Query vectors (B, D) of right-padded histories with ``lengths`` >= 1 items."""
        out = self.encode_all(seqs)
        return tf.gather(out, lengths - 1, batch_dims=1)

    def build_all(self) -> None:
        """Create every variable (needed before ``set_weights``)."""
        dummy = tf.constant([[0] + [self.pad] * (int(self.cfg["max_len"]) - 1)], tf.int32)
        self.encode(dummy, tf.constant([1], tf.int32))
        self.item_vectors(tf.constant([0], tf.int32))


class LazyAdam:
    """Adam that updates only the embedding rows a batch touched (as TF Addons' LazyAdam).

    Keras' Adam densifies embedding gradients and rewrites every row of every table on
    every step, which costs more than the whole forward and backward pass here.
    """

    def __init__(
        self,
        variables: list,
        learning_rate: float,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-7,
    ):
        self.vars = [v.value for v in variables]  # the underlying tf.Variables
        self.m = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.vars]
        self.v = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.vars]
        self.t = tf.Variable(0.0, trainable=False)
        self.lr, self.b1, self.b2, self.eps = learning_rate, beta1, beta2, epsilon

    def apply(self, grads: list) -> None:
        """One update from gradients aligned with the variables."""
        self.t.assign_add(1.0)
        lr = self.lr * tf.sqrt(1.0 - self.b2**self.t) / (1.0 - self.b1**self.t)
        for g, var, m, v in zip(grads, self.vars, self.m, self.v, strict=True):
            if isinstance(g, tf.IndexedSlices):
                rows, pos = tf.unique(g.indices)
                g_rows = tf.math.unsorted_segment_sum(g.values, pos, tf.size(rows))
                m_rows = self.b1 * tf.gather(m, rows) + (1.0 - self.b1) * g_rows
                v_rows = self.b2 * tf.gather(v, rows) + (1.0 - self.b2) * tf.square(g_rows)
                m.scatter_update(tf.IndexedSlices(m_rows, rows))
                v.scatter_update(tf.IndexedSlices(v_rows, rows))
                step = lr * m_rows / (tf.sqrt(v_rows) + self.eps)
                var.scatter_sub(tf.IndexedSlices(step, rows))
            else:
                m.assign(self.b1 * m + (1.0 - self.b1) * g)
                v.assign(self.b2 * v + (1.0 - self.b2) * tf.square(g))
                var.assign_sub(lr * m / (tf.sqrt(v) + self.eps))


def build_net(
    tables: dict[str, np.ndarray], cfg: dict[str, Any], weights: list[np.ndarray] | None = None
) -> TwoTowerNet:
    """A network for ``tables``/``cfg``, optionally loaded with saved weights."""
    configure_runtime(int(cfg.get("threads", 0)))
    net = TwoTowerNet(tables, cfg)
    net.build_all()
    if weights is not None:
        net.set_weights(weights)
    return net


def train(
    tables: dict[str, np.ndarray],
    cfg: dict[str, Any],
    inputs: np.ndarray,
    targets: np.ndarray,
    log_q: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> TwoTowerNet:
    """Fit a fresh network on next-item windows with an in-batch softmax.

    ``inputs``/``targets`` (n, max_len): right-padded windows of a shopper's items and the
    item after each (-1 = padding). Each batch's distinct targets are its candidates, so
    every target is a negative for the other steps of the batch; ``log_q`` (n_items,), the log of
    each item's share of targets, is subtracted from its logits (logQ correction) so
    popular items are not over-penalised for appearing as negatives more often.

    ``validation`` (histories, lengths, targets) with ``cfg["patience"]`` > 0: about
    every CHECK_STEPS updates (every few epochs on small logs, a few times per epoch on
    large ones), NDCG@10 of the targets over the whole catalogue; training stops after
    ``patience`` checks without improvement and the best check's weights are kept
    (``net.best_epoch``: the 1-based epoch it was in).
    """
    configure_runtime(int(cfg.get("threads", 0)))
    keras.utils.set_random_seed(int(cfg["seed"]))
    net = build_net(tables, cfg)
    step = _train_step(net, cfg, log_q)
    rng = np.random.default_rng(int(cfg["seed"]))
    lengths = (targets >= 0).sum(axis=1)
    steps_per_epoch, epochs = _schedule(lengths, cfg)
    patience = int(cfg.get("patience", 0)) if validation is not None else 0
    stopper = _EarlyStopping(net, validation, patience, steps_per_epoch)
    for epoch in range(epochs):
        batches = _batches(lengths, int(cfg["batch_size"]), rng)
        if _run_epoch(step, (inputs, targets, lengths), batches, (epoch, epochs), stopper):
            break
    if stopper.best_weights is not None:
        net.set_weights(stopper.best_weights)
    return net


def _train_step(net: TwoTowerNet, cfg: dict[str, Any], log_q: np.ndarray) -> Any:
    """One compiled update, applied by a LazyAdam over the network's variables; returns
    the loss. ``cfg["full_softmax"]``: softmax over every item with events (the targets'
    vocabulary); else an in-batch softmax
    over the batch's distinct targets, logQ corrected."""
    optimizer = LazyAdam(net.trainable_variables, float(cfg["learning_rate"]))
    inv_temp = 1.0 / float(cfg["temperature"])
    log_q_t = tf.constant(log_q.astype(np.float32) * float(cfg["logq_weight"]))
    # Full softmax over the items with events: a product nobody has seen yet is not a
    # negative (it would push its feature vector, all a new product has, away).
    with_events = np.flatnonzero(net.items.id_code.numpy()[: len(log_q)] > 0)
    position = np.zeros(len(log_q), dtype=np.int32)
    position[with_events] = np.arange(len(with_events), dtype=np.int32)
    all_items, position_t = tf.constant(with_events.astype(np.int32)), tf.constant(position)
    full = bool(cfg.get("full_softmax", False))
    spec = (tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.int32))

    @tf.function(input_signature=spec)
    def step(ctx: tf.Tensor, tgt: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            valid = tgt >= 0
            q = tf.boolean_mask(net.encode_all(ctx, training=True), valid)
            if full:  # every item is a candidate: no sampling bias to correct
                label = tf.gather(position_t, tf.boolean_mask(tgt, valid))
                v = net.item_vectors(all_items, training=True)
                logits = tf.matmul(q, v, transpose_b=True) * inv_temp
            else:
                cand, label = tf.unique(tf.boolean_mask(tgt, valid))
                v = net.item_vectors(cand, training=True)
                logits = tf.matmul(q, v, transpose_b=True) * inv_temp
                logits -= tf.gather(log_q_t, cand)[None, :]
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=label, logits=logits)
            )
        grads = tape.gradient(loss, net.trainable_variables)
        optimizer.apply(grads)
        return loss

    return step


def _schedule(lengths: np.ndarray, cfg: dict[str, Any]) -> tuple[int, int]:
    """(steps per epoch, epochs): small data gets more epochs, so that even a few
    thousand events get min_steps updates."""
    steps_per_epoch = max(1, -(-int(lengths.sum()) // int(cfg["batch_size"])))
    epochs = max(int(cfg["epochs"]), -(-int(cfg["min_steps"]) // steps_per_epoch))
    logger.info(
        "two_tower: %d targets in %d windows, %d epochs of ~%d steps",
        int(lengths.sum()),
        len(lengths),
        epochs,
        steps_per_epoch,
    )
    return steps_per_epoch, epochs


class _EarlyStopping:
    """Judges the weights on the validation histories every ~CHECK_STEPS updates and
    keeps the best; stops after ``patience`` checks without improvement (0: never)."""

    def __init__(
        self, net: TwoTowerNet, validation: tuple | None, patience: int, steps_per_epoch: int
    ):
        self.net, self.validation, self.patience = net, validation, patience
        # Every few epochs on small logs, several times an epoch on large ones (at 1M
        # events the best weights come within the first epoch, so waiting for whole
        # epochs trained two more of ~30 s each to no use).
        self.check_every = max(1, -(-CHECK_STEPS // steps_per_epoch))
        self.checks_per_epoch = max(1, steps_per_epoch // CHECK_STEPS)
        self.best_score, self.best_weights, self.waited = -1.0, None, 0
        net.best_epoch = None

    def inner_steps(self, n_batches: int) -> set[int]:
        """Steps within an epoch after which to check (large logs only): after every
        n_batches/checks_per_epoch batches."""
        per = self.checks_per_epoch
        return {n_batches * (j + 1) // per for j in range(per - 1)} if self.patience else set()

    def at_epoch_end(self, epoch: int, epochs: int, steps: int) -> bool:
        """Check at the end of every check_every-th epoch and of the last one."""
        if not self.patience:
            return False
        last = epoch + 1 == epochs
        return ((epoch + 1) % self.check_every == 0 or last) and self.check(epoch, steps)

    def check(self, epoch: int, at_step: int) -> bool:
        """Judge the current weights; True when training should stop."""
        score = _validation_ndcg(self.net, *self.validation)
        logger.debug(
            "two_tower epoch %d step %d: early-stopping NDCG@10 %.4f", epoch + 1, at_step, score
        )
        if score > self.best_score:
            self.best_score, self.best_weights, self.waited = score, self.net.get_weights(), 0
            self.net.best_epoch = epoch + 1
            return False
        self.waited += 1
        return self.waited >= self.patience


def _run_epoch(
    step: Any,
    windows: tuple[np.ndarray, np.ndarray, np.ndarray],
    batches: list,
    at: tuple[int, int],
    stopper: _EarlyStopping,
) -> bool:
    """Train on ``batches`` of ``windows`` (inputs, targets, lengths) in epoch ``at``
    (epoch, epochs); True when early stopping ends training."""
    inputs, targets, lengths = windows
    epoch, epochs = at
    started = time.monotonic()
    total, steps, stop = 0.0, 0, False
    inner = stopper.inner_steps(len(batches))
    for idx in batches:
        width = int(lengths[idx].max())
        total += float(step(inputs[idx, :width], targets[idx, :width]))
        steps += 1
        if steps in inner and stopper.check(epoch, steps):
            stop = True
            break
    logger.debug(
        "two_tower epoch %d/%d: loss %.4f, %d steps, %.1f s",
        epoch + 1,
        epochs,
        total / max(steps, 1),
        steps,
        time.monotonic() - started,
    )
    return stop or stopper.at_epoch_end(epoch, epochs, steps)


def _validation_ndcg(
    net: TwoTowerNet, seqs: np.ndarray, lengths: np.ndarray, targets: np.ndarray, k: int = 10
) -> float:
    """Mean NDCG@k of next-item targets ranked over every item (ties count against)."""
    vectors = all_item_vectors(net, int(net.pad))
    known = lengths > 0
    queries = encode_queries(net, seqs[known], lengths[known])
    scores = queries @ vectors.T
    # As the offline protocol does: the shopper's own items are not recommended again
    # (a target among them is a miss).
    hist = seqs[known]
    rows = np.repeat(np.arange(len(hist)), hist.shape[1])
    ok = hist.ravel() < scores.shape[1]
    scores[rows[ok], hist.ravel()[ok]] = -np.inf
    target_scores = scores[np.arange(len(scores)), targets[known]]
    ranks = (scores >= target_scores[:, None]).sum(axis=1) - 1
    gains = np.where((ranks < k) & np.isfinite(target_scores), 1.0 / np.log2(ranks + 2.0), 0.0)
    return float(gains.sum() / max(len(targets), 1))


def _batches(lengths: np.ndarray, batch_targets: int, rng: np.random.Generator) -> list:
    """Window indices per batch, ~``batch_targets`` targets each, similar lengths together
    (less padding), in a random order drawn from ``rng``."""
    order = rng.permutation(len(lengths))
    # Sort by length inside chunks of ~50 batches: random batches, little padding.
    chunk = max(1, 50 * batch_targets // max(int(lengths.mean()), 1))
    parts = [order[s : s + chunk] for s in range(0, len(order), chunk)]
    order = np.concatenate([p[np.argsort(lengths[p], kind="stable")] for p in parts])
    batch_id = (np.cumsum(lengths[order]) - 1) // batch_targets
    bounds = np.flatnonzero(np.diff(batch_id)) + 1
    batches = np.split(order, bounds)
    return [batches[i] for i in rng.permutation(len(batches))]


def encode_queries(
    net: TwoTowerNet, seqs: np.ndarray, lengths: np.ndarray, batch: int = 4096
) -> np.ndarray:
    """Query vectors (float32 numpy) of right-padded histories, in batches."""
    fn = _encode_fn(net)
    out = [
        fn(seqs[s : s + batch], lengths[s : s + batch].astype(np.int32)).numpy()
        for s in range(0, len(seqs), batch)
    ]
    return np.concatenate(out) if out else np.zeros((0, net.cfg["embedding_dim"]), np.float32)


def all_item_vectors(net: TwoTowerNet, n_items: int, batch: int = 8192) -> np.ndarray:
    """Item-tower vectors of every item index, as float32 numpy."""
    idx = np.arange(n_items, dtype=np.int32)
    return np.concatenate(
        [
            net.item_vectors(tf.constant(idx[s : s + batch])).numpy()
            for s in range(0, n_items, batch)
        ]
    )


def _encode_fn(net: TwoTowerNet) -> Any:
    fn = getattr(net, "_encode_fn", None)
    if fn is None:
        spec = (tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32))
        fn = tf.function(net.encode, input_signature=spec)
        net._encode_fn = fn
    return fn
