"""Latency at a fixed offered load, open loop: requests go out on a fixed schedule
(``rate`` per second, evenly spaced) whether or not earlier ones were answered, and each
latency is counted from when the request was DUE to its last byte, so a stall shows in
every request that was due during it (no coordinated omission).

Each due request takes an idle keep-alive connection, or opens one (as HTTP clients
do, when there is a request to send; at most ``max_connections``), or waits for one:
that wait counts in its latency. One thread with asyncio, so the generator itself costs
little CPU; how late it sent requests (its own lag) is reported beside the latencies.
Used by bench/api_bench.py and bench/serving_bench.py.
"""

from __future__ import annotations

import asyncio
import time

MAX_CONNECTIONS = 64


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


class _Pool:
    """Idle keep-alive connections to one server, opened on demand up to a cap."""

    def __init__(self, host: str, port: int, cap: int) -> None:
        self.host, self.port, self.cap = host, port, cap
        self.idle: asyncio.Queue = asyncio.Queue()
        self.opened = 0

    async def take(self):
        if not self.idle.empty() or self.opened >= self.cap:
            return await self.idle.get()
        self.opened += 1
        return None  # the caller connects

    async def send(self, conn, request: bytes) -> tuple[bytes, tuple | None]:
        for _attempt in range(2):  # a kept-alive connection the server closed: reconnect
            if conn is None:
                conn = await asyncio.open_connection(self.host, self.port)
            try:
                status = await _exchange(*conn, request)
            except (ConnectionError, asyncio.IncompleteReadError):
                status = b""
            if status:
                return status, conn
            conn[1].close()
            conn = None
        return b"", None

    def give_back(self, conn) -> None:
        if conn is None:
            self.opened -= 1
        else:
            self.idle.put_nowait(conn)


def run(
    host: str,
    port: int,
    paths: list[str],
    headers: dict[str, str],
    rate: float,
    seconds: float,
    max_connections: int = MAX_CONNECTIONS,
) -> dict[str, float]:
    """Offer ``rate`` requests/s for ``seconds`` (cycling through ``paths``): requests
    per second served, latency percentiles from each request's due time (ms), errors."""
    requests = []
    for path in paths:
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        requests.append(("\r\n".join(lines) + "\r\n\r\n").encode())
    latencies: list[float] = []
    errors: list[bytes] = []
    lag: list[float] = []

    async def one(pool: _Pool, request: bytes, due: float) -> None:
        conn = await pool.take()
        status, conn = await pool.send(conn, request)
        latencies.append((time.perf_counter() - due) * 1e3)
        if not status.startswith(b"HTTP/1.1 2"):
            errors.append(status)
        pool.give_back(conn)

    async def main() -> None:
        pool = _Pool(host, port, max_connections)
        start = time.perf_counter() + 0.05
        tasks = []
        for i in range(int(rate * seconds)):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            lag.append(time.perf_counter() - due)
            tasks.append(asyncio.create_task(one(pool, requests[i % len(requests)], due)))
        await asyncio.gather(*tasks)
        while not pool.idle.empty():
            pool.idle.get_nowait()[1].close()

    started = time.monotonic()
    asyncio.run(main())
    elapsed = time.monotonic() - started
    latencies.sort()
    n = len(latencies)
    result = {"offered_rps": rate, "rps": round(n / elapsed, 2)}
    for pct in (50, 90, 99):
        result[f"p{pct}_ms"] = round(latencies[min(n - 1, n * pct // 100)], 2) if n else 0.0
    result["max_ms"] = round(latencies[-1], 2) if n else 0.0
    result["non_2xx"] = len(errors)
    result["sender_lag_max_ms"] = round(max(lag) * 1e3, 2) if lag else 0.0
    return result
