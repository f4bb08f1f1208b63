"""Precompute what serving reads, in chunks, and activate the version atomically.

Work is split into chunks (users by row range, products by column range). Each chunk
loads the version's artifacts from the shared store (cached per process and host), builds its lists
(lists.py) and replaces its rows, so running a chunk twice is harmless. A chord runs the chunks and
then ``finalize_version``, which activates the version only if every chunk succeeded;
``fail_version`` is the chord's error callback.
"""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from config.pg_copy import copy_rows
from shop.models import Product

from .. import registry
from ..models import Interaction, ModelVersion, RelatedProducts, UserRecommendations
from ..serving.cache import forget_active
from .dataset import KIND_CODES, Dataset, load_array, save_array, share_dataset
from .extract import load_dataset, parse_user_key
from .lists import (
    REASONS_FILE,
    RELATED_FILE,
    Context,
    context,
    fit_related,
    reason_neighbours,
    refresh_availability,
    related_lists,
    user_lists,
)

log = logging.getLogger(__name__)
Status = ModelVersion.Status

BATCH_SIZE = 1000
TASKS = "recommendations.tasks"  # where the chunk, finalize and fail tasks are registered


def write_user_lists(version_id: int, lists: list) -> int:
    """Replace the version's rows of these shoppers (idempotent); returns rows written."""
    parsed = [(parse_user_key(key), ids, sc, rs) for key, ids, sc, rs in lists]
    user_ids = [uid for (uid, _), *_ in parsed if uid is not None]
    sessions = [sk for (uid, sk), *_ in parsed if uid is None]
    existing = set(get_user_model().objects.filter(id__in=user_ids).values_list("id", flat=True))
    kept = [
        (uid, sk, ids, sc, rs)
        for (uid, sk), ids, sc, rs in parsed
        if uid is None or uid in existing  # accounts deleted since the extract
    ]
    with transaction.atomic():
        mine = UserRecommendations.objects.filter(version_id=version_id)
        mine.filter(user_id__in=user_ids).delete()
        mine.filter(user__isnull=True, anonymous_id__in=sessions).delete()
        if connection.vendor == "postgresql":
            now = timezone.now()
            copy_rows(
                UserRecommendations,
                ["version", "user", "anonymous_id", "product_ids", "scores", "reasons", "created"],
                [
                    (version_id, uid, sk, _json(ids), _json(sc), _json(rs), now)
                    for uid, sk, ids, sc, rs in kept
                ],
            )
        else:
            UserRecommendations.objects.bulk_create(
                [
                    UserRecommendations(
                        version_id=version_id,
                        user_id=uid,
                        anonymous_id=sk,
                        product_ids=ids,
                        scores=sc,
                        reasons=rs,
                    )
                    for uid, sk, ids, sc, rs in kept
                ],
                batch_size=BATCH_SIZE,
            )
    return len(kept)


def _json(value: list) -> str:
    """A JSONField value as the text PostgreSQL parses (as Django's JSONField dumps it)."""
    return json.dumps(value)


def write_related_lists(version_id: int, product_ids: list[int], lists: list) -> int:
    """Replace the version's related rows of these products (idempotent)."""
    with transaction.atomic():
        RelatedProducts.objects.filter(version_id=version_id, product_id__in=product_ids).delete()
        if connection.vendor == "postgresql":
            copy_rows(
                RelatedProducts,
                ["version", "product", "kind", "product_ids", "scores"],
                [(version_id, pid, kind, _json(ids), _json(sc)) for pid, kind, ids, sc in lists],
            )
        else:
            RelatedProducts.objects.bulk_create(
                [
                    RelatedProducts(
                        version_id=version_id, product_id=pid, kind=kind, product_ids=ids, scores=sc
                    )
                    for pid, kind, ids, sc in lists
                ],
                batch_size=BATCH_SIZE,
            )
    return len(lists)


# ---------------------------------------------------------------- chunks and the chord


def chunk_ranges(total: int, size: int) -> list[tuple[int, int]]:
    """[start, stop) ranges covering 0..total."""
    size = max(1, int(size))
    return [(start, min(start + size, total)) for start in range(0, total, size)]


