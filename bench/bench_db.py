"""PostgreSQL databases for the benchmarks (each bench runs as a script; bench/ is on
its path, so `from bench_db import database`)."""

from __future__ import annotations


def database(base: str, name: str, fresh: bool = True) -> str:
    """Create database ``name`` on the server at ``base`` (dropped first when ``fresh``,
    else kept if it exists); returns its URL."""
    import psycopg2

    conn = psycopg2.connect(f"{base}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        if fresh:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return f"{base}/{name}"
