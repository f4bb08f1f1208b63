"""Gunicorn's settings wherever the web process runs (Dockerfile, compose, benchmarks):
gunicorn reads this file from the working directory. Override on the command line or
with GUNICORN_CMD_ARGS (e.g. "--threads 8").

Threaded workers: an idle or slow client connection (a keep-alive API client, a phone
on a slow network) waits in the worker's poller instead of holding a whole worker, as
a sync worker would, and keep-alive spares API clients a TCP handshake per request.
The app is thread-safe (per-thread database connections; serving's per-process caches
are locked).
"""

worker_class = "gthread"
threads = 4
keepalive = 5  # seconds an idle keep-alive connection is kept
