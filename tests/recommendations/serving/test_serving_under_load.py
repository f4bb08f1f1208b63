"""Serving under load: shared results recomputed by one thread at a time, a warm-up
before traffic, and trending that one client cannot move."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recommendations.models import Interaction
from recommendations.serving import cache as serving_cache
from recommendations.serving import sources, warm_up
from recommendations.weights import CELL_WEIGHT_CAP
from tests.factories import InteractionFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _views(product, n: int = 1, **who) -> None:
    Interaction.objects.bulk_create(
        InteractionFactory.build(product=product, kind="view", **who) for _ in range(n)
    )


def _expire(key: str) -> None:
    """Make ``key``'s cached entry stale (past its fresh time, before its hard expiry)."""
    entry = cache.get(key)
    stale = serving_cache._Entry(entry.value, time.time() - 1)
    cache.set(key, stale, 60)
    serving_cache.clear_local()


class _CountedRead:
    """The real trending read, counted; the first call first lets ``others`` threads
    call trending() while it is under way, and waits for them (``wait_for_others``)
    or gives them ``pause`` seconds to queue up."""

    def __init__(self, others: int = 0, wait_for_others: bool = True, pause: float = 0.3):
        self.calls = 0
        self.others, self.wait_for_others, self.pause = others, wait_for_others, pause
        self.threads: list[threading.Thread] = []
        self.served: list = []
        self.real = sources._read_trending

    def __call__(self):
        self.calls += 1
        if self.calls == 1 and self.others:
            self.threads, self.served = _in_threads(self.others, sources.trending)
            if self.wait_for_others:
                for t in self.threads:
                    t.join(10)
            else:
                time.sleep(self.pause)
        return self.real()  # in the test's own thread and connection


def _in_threads(n: int, fn) -> tuple[list[threading.Thread], list]:
    results: list = [None] * n

    def run(i: int) -> None:
        results[i] = fn()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads, results


def test_expired_trending_is_recomputed_once_while_the_others_get_the_previous_list(
    monkeypatch,
):
    a, b = ProductFactory(), ProductFactory()
    _views(a, 3, user=None, anonymous_id="g1")
    before = sources.trending()
    assert [pid for pid, _, _ in before] == [a.pk]
    for guest in ("g2", "g3", "g4", "g5"):
        _views(b, 1, user=None, anonymous_id=guest)
    _expire(sources.TRENDING_KEY)
    read = _CountedRead(others=8)  # 8 readers arrive while the first one recomputes
    monkeypatch.setattr(sources, "_read_trending", read)

    refreshed = sources.trending()  # past the fresh time: this reader refreshes

    assert read.calls == 1
    assert read.served == [before] * 8  # the others got the previous list at once
    assert [pid for pid, _, _ in refreshed] == [b.pk, a.pk]
    assert sources.trending() == refreshed  # fresh again: nobody recomputes
    assert read.calls == 1


def test_with_nothing_cached_one_thread_reads_and_the_others_wait_for_it(monkeypatch):
    a = ProductFactory()
    _views(a, user=None, anonymous_id="g1")
    read = _CountedRead(others=6, wait_for_others=False)
    monkeypatch.setattr(sources, "_read_trending", read)
    first = sources.trending()
    for t in read.threads:
        t.join(10)
    assert read.calls == 1
    assert first and read.served == [first] * 6


def test_a_refresh_under_way_in_another_process_leaves_the_previous_list(monkeypatch):
    a = ProductFactory()
    _views(a, user=None, anonymous_id="g1")
    before = sources.trending()
    _expire(sources.TRENDING_KEY)
    cache.add(f"{sources.TRENDING_KEY}:refreshing", 1, 10)  # another process's lock
    read = _CountedRead()
    monkeypatch.setattr(sources, "_read_trending", read)
    assert sources.trending() == before and read.calls == 0
    cache.delete(f"{sources.TRENDING_KEY}:refreshing")
    sources.trending()
    assert read.calls == 1


