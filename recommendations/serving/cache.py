"""What serving keeps in the configured cache, and how it is invalidated.

- the active version (id, refresh stamp, creation time): short-lived, dropped when a
  version is saved (activation) or its lists are refreshed;
- per shopper, the candidate state (precomputed list, recent products, their
  neighbours, hidden and bought products): updated in place after a view or a cart
  addition, dropped when the shopper does anything else or clears their history, and
  ignored when the active version changes (the stamp is inside);
- per product, its related lists for the active version;
- trending ids (recent popularity), fresh for a minute;
- the running A/B test (id, share, challenger): like the active version;
- in each process, the lists it ranked, by everything they were ranked from (the
  shopper state's revision, the version stamp, trending, cart, rules, limit): nothing
  to invalidate, since any change makes a new key.

What every request reads and any thread could recompute (active version, A/B test,
trending, a shopper's state) is kept stale-while-revalidate (``shared_value``): past
its fresh time one thread of one process recomputes it while every other request keeps
serving the previous value, until twice the fresh time at most. Trending, a query over
every recent event (0.3 s on a busy log), is recomputed by a background thread of the
process, so not even the request that noticed it waits (RECS_REFRESH_IN_BACKGROUND);
with nothing cached yet (workers starting together, a flushed cache) one process
computes it and the others wait for its value.

Only ids and scores are cached: availability is always read from fresh product rows.
A cache outage reads as misses (config/caches.py): serving reads the database instead,
and an invalidation lost meanwhile leaves that entry for at most its lifetime.
Imports only models and the registry, so tracking and training may call the ``forget_*``
functions.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections

from .. import registry
from ..models import ModelVersion

log = logging.getLogger(__name__)
ACTIVE_KEY = "recs:active"
TEST_KEY = "recs:abtest"  # the running A/B test (see serving_version)
ACTIVE_SECONDS = 30
# A few seconds of per-process memory in front of the shared cache for what every page
# reads (active version, trending ids) and what never changes for a version stamp
# (related lists): a shared-cache round trip costs about a millisecond.
LOCAL_SECONDS = 5.0
LOCAL_SIZE = 5000
_LOCAL: dict[str, tuple[float, Any]] = {}
_LOCK = threading.Lock()  # threaded web workers share these per-process copies
# Ranked lists by everything they were ranked from (see core.recommend): a shopper who
# asks again before acting gets the same ranking, checked against fresh product rows.
_RANKED: OrderedDict[tuple, tuple[float, Any]] = OrderedDict()
RANKED_SIZE = 2000


def local_get(key: str) -> Any:
    """This process's copy of ``key`` if fresh, else None."""
    hit = _LOCAL.get(key)
    if hit is None or hit[0] < time.monotonic():
        return None
    return hit[1]


def local_set(key: str, value: Any, seconds: float = LOCAL_SECONDS) -> None:
    """Keep ``value`` in this process for ``seconds`` (bounded; oldest dropped first)."""
    with _LOCK:
        while len(_LOCAL) >= LOCAL_SIZE:
            _LOCAL.pop(next(iter(_LOCAL)))
        _LOCAL[key] = (time.monotonic() + seconds, value)


@dataclass(frozen=True)
class _Entry:
    """A cached value and the wall-clock time until which it is fresh."""

    value: Any
    fresh_until: float


# A refresher that died frees its cross-process lock after this; a failed refresh (the
# database down) keeps it, so each key is tried again at most this often.
REFRESH_LOCK_SECONDS = 10
# Striped, so a lock per shopper key cannot grow without bound: two keys sharing a lock
# at most wait for (or skip a refresh behind) each other's short read.
_KEY_LOCKS = [threading.Lock() for _ in range(256)]


def _key_lock(key: str) -> threading.Lock:
    return _KEY_LOCKS[hash(key) % len(_KEY_LOCKS)]