def active_rows(data: Dataset, days: float) -> np.ndarray:
    """Row indices of shoppers with an event within ``days`` of the newest event."""
    if not data.n_users:
        return np.zeros(0, dtype=np.int64)
    last = data.seq_times[np.maximum(data.seq_indptr[1:] - 1, 0)]
    has_events = np.diff(data.seq_indptr) > 0
    return np.flatnonzero(has_events & (last >= data.now - days * 86400.0))


def active_columns(data: Dataset, days: float, created: np.ndarray) -> np.ndarray:
    """Column indices of products with events within ``days`` of the newest event, or
    among ``created`` (ids of products added since then)."""
    recent = data.seq_items[data.seq_times >= data.now - days * 86400.0]
    touched = np.zeros(data.n_items, dtype=bool)
    touched[recent] = True
    touched |= np.isin(data.item_ids, created)
    return np.flatnonzero(touched)


def plan_targets(version_id: int, data: Dataset) -> dict[str, np.ndarray]:
    """Which rows and columns get precomputed lists (RECS_PRECOMPUTE_ACTIVE_DAYS), saved
    beside the version's artifacts so every chunk reads the same plan."""
    days = float(settings.RECOMMENDATIONS.get("PRECOMPUTE_ACTIVE_DAYS", 180.0))
    since = datetime.fromtimestamp(data.now - days * 86400.0, tz=UTC)
    created = np.fromiter(
        Product.objects.filter(created__gte=since).values_list("id", flat=True), dtype=np.int64
    )
    targets = {"users": active_rows(data, days), "items": active_columns(data, days, created)}
    for part, rows in targets.items():
        save_array(version_id, f"targets-{part}.npy", rows)
    return targets


def precompute_chunk(version_id: int, part: str, start: int, stop: int) -> int:
    """Compute and write one chunk: positions [start, stop) of the ``part`` ("users" or
    "items") targets planned by ``plan_targets``."""
    ctx = refresh_availability(context(version_id))
    span = chunk_span(version_id, part, start, stop)
    helpers = registry.load_artifact(version_id, RELATED_FILE) if part == "items" else {}
    return write_chunk(version_id, part, span, score_chunk(ctx, helpers, part, span), ctx)


def chunk_span(version_id: int, part: str, start: int, stop: int) -> np.ndarray:
    """Row (users) or column (items) indices of a chunk, from the version's plan."""
    if part not in ("users", "items"):
        raise ValueError(f"unknown chunk part {part!r}")
    return np.asarray(load_array(version_id, f"targets-{part}.npy")[start:stop], dtype=np.int64)


def score_chunk(ctx: Context, helpers: dict, part: str, span: np.ndarray) -> list:
    """A chunk's lists from the context alone, availability as last refreshed: no
    database work, so scoring threads can run it."""
    if part == "users":
        return user_lists(ctx, span, refresh=False)
    return related_lists(ctx, helpers, span, refresh=False)


def write_chunk(version_id: int, part: str, span: np.ndarray, lists: list, ctx: Context) -> int:
    """Replace a chunk's rows with ``lists`` (from ``score_chunk``)."""
    if part == "users":
        return write_user_lists(version_id, lists)
    product_ids = [int(i) for i in ctx.data.item_ids[span]]
    return write_related_lists(version_id, product_ids, lists)


def run_chunks_here(version_id: int, chunks: list[tuple[int, str, int, int]]) -> None:
    """Every chunk in this process (``--sync``): RECS_PRECOMPUTE_THREADS threads score
    while this thread writes the finished chunks in order, each chunk's availability
    read just before it is scored. Scoring is numpy and scipy, which release the GIL;
    the database work stays on this thread and its connection (and transaction)."""
    threads = max(1, int(settings.RECOMMENDATIONS.get("PRECOMPUTE_THREADS", 2)))
    ctx = context(version_id)
    helpers = registry.load_artifact(version_id, RELATED_FILE)
    pending: deque = deque()
    done = 0

    def write_oldest() -> None:
        nonlocal done
        part, span, future = pending.popleft()
        write_chunk(version_id, part, span, future.result(), ctx)
        done += 1
        registry.set_progress([version_id], "precompute", done, len(chunks))

    with ThreadPoolExecutor(threads, thread_name_prefix="precompute") as pool:
        try:
            for _, part, start, stop in chunks:
                span = chunk_span(version_id, part, start, stop)
                refresh_availability(ctx)
                pending.append((part, span, pool.submit(score_chunk, ctx, helpers, part, span)))
                if len(pending) > threads:  # at most threads + 1 chunks' lists held
                    write_oldest()
            while pending:
                write_oldest()
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