LOCK = f"{sources.TRENDING_KEY}:refreshing"


def test_with_nothing_cached_a_process_waits_for_the_one_computing_it(monkeypatch):
    """Workers starting together: the one that took the lock computes trending, the
    others wait for its list instead of running the same query side by side."""
    monkeypatch.setattr(serving_cache, "COLD_POLL_SECONDS", 0.01)
    a = ProductFactory()
    theirs = [(a.pk, a.category_id, 7.0)]
    cache.add(LOCK, 1, 10)  # another process computes it

    def other_process_stores() -> None:
        time.sleep(0.2)
        cache.set(sources.TRENDING_KEY, serving_cache._Entry(theirs, time.time() + 60), 120)
        cache.delete(LOCK)

    read = _CountedRead()
    monkeypatch.setattr(sources, "_read_trending", read)
    other = threading.Thread(target=other_process_stores)
    other.start()
    served = sources.trending()
    other.join(10)
    assert served == theirs and read.calls == 0


def test_a_process_that_died_computing_it_is_waited_for_until_its_lock_expires(monkeypatch):
    monkeypatch.setattr(serving_cache, "COLD_POLL_SECONDS", 0.01)
    a = ProductFactory()
    _views(a, user=None, anonymous_id="g1")
    cache.add(LOCK, 1, 1)  # a process took the lock and died: it expires in a second
    read = _CountedRead()
    monkeypatch.setattr(sources, "_read_trending", read)
    assert [pid for pid, _, _ in sources.trending()] == [a.pk]
    assert read.calls == 1
    assert cache.get(LOCK) is None  # released by the one that computed it


def test_with_the_cache_down_nothing_cached_is_computed_at_once(monkeypatch):
    """add and get fail (read as misses) when the cache is down: nobody to wait for."""
    a = ProductFactory()
    _views(a, user=None, anonymous_id="g1")
    monkeypatch.setattr(cache, "add", lambda *args, **kwargs: None)
    monkeypatch.setattr(cache, "get", lambda *args, **kwargs: None)

    def no_waiting(seconds):
        raise AssertionError("waited for a lock nobody holds")

    monkeypatch.setattr(serving_cache.time, "sleep", no_waiting)
    assert [pid for pid, _, _ in sources.trending()] == [a.pk]


def test_a_failed_refresh_keeps_serving_the_previous_list(monkeypatch, caplog):
    a = ProductFactory()
    _views(a, user=None, anonymous_id="g1")
    before = sources.trending()
    _expire(sources.TRENDING_KEY)

    calls = []

    def broken():
        calls.append(1)
        raise RuntimeError("database gone")

    monkeypatch.setattr(sources, "_read_trending", broken)
    assert sources.trending() == before
    assert "serving the previous value" in caplog.text
    assert sources.trending() == before and len(calls) == 1  # backs off: no retry at once
    cache.delete(f"{sources.TRENDING_KEY}:refreshing")  # the lock expired
    assert sources.trending() == before and len(calls) == 2


def test_one_guest_repeating_a_view_cannot_outweigh_a_crowd():
    a, b = ProductFactory(), ProductFactory()
    _views(a, 1000, user=None, anonymous_id="repeater")
    for i in range(30):
        _views(b, 1, user=None, anonymous_id=f"guest{i}")
    scores = {pid: score for pid, _, score in sources.trending()}
    assert scores == {b.pk: 30.0, a.pk: CELL_WEIGHT_CAP}


def test_a_signed_in_shopper_is_capped_once_whatever_guest_ids_they_had(django_user_model):
    a = ProductFactory()
    user = django_user_model.objects.create_user("shopper")
    _views(a, 15, user=user, anonymous_id="old-guest")
    _views(a, 15, user=user, anonymous_id="")
    assert [score for _, _, score in sources.trending()] == [CELL_WEIGHT_CAP]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's work_mem")
