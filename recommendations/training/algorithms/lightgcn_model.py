"""The TensorFlow side of the LightGCN-style model: propagation and training.

Imported only by ``lightgcn.py`` when it trains, never by the web process (scoring is
numpy). The training loop, batches and early stopping are the two-tower model's: a
``GraphNet`` offers the same ``item_vectors`` / ``encode`` / weights interface.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..verbosity import quiet_tensorflow_import
from . import two_tower_model as tm

with quiet_tensorflow_import():
    import keras
    import tensorflow as tf

    # CSR products: about 7x faster than tf.sparse.sparse_dense_matmul forward and
    # backward at 1M edges (0.5 s against 3.8 s a step on 2 busy cores).
    from tensorflow.python.ops.linalg.sparse import sparse_csr_matrix_ops as csr


class GraphNet(keras.Model):
    """Product ego vectors (id + category + brand + price band) propagated ``layers``
    times over the normalised shopper-product graph (product -> shopper -> product),
    averaged over layers and L2-normalised; a history's vector is the recency-weighted
    mean of its products' vectors, normalised."""

    def __init__(self, tables: dict[str, np.ndarray], graph: tuple, cfg: dict[str, Any], **kw: Any):
        super().__init__(**kw)
        self.cfg = cfg
        self.pad = int(len(tables["id_code"]) - 1)  # last table row: the padding item
        self.codes = {key: tf.constant(tables[key][: self.pad]) for key in _FEATURES}
        rows, cols, values, shape = graph
        indices = np.stack([rows, cols], axis=1).astype(np.int64)
        to_users = tf.sparse.reorder(tf.sparse.SparseTensor(indices, values, shape))
        to_items = tf.sparse.reorder(tf.sparse.transpose(to_users))
        # A plain tuple, so Keras does not track the matrices as layer state.
        self._graph = (csr.CSRSparseMatrix(to_users), csr.CSRSparseMatrix(to_items))
        self.id_dropout = float(cfg["id_dropout"])
        self.seed_gen = keras.random.SeedGenerator(int(cfg["seed"]) + 3)
        dim = int(cfg["embedding_dim"])
        init = keras.initializers.RandomNormal(stddev=0.05)
        self.tables_ = [
            self.add_weight(shape=(int(tables[key].max()) + 1, dim), initializer=init, name=key)
            for key in _FEATURES
        ]

    def all_vectors(self, training: bool = False) -> tf.Tensor:
        """(n_items + 1, dim): every product's vector, then a zero row for padding."""
        ids = self.codes["id_code"]
        if training and self.id_dropout > 0:
            # Train the feature part to stand alone, as it must for new products.
            drop = keras.random.uniform(tf.shape(ids), seed=self.seed_gen) < self.id_dropout
            ids = tf.where(drop, tf.zeros_like(ids), ids)
        x = tf.gather(self.tables_[0], ids)
        for key, table in zip(_FEATURES[1:], self.tables_[1:], strict=True):
            x += tf.gather(table, self.codes[key])
        total = x
        to_users, to_items = self._graph
        for _ in range(int(self.cfg["layers"])):
            x = csr.matmul(to_items, csr.matmul(to_users, x))
            total += x
        vectors = tf.math.l2_normalize(total, axis=-1)
        return tf.concat([vectors, tf.zeros_like(vectors[:1])], axis=0)

    def item_vectors(self, items: tf.Tensor, training: bool = False) -> tf.Tensor:
        """Vectors of item indices (the pad index: zeros)."""
        return tf.gather(self.all_vectors(training), items)

    def encode_all(
        self, seqs: tf.Tensor, training: bool = False, vectors: tf.Tensor | None = None
    ) -> tf.Tensor:
        """Unit vectors (B, L, D) after every prefix of right-padded (B, L) histories."""
        vectors = self.all_vectors(training) if vectors is None else vectors
        x = tf.gather(vectors, seqs)
        length = tf.shape(seqs)[1]
        causal = tf.linalg.band_part(tf.ones([length, length], tf.bool), -1, 0)
        age = tf.cast(tf.range(length)[:, None] - tf.range(length)[None, :], x.dtype)
        w = tf.where(causal, tf.pow(float(self.cfg["recency_decay"]), age), 0.0)[None]
        w *= tf.cast(seqs != self.pad, x.dtype)[:, None]
        return tf.math.l2_normalize(tf.einsum("bij,bjd->bid", w, x), axis=-1)

    def encode(self, seqs: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
        """Vectors (B, D) of right-padded histories with ``lengths`` >= 1 items."""
        return tf.gather(self.encode_all(seqs), lengths - 1, batch_dims=1)


_FEATURES = ("id_code", "category", "brand", "price_band")


def train(
    tables: dict[str, np.ndarray],
    graph: tuple,
    cfg: dict[str, Any],
    windows: tuple[np.ndarray, np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> GraphNet:
    """Fit a fresh GraphNet on next-item ``windows`` (inputs, targets, log_q) as
    ``two_tower_model.train`` does (same batches, schedule and early stopping)."""
    inputs, targets, log_q = windows
    tm.configure_runtime(int(cfg.get("threads", 0)))
    keras.utils.set_random_seed(int(cfg["seed"]))
    net = GraphNet(tables, graph, cfg)
    step = _train_step(net, cfg, log_q)
    rng = np.random.default_rng(int(cfg["seed"]))
    lengths = (targets >= 0).sum(axis=1)
    steps_per_epoch, epochs = tm._schedule(lengths, cfg)
    max_steps = int(cfg.get("max_steps", epochs * steps_per_epoch))
    epochs = min(epochs, -(-max_steps // steps_per_epoch))
    patience = int(cfg.get("patience", 0)) if validation is not None else 0
    stopper = tm._EarlyStopping(net, validation, patience, steps_per_epoch)
    for epoch in range(epochs):
        batches = tm._batches(lengths, int(cfg["batch_size"]), rng)
        batches = batches[: max_steps - epoch * steps_per_epoch]  # the last one may be cut
        if tm._run_epoch(step, (inputs, targets, lengths), batches, (epoch, epochs), stopper):
            break
    if stopper.best_weights is not None:
        net.set_weights(stopper.best_weights)
    return net


def _train_step(net: GraphNet, cfg: dict[str, Any], log_q: np.ndarray) -> Any:
    """One compiled update over the whole graph: full softmax over the products with
    events, or in-batch softmax with logQ correction (``cfg["full_softmax"]``)."""
    optimizer = tm.LazyAdam(net.trainable_variables, float(cfg["learning_rate"]))
    inv_temp = 1.0 / float(cfg["temperature"])
    log_q_t = tf.constant(log_q.astype(np.float32) * float(cfg["logq_weight"]))
    with_events = np.flatnonzero(net.codes["id_code"].numpy() > 0)
    position = np.zeros(len(log_q), dtype=np.int32)
    position[with_events] = np.arange(len(with_events), dtype=np.int32)
    all_items, position_t = tf.constant(with_events.astype(np.int32)), tf.constant(position)
    full = bool(cfg.get("full_softmax", False))
    spec = (tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.int32))

    @tf.function(input_signature=spec)
    def step(ctx: tf.Tensor, tgt: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            vectors = net.all_vectors(training=True)
            valid = tgt >= 0
            q = tf.boolean_mask(net.encode_all(ctx, vectors=vectors), valid)
            if full:
                label = tf.gather(position_t, tf.boolean_mask(tgt, valid))
                cand = all_items
            else:
                cand, label = tf.unique(tf.boolean_mask(tgt, valid))
            logits = tf.matmul(q, tf.gather(vectors, cand), transpose_b=True) * inv_temp
            if not full:
                logits -= tf.gather(log_q_t, cand)[None, :]
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=label, logits=logits)
            )
        optimizer.apply(tape.gradient(loss, net.trainable_variables))
        return loss

    return step


def final_vectors(net: GraphNet) -> np.ndarray:
    """Every product's vector (n_items, dim), float32 numpy."""
    return net.all_vectors().numpy()[:-1].astype(np.float32)
