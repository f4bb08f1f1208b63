"""Impressions batched off the request path (batching.py, RECS_IMPRESSIONS_FLUSH_MS)."""

from __future__ import annotations

import re
import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection

from recommendations import tracking
from recommendations.models import Impression, Interaction
from recommendations.tracking.background import BackgroundBatches
from shop.shoppers import SHOPPER_ID_KEY
from tests.recommendations.serving.serving_support import build_world
from tests.shop.browsers import returning


def wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class TestBackgroundBatches:
    def test_rows_of_several_pages_within_one_interval_are_written_together(self):
        calls: list[list[tuple]] = []
        batches = BackgroundBatches(lambda rows: calls.append(rows) or len(rows), lambda: 0.2)
        for page in range(3):
            batches.submit([(page, 1), (page, 2)])
        assert not calls  # nothing is written while the pages are answered
        assert wait_for(lambda: len(calls) == 1)
        assert sorted(calls[0]) == [(0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (2, 2)]
        assert not batches.pending()
        batches.submit([(9, 9)])
        assert wait_for(lambda: len(calls) == 2) and calls[1] == [(9, 9)]

    def test_drain_writes_everything_now_in_the_callers_thread(self):
        seen: list[tuple[str, list]] = []
        batches = BackgroundBatches(
            lambda rows: seen.append((threading.current_thread().name, rows)) or len(rows),
            lambda: 60.0,  # the thread would wait a minute
        )
        batches.submit([(1,)])
        batches.submit([(2,)])
        assert batches.pending()
        assert batches.drain() == 2
        assert seen == [(threading.current_thread().name, [(1,), (2,)])]
        assert not batches.pending() and batches.drain() == 0

    def test_a_failing_write_is_logged_and_the_next_batch_still_goes(self, caplog):
        calls: list[list[tuple]] = []

        def write(rows):
            calls.append(rows)
            if len(calls) == 1:
                raise RuntimeError("database down")
            return len(rows)

        batches = BackgroundBatches(write, lambda: 0.01)
        batches.submit([(1,)])
        assert wait_for(lambda: len(calls) == 1)
        batches.submit([(2,)])
        assert wait_for(lambda: len(calls) == 2) and calls[1] == [(2,)]
        assert "could not write 1 queued rows" in caplog.text


@pytest.fixture
def batched(settings):
    settings.RECOMMENDATIONS = {
        **settings.RECOMMENDATIONS,
        "IMPRESSIONS_FLUSH_MS": 60_000,  # the background thread would wait a minute
        "DIVERSITY": 0.0,
        "WIDGET_SIZE": 4,
    }
    cache.clear()
    tracking.QUEUED_IMPRESSIONS.drain()
    yield
    tracking.QUEUED_IMPRESSIONS.drain()
    cache.clear()


@pytest.mark.django_db
class TestBatchedImpressionsOnPages:
    def test_a_page_queues_its_impressions_instead_of_inserting_them(self, client, batched):
        from django.test.utils import CaptureQueriesContext

        returning(client)  # impressions are kept for browsers that keep cookies
        world = build_world()
        with CaptureQueriesContext(connection) as ctx:
            home = client.get("/")
        assert 'data-widget="trending"' in home.content.decode()  # a guest's one row
        inserts = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("INSERT")]
        assert not [sql for sql in inserts if "recommendations_impression" in sql]
        assert not Impression.objects.exists()
        assert tracking.QUEUED_IMPRESSIONS.pending()
        written = tracking.QUEUED_IMPRESSIONS.drain()
        rows = Impression.objects.all()
        assert written == rows.count() > 0
        guest = client.session[SHOPPER_ID_KEY]
        assert {(r.anonymous_id, r.model_version_id) for r in rows} == {(guest, world.version.pk)}

    def test_a_click_right_after_the_page_is_credited(self, client, batched):
        returning(client)
        world = build_world()
        home = client.get("/")
        link = re.search(r'href="(/products/[^"]+\?src=[^"]+)"', home.content.decode()).group(1)
        client.get(link)  # the impressions are still queued in this process
        click = Interaction.objects.get(kind="click")
        assert click.model_version_id == world.version.pk
        assert any(click.product_id in r.product_ids for r in Impression.objects.all())


@pytest.mark.django_db(transaction=True)
def test_the_writer_thread_inserts_committed_rows():
    """The real insert from the writer thread, in its own connection (PostgreSQL: the
    test database must see the rows committed by another connection)."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's in-memory test database is not shared with other threads")
    world = build_world()
    product = world.kitchen[0]

    def write(rows):
        try:
            return tracking.insert_impression_rows(rows)
        finally:
            connection.close()  # the writer thread's own connection: the test DB is dropped

    batches = BackgroundBatches(write, lambda: 0.05)
    shown = [(world.version.pk, f"rec:trending:v{world.version.pk}", [product.pk])]
    batches.submit(tracking.impression_rows((None, "guest-1"), shown))
    batches.submit(tracking.impression_rows((world.user, ""), shown))
    rows = Impression.objects.filter(product_ids=[product.pk])
    assert wait_for(lambda: rows.count() == 2)
    assert set(rows.values_list("anonymous_id", "user_id")) == {
        ("guest-1", None),
        ("", world.user.pk),
    }