def shared_value(
    key: str,
    compute: Callable[[], Any],
    fresh_seconds: float,
    valid: Callable[[Any], bool] = lambda value: True,
    local: bool = True,
    background: bool = False,
) -> Any:
    """``compute()``'s value kept under ``key``, never recomputed by two threads at once.

    Fresh for ``fresh_seconds``; then the first reader takes a short lock (per process,
    and ``cache.add`` across processes) and recomputes while the others return the
    stale value, kept for ``fresh_seconds`` more at most. With nothing (valid) cached,
    one thread per process computes and that process's others wait for it. ``local``
    also keeps a copy in this process for LOCAL_SECONDS. ``background`` (an expensive
    value): the refresh of a stale value runs in this process's refresher thread and
    every request, the one that noticed it included, gets the stale value
    (RECS_REFRESH_IN_BACKGROUND on); with nothing cached, one process computes it while
    the others wait for its value (``_compute_once``).
    """
    entry = _read_entry(key, valid, local)
    if entry is not None and entry.fresh_until > time.time():
        return entry.value
    if entry is not None:
        return _refresh_or_stale(key, entry, compute, fresh_seconds, local, background)
    lock = _key_lock(key)
    got = lock.acquire(timeout=REFRESH_LOCK_SECONDS)  # a hung refresher: compute anyway
    try:
        entry = _read_entry(key, valid, local)  # the thread we waited for stored it
        if entry is not None:
            return entry.value
        if background:
            return _compute_once(key, compute, fresh_seconds, valid, local)
        return _store(key, compute(), fresh_seconds, local)
    finally:
        if got:
            lock.release()


# How often a process waiting for another's first computation looks for its value.
COLD_POLL_SECONDS = 0.05


def _compute_once(
    key: str,
    compute: Callable[[], Any],
    fresh_seconds: float,
    valid: Callable[[Any], bool],
    local: bool,
) -> Any:
    """Nothing cached: compute and store ``key`` unless another process is doing it,
    then wait for that value (every worker starting at once, or a flushed cache, would
    otherwise run the same expensive query side by side).

    Waits while the other's lock (``cache.add``) is held, so at most its expiry
    (REFRESH_LOCK_SECONDS) if that process died; computes at once when the lock is gone
    without a value (its computation failed) or the cache is down (add and get fail).
    """
    lock_key = f"{key}:refreshing"
    deadline = time.monotonic() + REFRESH_LOCK_SECONDS
    while not cache.add(lock_key, 1, REFRESH_LOCK_SECONDS):
        held = cache.get(lock_key)  # before the value: a holder stores, then unlocks
        entry = _read_entry(key, valid, local)
        if entry is not None:
            return entry.value
        if held is None or time.monotonic() > deadline:
            return _store(key, compute(), fresh_seconds, local)  # nobody is computing it
        time.sleep(COLD_POLL_SECONDS)
    try:
        entry = _read_entry(key, valid, local)  # stored just before we took the lock
        if entry is not None:
            return entry.value
        return _store(key, compute(), fresh_seconds, local)
    finally:
        cache.delete(lock_key)


def _read_entry(key: str, valid: Callable[[Any], bool], local: bool) -> _Entry | None:
    """This process's copy of ``key`` while fresh, else the shared cache's (if valid)."""
    entry = local_get(key) if local else None
    if entry is None or entry.fresh_until <= time.time():
        held = _shared_get(key)
        if isinstance(held, _Entry) and (entry is None or held.fresh_until > entry.fresh_until):
            entry = held
            if local:
                local_set(key, entry)
    if entry is None or not valid(entry.value):
        return None
    return entry


def _refresh_or_stale(
    key: str,
    stale: _Entry,
    compute: Callable[[], Any],
    fresh_seconds: float,
    local: bool,
    background: bool,
) -> Any:
    """Recompute ``key`` if no other thread or process is doing it, else ``stale``."""
    lock = _key_lock(key)
    if not lock.acquire(blocking=False):
        return stale.value
    try:
        # The cross-process lock, held until the refresh is stored (or fails: its
        # expiry then backs off); other threads of this process find it taken too.
        if not cache.add(f"{key}:refreshing", 1, REFRESH_LOCK_SECONDS):
            return stale.value  # another process refreshes it (or the cache is down)
        refresh = partial(_refresh, key, stale, compute, fresh_seconds, local)
        if background and settings.RECOMMENDATIONS.get("REFRESH_IN_BACKGROUND", True):
            _refresher().submit(_with_usable_connection, refresh)
            return stale.value
        return refresh()
    finally:
        lock.release()


