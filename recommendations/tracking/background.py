"""Rows written in batches by a background thread of the process, off the request path.

Used for impressions (``tracking.queue_impressions``): a page never waits for their
insert, and many pages share one statement and one commit. A crash of the process
loses at most one interval of rows, so this is only for analytics rows; orders and
events sent by clients are written at once. What is queued is written when the process
exits, and whenever a caller needs it stored (``drain``).

Imports nothing of the project: the writer function is given.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable

from django.db import close_old_connections

log = logging.getLogger(__name__)


class BackgroundBatches:
    """A queue of rows and one daemon thread per process that writes them with ``write``.

    ``interval()`` gives the seconds the thread waits after the first queued row, so that
    rows from other requests join the same batch.
    """

    def __init__(self, write: Callable[[list[tuple]], int], interval: Callable[[], float]):
        self.write = write
        self.interval = interval
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._queued = threading.Event()  # set by submit; the thread waits for it
        self._pid = 0  # the process whose thread is running (a forked child starts its own)

    def submit(self, rows: list[tuple]) -> None:
        """Queue ``rows`` for the next batch."""
        if not rows:
            return
        if self._pid != os.getpid():
            self._start()
        self._queue.put(rows)
        self._queued.set()

    def pending(self) -> bool:
        """Whether rows are queued in this process and not written yet."""
        return not self._queue.empty()

    def drain(self) -> int:
        """Write everything queued, now, in the caller's thread; returns rows written."""
        rows: list[tuple] = []
        while True:
            try:
                rows.extend(self._queue.get_nowait())
            except queue.Empty:
                break
        if not rows:
            return 0
        try:
            return self.write(rows)
        except Exception:  # analytics must never take a page or the process down
            log.exception("could not write %d queued rows", len(rows))
            return 0

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            if not self._pid:  # first start in this interpreter
                atexit.register(self.drain)
            self._pid = os.getpid()
            threading.Thread(target=self._run, name="batch-writer", daemon=True).start()

    def _run(self) -> None:
        """Wait for rows, let more arrive for one interval, write them all; forever."""
        while True:
            self._queued.wait()  # rows stay queued meanwhile: drain() elsewhere sees them
            time.sleep(self.interval())
            self._queued.clear()  # before draining: a later submit wakes the next round
            close_old_connections()  # a broken or expired connection is replaced
            self.drain()