def plan_chunks(version_id: int, data: Dataset) -> list[tuple[int, str, int, int]]:
    """Arguments of every chunk task of a version (ranges over its planned targets)."""
    size = settings.RECOMMENDATIONS["PRECOMPUTE_CHUNK_SIZE"]
    targets = plan_targets(version_id, data)
    return [
        (version_id, part, a, b)
        for part in ("users", "items")
        for a, b in chunk_ranges(len(targets[part]), size)
    ]


def _set_timing(version: ModelVersion, **values: float) -> None:
    version.timings = {**version.timings, **{k: round(v, 3) for k, v in values.items()}}


def share_artifacts(version_id: int) -> None:
    """Once per run, before the chunks: the model's Dataset as memory-mapped arrays
    (the model artifact is saved again, now referencing them) and the neighbour table
    behind reasons, so no chunk process unpickles the log or recomputes XᵀX."""
    model = registry.load_artifact(version_id)
    if model.data is None:
        raise RuntimeError(f"artifact of version #{version_id} keeps no training data")
    share_dataset(version_id, model.data)
    registry.save_artifact(version_id, registry.MODEL_FILE, model)
    registry.save_artifact(version_id, REASONS_FILE, reason_neighbours(model))


def start_precompute(
    version_id: int, *, sync: bool = False, note: str = "", activate: bool = True
) -> ModelVersion:
    """Fit related-list helpers, then run every chunk and activate the version.

    ``sync``: run the chunks here (``run_chunks_here``). Otherwise a Celery chord fans
    them out (in-process when tasks run eagerly) and activation happens in its
    callback. ``activate=False``: an A/B test's challenger, precomputed beside the
    active version; it starts serving its share instead (registry.challenger_ready).
    On failure the version is marked failed and its rows are deleted.
    """
    version = ModelVersion.objects.get(pk=version_id)
    started = time.perf_counter()
    _set_timing(version, precompute_started_at=time.time())
    version.move_to(Status.PRECOMPUTING, note, fields=["timings"])
    try:
        share_artifacts(version_id)
        ctx = context(version_id)
        fit_related(version_id, ctx.data, ctx.model)
        chunks = plan_chunks(version_id, ctx.data)
    except Exception as exc:
        log.exception("precompute of version #%s could not start", version_id)
        return fail_version(version_id, f"precompute could not start: {exc!r}")
    log.info("version #%s: %d precompute chunks", version_id, len(chunks))
    registry.set_progress([version_id], "precompute", 0, len(chunks))
    if sync:
        try:
            run_chunks_here(version_id, chunks)
        except Exception as exc:
            log.exception("precompute chunk of version #%s failed", version_id)
            return fail_version(version_id, f"precompute chunk failed: {exc!r}")
        return finalize_version(version_id, activate=activate)
    from celery import chord, signature

    # By task name: the Celery layer (tasks.py) sits on top of this module.
    header = [signature(f"{TASKS}.precompute_chunk", args=args, immutable=True) for args in chunks]
    body = signature(f"{TASKS}.finalize_version", args=(version_id, activate), immutable=True)
    body = body.on_error(signature(f"{TASKS}.fail_version", args=(version_id,), immutable=True))
    try:
        chord(header)(body)
    except Exception as exc:  # eager mode raises here instead of calling the errback
        log.exception("precompute of version #%s failed", version_id)
        cause = getattr(exc, "exc", None) or exc  # eager retries surface as Retry(exc)
        return fail_version(version_id, f"precompute failed: {cause!r}")
    log.debug(
        "version #%s: chord dispatched after %.1fs", version_id, time.perf_counter() - started
    )
    return ModelVersion.objects.get(pk=version_id)