def _with_usable_connection(work: Callable[[], Any]) -> Any:
    close_old_connections()  # the refresher thread's own connection: replace a broken one
    return work()


def _refresh(
    key: str, stale: _Entry, compute: Callable[[], Any], fresh_seconds: float, local: bool
) -> Any:
    """Recompute and store ``key``; on failure keep serving ``stale``."""
    try:
        value = _store(key, compute(), fresh_seconds, local)
    except Exception:  # keep serving the previous value; the lock's expiry backs off
        log.exception("could not refresh %s: serving the previous value", key)
        return stale.value
    cache.delete(f"{key}:refreshing")
    return value


_REFRESHERS: dict[int, ThreadPoolExecutor] = {}


def _refresher() -> ThreadPoolExecutor:
    """This process's one refresher thread (a forked worker starts its own)."""
    pid = os.getpid()
    with _LOCK:
        if pid not in _REFRESHERS:
            _REFRESHERS[pid] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="refresher")
        return _REFRESHERS[pid]


def _store(key: str, value: Any, fresh_seconds: float, local: bool) -> Any:
    entry = _Entry(value, time.time() + fresh_seconds)
    cache.set(key, entry, 2 * fresh_seconds)  # the hard expiry bounds staleness
    if local:
        local_set(key, entry)
    return value


def ranked_get(key: tuple) -> Any:
    """The list ranked in this process from exactly ``key``'s inputs, if still kept."""
    hit = _RANKED.get(key)
    if hit is None or hit[0] < time.monotonic():
        return None
    return hit[1]


def ranked_set(key: tuple, value: Any) -> None:
    """Keep a ranked list for RECS_CACHE_SECONDS (bounded; least recently kept dropped)."""
    with _LOCK:
        _RANKED[key] = (time.monotonic() + shopper_seconds(), value)
        _RANKED.move_to_end(key)
        while len(_RANKED) > RANKED_SIZE:
            _RANKED.popitem(last=False)


@dataclass(frozen=True)
class ActiveVersion:
    """What serving needs to know about the active version."""

    id: int
    stamp: str  # changes when the version's lists change (activation, refresh)
    created: datetime  # products created after this have no learned neighbours


def active_version() -> ActiveVersion | None:
    """The active version, cached briefly (and dropped on activation)."""
    return shared_value(ACTIVE_KEY, _read_active, ACTIVE_SECONDS) or None


def _read_active() -> ActiveVersion | bool:
    row = (
        ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE)
        .values_list("pk", "activated", "refreshed", "created")
        .first()
    )
    value: ActiveVersion | bool = False
    if row is not None:
        pk, activated, refreshed, created = row
        stamp = f"{pk}.{(refreshed or activated or created).timestamp():.6f}"
        value = ActiveVersion(id=pk, stamp=stamp, created=created)
    return value


def forget_active() -> None:
    """A version was activated or its lists rewritten (or an A/B test changed): read again."""
    cache.delete_many([ACTIVE_KEY, TEST_KEY])
    clear_local()


def clear_local() -> None:
    """Forget this process's copies (tests, after cache.clear())."""
    with _LOCK:
        _LOCAL.clear()
        _RANKED.clear()


def shopper_key(user_id: int | None, anonymous_id: str = "") -> str:
    """The cache key of a shopper's candidate state ("" for nobody)."""
    if user_id is not None:
        return f"recs:shopper:u:{user_id}"
    return f"recs:shopper:a:{anonymous_id}" if anonymous_id else ""


def forget_shopper(user_id: int | None = None, anonymous_id: str = "") -> None:
    """The shopper acted (or cleared their history): rebuild their candidates."""
    key = shopper_key(user_id, anonymous_id)
    if key:
        cache.delete(key)


