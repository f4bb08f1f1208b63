"""A throwaway redis-server on a spare port (no persistence), and a fixture that points
CACHES at it exactly as config/settings.py does for CACHE_URL=redis://..."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time

import pytest
import redis

from config.caches import caches_from_url, reset_log_intervals

REDIS_SERVER = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """One redis-server process that can be killed, frozen and started again."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1)

    def start(self) -> None:
        """Start on this server's port and wait until it answers."""
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client().ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.02)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def keys(self) -> int:
        return self.client().dbsize()


@pytest.fixture
def redis_cache(settings):
    """A fresh redis-server as the cache (skipped when redis-server is not installed)."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer()
    server.start()
    settings.CACHES = caches_from_url(server.url)
    settings.API_THROTTLE_RATES = {"anon": "10000/min", "user": "10000/min"}
    reset_log_intervals()
    yield server
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGCONT)
        server.kill()
