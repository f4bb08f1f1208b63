"""A web worker's warm-up before it takes traffic (gunicorn.conf.py's post_worker_init)."""

from __future__ import annotations

import logging
import threading

from django.db import connections
from django.urls import get_resolver

from .cache import active_version, running_test
from .sources import related_lists, trending

log = logging.getLogger(__name__)
WARM_RELATED = 50  # related lists of the most popular products, read by product pages


def warm_up(seconds: float = 5.0) -> bool:
    """Read what every request reads (views, version, trending, popular related lists)
    into this process, for at most ``seconds``; False if it failed or ran out of time.

    Never raises: a worker whose database is down starts cold and serves what it can.
    """
    done: list[bool] = []
    thread = threading.Thread(target=_warm, args=(done,), name="serving-warm-up", daemon=True)
    thread.start()
    thread.join(seconds)
    if not done:
        log.warning("serving warm-up did not finish within %.1f s", seconds)
    return bool(done and done[0])


def _warm(done: list[bool]) -> None:
    try:
        _ = get_resolver().url_patterns  # imports every view module
        version = active_version()
        running_test()
        hot = trending()
        related_lists(version, [pid for pid, _, _ in hot[:WARM_RELATED]])
    except Exception as exc:  # any failure leaves the worker cold, never down
        log.warning("serving warm-up failed: %s: %s", type(exc).__name__, exc)
        done.append(False)
    else:
        done.append(True)
    finally:
        connections.close_all()  # this thread's connections
