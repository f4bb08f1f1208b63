"""Latency at a fixed offered load: N keep-alive connections, each waiting an exponential
think time before each request, timed from sending a request to its last byte.

Used by bench/api_bench.py instead of wrk's ``delay()`` hook. wrk opens all its
connections first and then waits the think time before sending anything; gunicorn's
threaded worker gives a new connection a thread that waits for its first bytes (up to
5 s), so at the start of every round the idle new connections hold the worker threads
and requests on the others queue behind them: a do-nothing WSGI app at about 100
requests/s showed a wrk p99 of 330-500 ms against 4-5 ms measured here, and with short
think times the two agree. This client connects when it has its first request to send,
as HTTP clients do. One thread with asyncio, so the generator itself costs little CPU.
"""

from __future__ import annotations

import asyncio
import random
import time


async def _exchange(reader: asyncio.StreamReader, writer, request: bytes) -> bytes:
    """Send ``request``, read the whole response; its status line (b"" if closed)."""
    writer.write(request)
    await writer.drain()
    status = await reader.readline()
    if not status:
        return b""
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _connection(
    host: str, port: int, request: bytes, think_s: float, until: float, out: list, errors: list
) -> None:
    rng = random.Random()
    reader = writer = None
    try:
        while True:
            await asyncio.sleep(rng.expovariate(1.0 / think_s))
            if time.monotonic() >= until:
                return
            started = time.perf_counter()
            status = b""
            for _attempt in range(2):  # a kept-alive connection the server closed: reconnect
                if writer is None:  # as clients do: connect when there is a request to send
                    reader, writer = await asyncio.open_connection(host, port)
                try:
                    status = await _exchange(reader, writer, request)
                except (ConnectionError, asyncio.IncompleteReadError):
                    status = b""
                if status:
                    break
                writer.close()
                writer = None
            out.append((time.perf_counter() - started) * 1e3)  # a reconnect counts in it
            if not status.startswith(b"HTTP/1.1 2"):
                errors.append(status)
    finally:
        if writer is not None:
            writer.close()


def run(
    host: str,
    port: int,
    path: str,
    headers: dict[str, str],
    connections: int,
    think_ms: float,
    seconds: float,
) -> dict[str, float]:
    """Requests per second served and latency percentiles (ms), as api_bench reports them."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    errors: list[bytes] = []

    async def main() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(
            *(
                _connection(host, port, request, think_ms / 1e3, until, latencies, errors)
                for _ in range(connections)
            )
        )

    started = time.monotonic()
    asyncio.run(main())
    elapsed = time.monotonic() - started
    latencies.sort()
    n = len(latencies)
    result = {"rps": round(n / elapsed, 2)}
    for pct in (50, 75, 90, 99):
        result[f"p{pct}_ms"] = round(latencies[min(n - 1, n * pct // 100)], 2) if n else 0.0
    result["non_2xx"] = len(errors)
    return result
