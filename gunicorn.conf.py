"""Gunicorn's settings wherever the web process runs (Dockerfile, compose, benchmarks):
gunicorn reads this file from the working directory. Override on the command line or
with GUNICORN_CMD_ARGS (e.g. "--threads 8").

Threaded workers: an idle or slow client connection (a keep-alive API client, a phone
on a slow network) waits in the worker's poller instead of holding a whole worker, as
a sync worker would, and keep-alive spares API clients a TCP handshake per request.
The app is thread-safe (per-thread database connections; serving's per-process caches
are locked).
"""

import gc

worker_class = "gthread"
threads = 4
keepalive = 5  # seconds an idle keep-alive connection is kept
# Seconds a new worker may spend reading what every request reads (the active version,
# trending, popular related lists) before it takes traffic; never fatal.
warm_up_seconds = 5.0


def post_worker_init(worker) -> None:
    """Warm the worker's caches once the app is loaded, then take what it holds out of
    the garbage collector's passes, before it accepts requests."""
    try:
        from recommendations.serving import warm_up
    except Exception:  # another WSGI app (bench/floor_app.py without Django apps)
        warm_up = None
    if warm_up is not None:
        warm_up(warm_up_seconds)
    freeze_heap()


def freeze_heap() -> None:
    """Move every object alive now (the loaded app, the warmed caches) to the permanent
    generation. A full collection walks every tracked object: with the app loaded that
    took 56-96 ms per pass on the API bench, 3-4 passes per worker in 75 s at 200
    requests/s, each stalling the worker's requests; with them frozen, 2-9 ms."""
    gc.collect()  # garbage made while loading is freed, not frozen
    gc.freeze()
