"""The embedded default (SQLite) under concurrent writes: real threads, each with its
own connection, against a SQLite file in a subprocess (tests.config.sqlite_writers); the
suite's own SQLite database is in memory and one connection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.paths import ROOT


def _run(tmp_path: Path, *args: str, **env: str) -> dict:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite3'}",
        "CACHE_URL": "locmemcache://",
        "CELERY_BROKER_URL": "",
        "LOG_LEVEL": "CRITICAL",
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.config.sqlite_writers", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_four_concurrent_event_batches_and_checkouts_all_succeed(tmp_path):
    """Without WAL, IMMEDIATE transactions and a busy timeout, most of these answered
    500 "database is locked" (the read-then-write upgrade deadlock)."""
    result = _run(tmp_path, "concurrent", "3")
    assert result["events"] == [201] * 12
    assert result["checkouts"] == [302] * 12  # to the order confirmation
    assert (result["stored"], result["orders"]) == (12 * 200, 12)


def test_a_write_that_cannot_get_the_lock_answers_503_with_retry_after(tmp_path):
    """Another connection holds the write lock past SQLITE_TIMEOUT: JSON under /api/, the
    site's page elsewhere, both 503 with Retry-After (DEBUG off, as deployed)."""
    result = _run(
        tmp_path,
        "locked",
        DEBUG="0",
        SECRET_KEY="test-only-key-not-used-anywhere-else-0123456789abcdef",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SQLITE_TIMEOUT="0.2",
    )
    status, content_type, retry_after, body = result["api"]
    assert (status, content_type, retry_after) == (503, "application/json", "2")
    assert "busy" in json.loads(body)["detail"]
    status, content_type, retry_after, body = result["checkout"]
    assert (status, retry_after) == (503, "2") and content_type.startswith("text/html")
    assert "Traceback" not in body and "<title>Busy" in body