def finalize_version(version_id: int, activate: bool = True) -> ModelVersion:
    """Activate a version whose chunks all succeeded; retire the previous one.

    ``activate=False``: the version is an A/B challenger; its test starts running.
    """
    version = ModelVersion.objects.get(pk=version_id)
    if version.status != Status.PRECOMPUTING:  # failed meanwhile, or already done
        return version
    t0 = time.perf_counter()
    started = version.timings.pop("precompute_started_at", None)
    if started is not None:
        _set_timing(version, precompute=time.time() - started)
    with transaction.atomic():  # status and timings become visible together
        version.save(update_fields=["timings"])
        version = registry.promote(version) if activate else registry.challenger_ready(version)
        _set_timing(version, activate=time.perf_counter() - t0)
        version.save(update_fields=["timings"])
    registry.set_progress([version_id], "finished", 1, 1, version.status)
    registry.release_for_version(version_id)  # the run is over: the next one may start
    registry.cleanup_retired()
    return version


def fail_version(version_id: int, reason: str = "a precompute chunk failed") -> ModelVersion:
    """Mark a version failed and delete its rows; the active version keeps serving."""
    version = ModelVersion.objects.get(pk=version_id)
    if version.status == Status.ACTIVE:  # never tear down what is being served
        return version
    registry.delete_rows(version_id)
    version.timings.pop("precompute_started_at", None)
    version.move_to(Status.FAILED, reason, fields=["timings"])
    registry.end_tests_of(version_id, f"The challenger failed: {reason}")
    registry.release_for_version(version_id)
    log.warning("version #%s failed: %s", version_id, reason)
    return version


# ---------------------------------------------------------------- between retrains


def refresh_recent_users(batch: int | None = None) -> int:
    """Recompute the served lists of shoppers with events stored since the last refresh.

    The watermark is when events were stored (``Interaction.ingested``), not what
    their own timestamps say, so imported and backdated events count; before the
    first refresh it is the version's creation, which precedes its extract, so events
    stored while it trained, precomputed or activated count too. The window reaches
    RECS_REFRESH_GRACE_SECONDS further back for transactions that committed late.
    Uses the active artifact by fold-in: their histories (with the model's columns)
    are scored without retraining. A running A/B test's challenger is refreshed the
    same way, so both arms see fresh behaviour. Returns the number of shoppers refreshed.
    """
    test = registry.running_test()
    versions = [registry.active_version(), test.challenger if test is not None else None]
    done = sum(_refresh(v, batch) for v in versions if v is not None)
    forget_active()  # serving re-reads the versions (their stamps) and so the new lists
    return done


def _refresh(version: ModelVersion, batch: int | None) -> int:
    """refresh_recent_users for one version with an artifact."""
    if not registry.has_artifact(version):
        return 0
    cutoff = timezone.now()
    grace = timedelta(seconds=settings.RECOMMENDATIONS.get("REFRESH_GRACE_SECONDS", 120))
    since = (version.refreshed or version.created) - grace
    recent = Interaction.objects.filter(
        kind__in=list(KIND_CODES), ingested__gte=since, ingested__lt=cutoff
    )
    users = set(recent.exclude(user=None).values_list("user_id", flat=True).distinct())
    sessions = set(
        recent.filter(user=None).exclude(anonymous_id="").values_list("anonymous_id", flat=True)
    )
    keys = [f"u:{u}" for u in sorted(users)] + [f"a:{s}" for s in sorted(sessions)]
    ctx = context(version.pk)
    batch = batch or settings.RECOMMENDATIONS["PRECOMPUTE_CHUNK_SIZE"]
    done = 0
    for start in range(0, len(keys), batch):
        fresh = load_dataset(
            users=keys[start : start + batch],
            item_ids=ctx.data.item_ids,
            features=False,
        )
        lists = user_lists(ctx, np.arange(fresh.n_users), data=fresh)
        done += write_user_lists(version.pk, lists)
    ModelVersion.objects.filter(pk=version.pk).update(refreshed=cutoff)
    return done