def test_trending_groups_the_weeks_events_with_memory_for_a_hash_table():
    """The planner expects about one group per event: with the default work_mem it
    sorted the week's events on disk (twice the time of hashing them on the bench log)."""
    _views(ProductFactory(), 3, user=None, anonymous_id="guest")
    with CaptureQueriesContext(connection) as queries:
        sources.trending()
    statements = [q["sql"] for q in queries.captured_queries]
    grouping = next(i for i, sql in enumerate(statements) if "SUM(cell)" in sql)
    assert f"SET LOCAL work_mem = '{sources.TRENDING_WORK_MEM}'" in statements[grouping - 1]


@pytest.mark.django_db(transaction=True)  # warm_up reads in a thread of its own
def test_warm_up_fills_what_requests_read():
    ProductFactory()
    assert warm_up(seconds=5) is True
    assert cache.get(sources.TRENDING_KEY) is not None
    assert cache.get(serving_cache.ACTIVE_KEY) is not None


@pytest.mark.django_db(transaction=True)
def test_warm_up_survives_a_database_it_cannot_reach(monkeypatch, caplog):
    def down():
        raise ConnectionError("database down")

    monkeypatch.setattr(sources, "_read_trending", down)
    assert warm_up(seconds=5) is False
    assert "warm-up" in caplog.text


def test_in_the_background_nobody_waits_for_the_refresh(monkeypatch, settings):
    """RECS_REFRESH_IN_BACKGROUND: the reader that finds trending stale gets the previous
    list at once, as every other reader does, while one refresher thread recomputes."""
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "REFRESH_IN_BACKGROUND": True}
    a = ProductFactory()
    _views(a, user=None, anonymous_id="g1")
    before = sources.trending()
    _expire(sources.TRENDING_KEY)
    release, started = threading.Event(), threading.Event()
    fresh = [(a.pk, a.category_id, 9.0)]
    threads = []

    def slow_read():  # no database: the refresher thread has its own connection
        threads.append(threading.current_thread().name)
        started.set()
        release.wait(10)
        return fresh

    monkeypatch.setattr(sources, "_read_trending", slow_read)
    assert sources.trending() == before  # the one that noticed does not wait
    assert started.wait(10)
    others, served = _in_threads(8, sources.trending)
    for t in others:
        t.join(10)
    assert served == [before] * 8
    release.set()
    serving_cache._refresher().submit(lambda: None).result(10)  # the refresh is done
    serving_cache.clear_local()
    assert sources.trending() == fresh
    assert len(threads) == 1 and threads[0].startswith("refresher")


def test_a_failed_background_refresh_keeps_the_previous_list(monkeypatch, settings, caplog):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "REFRESH_IN_BACKGROUND": True}
    a = ProductFactory()
    _views(a, user=None, anonymous_id="g1")
    before = sources.trending()
    _expire(sources.TRENDING_KEY)

    def broken():
        raise RuntimeError("database gone")

    monkeypatch.setattr(sources, "_read_trending", broken)
    assert sources.trending() == before
    serving_cache._refresher().submit(lambda: None).result(10)
    assert "serving the previous value" in caplog.text
    assert sources.trending() == before


def test_a_prefetched_value_stands_for_one_cache_read_inside_its_block(monkeypatch):
    """The API reads the shopper's state in its token's round trip (prefetched): the
    shared read inside the block takes it; a second read, or one outside, asks the cache."""
    key = "recs:shopper:u:41"
    cached = serving_cache._Entry("in the cache", time.time() + 60)
    ahead = serving_cache._Entry("read with the token", time.time() + 60)
    cache.set(key, cached, 60)
    read = lambda: serving_cache.shared_value(key, lambda: "computed", 60, local=False)  # noqa: E731
    with serving_cache.prefetched({key: ahead, "recs:other": None}):
        assert read() == "read with the token"
        assert read() == "in the cache"
    assert read() == "in the cache"
    cache.delete(key)
    with serving_cache.prefetched({key: None}):  # read: absent from the cache
        assert read() == "computed"
