"""CPU seconds a gunicorn server costs: its worker processes and the PostgreSQL backends
serving their connections (the benchmarks import it; bench/ is on a script's path).

On a shared machine, other load stretches wall-clock times far more than it changes
what a request costs in CPU, so the benchmarks report both.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import psutil
import psycopg2

PG_PORT = 5432


class ServerCpu:
    """CPU seconds so far of one gunicorn server (master pid) and its database backends."""

    def __init__(self, master_pid: int, database_url: str) -> None:
        self.master = psutil.Process(master_pid)
        self.conn = psycopg2.connect(database_url)
        self.conn.autocommit = True
        self.procs: dict[int, psutil.Process] = {}
        self.workers: set[int] = set()  # the gunicorn processes among them

    def _refresh(self) -> None:
        """Find the workers, and the backends whose client port is one of theirs."""
        workers = self.master.children(recursive=True)
        self.workers |= {w.pid for w in workers}
        ports = []
        for worker in workers:
            with contextlib.suppress(psutil.Error):
                ports += [
                    c.laddr.port
                    for c in worker.net_connections(kind="tcp")
                    if c.raddr and c.raddr.port == PG_PORT
                ]
        with self.conn.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s)", [ports])
            backends = [pid for (pid,) in cur.fetchall()]
        for pid in [w.pid for w in workers] + backends:
            if pid not in self.procs:
                with contextlib.suppress(psutil.NoSuchProcess):
                    self.procs[pid] = psutil.Process(pid)

    def snapshot(self) -> dict[int, float]:
        """CPU seconds of every process seen so far, by pid."""
        self._refresh()
        out = {}
        for pid, proc in self.procs.items():
            with contextlib.suppress(psutil.NoSuchProcess, OSError):
                out[pid] = cpu_seconds(proc)
        return out

    @staticmethod
    def used(before: dict[int, float], after: dict[int, float]) -> float:
        """CPU seconds between two snapshots (a process new in ``after`` counts whole)."""
        return sum(t - before.get(pid, 0.0) for pid, t in after.items())

    def busiest_worker_share(self, before: dict[int, float], after: dict[int, float]) -> float:
        """The share of the workers' CPU that the busiest worker spent (0.5 for two workers
        evenly loaded; near 1 when one worker holds every keep-alive connection)."""
        spent = [t - before.get(pid, 0.0) for pid, t in after.items() if pid in self.workers]
        return max(spent) / sum(spent) if spent and sum(spent) > 0 else float("nan")

    def used_by_web(self, before: dict[int, float], after: dict[int, float]) -> float:
        """``used`` by the gunicorn workers alone (the database's backends left out: what
        the web cores would spend with PostgreSQL on a machine of its own)."""
        return sum(t - before.get(pid, 0.0) for pid, t in after.items() if pid in self.workers)


def cpu_seconds(proc: psutil.Process) -> float:
    """CPU time of all the process's threads: nanoseconds from /proc/<pid>/task/*/schedstat
    where Linux has it (cpu_times() counts 10 ms clock ticks, too coarse for one page)."""
    tasks = Path(f"/proc/{proc.pid}/task")
    if tasks.is_dir():
        total = 0
        for stat in tasks.glob("*/schedstat"):
            with contextlib.suppress(OSError):  # a thread that just ended
                total += int(stat.read_text().split()[0])
        if total:
            return total / 1e9
    times = proc.cpu_times()
    return times.user + times.system