def remember_event(
    user_id: int | None, anonymous_id: str, product_id: int, kind: str, request: Any = None
) -> None:
    """The shopper viewed or carted a product: update their cached state in place.

    Cheaper than ``forget_shopper`` (a rebuild costs three queries, on every product
    page): the product goes first in the state's recent events, as a rebuild would put
    it, and hands it to ``request``'s widgets (see ``page_scope``), which then need not
    read it again. Nothing cached, nothing to do. Two requests of one shopper updating at the same
    instant may keep only one of the two products until the state is next rebuilt.
    """
    key = shopper_key(user_id, anonymous_id)
    if not key:
        return
    entry = cache.get(key)
    if entry is None:
        return
    state = getattr(entry, "value", None)
    if not hasattr(state, "add_event") or not hasattr(state, "events"):
        cache.delete(key)  # cached by an older release: rebuild
        return
    state.add_event(int(product_id), str(kind))
    cache.set(key, _Entry(state, entry.fresh_until), 2 * shopper_seconds())
    if request is not None:
        request_memo(request)[("state", key)] = state


def shopper_seconds() -> int:
    """How long a shopper's candidate state is kept (RECS_CACHE_SECONDS)."""
    return settings.RECOMMENDATIONS.get("CACHE_SECONDS", 300)


@dataclass(frozen=True)
class RunningTest:
    """What serving needs to know about a running A/B test."""

    id: int
    share: float
    challenger: ActiveVersion


def running_test() -> RunningTest | None:
    """The running A/B test, cached briefly like the active version (dropped on changes)."""
    return shared_value(TEST_KEY, _read_test, ACTIVE_SECONDS) or None


def _read_test() -> RunningTest | bool:
    test = registry.running_test()
    value: RunningTest | bool = False
    if test is not None:
        v = test.challenger
        stamp = (
            f"{v.pk}.t{test.pk}.{(v.refreshed or test.running_since or v.created).timestamp():.6f}"
        )
        value = RunningTest(test.pk, test.share, ActiveVersion(v.pk, stamp, v.created))
    return value


def serving_version(user_id: int | None, anonymous_id: str = "") -> ActiveVersion | None:
    """The version serving this shopper: a running test's challenger for its share of
    shoppers (registry.in_challenger_arm), else the active version."""
    test = running_test()
    if test is not None and registry.in_challenger_arm(test.id, test.share, user_id, anonymous_id):
        return test.challenger
    return active_version()


# One page's widgets share what they read (the shopper's state, fresh product facts):
# the widget tag opens a page scope around each serving call; without one (API, admin,
# shell) every call reads for itself.
_PAGE: ContextVar[dict | None] = ContextVar("recommendations_page", default=None)
PAGE_ATTRIBUTE = "_recommendations_memo"


@contextmanager
def page_scope(memo: dict) -> Iterator[dict]:
    """Serving calls inside share ``memo`` (keep it on the request for the page's widgets)."""
    token = _PAGE.set(memo)
    try:
        yield memo
    finally:
        _PAGE.reset(token)


def request_memo(request: Any) -> dict:
    """The memo of ``request``'s page (made on first use; a new one without a request)."""
    if request is None:
        return {}
    memo = getattr(request, PAGE_ATTRIBUTE, None)
    if memo is None:
        memo = {}
        setattr(request, PAGE_ATTRIBUTE, memo)
    return memo


def page_memo() -> dict | None:
    """The current page's shared memo, or None outside a page scope."""
    return _PAGE.get()


# What this request read already of the shared cache, by key (None: absent there): the
# API reads the shopper's state in its token's round trip (api/one_round_trip.py).
_PREFETCHED: ContextVar[dict[str, Any] | None] = ContextVar("recs_prefetched", default=None)


@contextmanager
def prefetched(values: dict[str, Any] | None) -> Iterator[None]:
    """Inside, a shared read of a key of ``values`` takes its value instead of a cache
    round trip, once (a later read in the block reads the cache)."""
    token = _PREFETCHED.set(dict(values) if values else None)
    try:
        yield
    finally:
        _PREFETCHED.reset(token)


def _shared_get(key: str) -> Any:
    values = _PREFETCHED.get()
    if values and key in values:
        return values.pop(key)
    return cache.get(key)
