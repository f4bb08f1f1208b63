"""Pipeline speed and memory at benchmark scale, and how each stage grows with the data.

Seeds demo data at each size (``--scale``: multiples of --interactions/--users/
--products; default half and full) into fresh PostgreSQL databases, runs the whole
pipeline (extract, train every candidate, evaluate, precompute, activate) in a child
process per size, and prints per-stage seconds and peak memory side by side with their
growth per doubling of the log, plus the largest size against the budget (default 10
min, 4 GB; ``--budget-minutes``/``--budget-gb``).

By default the run is what production does (docker-compose): a real Celery worker with
``--workers`` (default 2) prefork processes on a Redis broker (``--broker``, default
database 10, flushed first) runs the ``run_pipeline`` task, as beat would send it, and
then the chord of precompute chunks, two at a time; the run ends when the version is
active. Peak memory is the largest sampled sum of the resident memory of every process
(the worker's and the child that sent the task). ``--workers 0``: the pipeline and its
chunks one after another in the child (``run_pipeline(sync=True)``), the old way.

    .venv/bin/python bench/pipeline_bench.py                 # 500k and 1M events
    .venv/bin/python bench/pipeline_bench.py --scale 1 2 4 --workers 0 --budget-gb 6   # 1M/2M/4M
    .venv/bin/python bench/pipeline_bench.py --interactions 200000 --users 20000 --products 4000
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bench_db import database  # bench/ is on the path of a script
from task_graph import describe

ROOT = Path(__file__).resolve().parents[1]
BUDGET_SECONDS = 600.0
BUDGET_BYTES = 4 * 1024**3
CLEAR_VERSIONS = (
    "from recommendations.models import ModelVersion; ModelVersion.objects.all().delete()"
)


def run(cmd: list[str], env: dict[str, str]) -> str:
    """Run a command in the project, echoing its stderr, returning stdout."""
    out = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, check=True)
    return out.stdout


def child() -> None:
    """Run the pipeline once in this process and print its stage timings as JSON.

    With a broker (CELERY_BROKER_URL) the precompute chord runs on the worker and this
    waits until the version leaves "precomputing"; without one, chunks run here."""
    sys.path.insert(0, str(ROOT))  # run as a script: bench/ is first on the path, not the root
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from recommendations.models import ModelVersion
    from recommendations.training.pipeline import run_pipeline

    if os.environ.get("CELERY_BROKER_URL"):
        from config.celery import app

        deadline = time.monotonic() + 120
        while not app.control.ping(timeout=1.0):  # the clock starts when the worker is up
            if time.monotonic() > deadline:
                raise RuntimeError("the Celery worker did not answer within 2 minutes")
    start = time.perf_counter()
    sent = datetime.now(UTC)
    graph_report = None
    if os.environ.get("CELERY_BROKER_URL"):
        from task_graph import measure

        from recommendations import registry, tasks

        # As beat sends it: the task takes the lock and dispatches the task graph.
        summary = tasks.run_pipeline.delay().get(timeout=3600, interval=0.5)
        version_ids = summary["versions"]
        while registry.holder() is not None:  # the graph's last task releases the run lock
            time.sleep(0.2)
        chosen = ModelVersion.objects.filter(pk__in=version_ids, notes__contains="Chosen:")
        winner_id = chosen.values_list("pk", flat=True).first()
        graph_report = measure(sent)
    else:
        result = run_pipeline(sync=True)
        version_ids = [v.pk for v in result.versions]
        winner_id = result.winner.pk if result.winner else None
    total = time.perf_counter() - start
    stages: dict[str, float] = {}
    for version in ModelVersion.objects.filter(pk__in=version_ids):
        for stage, seconds in (version.timings or {}).items():
            if isinstance(seconds, int | float):
                key = stage if stage in ("extract", "split") else f"{version.algorithm}.{stage}"
                stages[key] = max(stages.get(key, 0.0), float(seconds))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    winner = ModelVersion.objects.get(pk=winner_id) if winner_id else None
    print(
        json.dumps(
            {
                "total": total,
                "peak_child": peak,
                "stages": stages,
                "winner": winner.algorithm if winner else None,
                "status": winner.status if winner else None,
                "parameters": winner.parameters if winner else None,
                "task_graph": graph_report,
            }
        )
    )


def measure(args: argparse.Namespace, scale: float) -> dict:
    """Seed one size into its own database and run the pipeline on it."""
    n_events = int(args.interactions * scale)
    name = f"{args.db_prefix}{n_events}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("CELERY_BROKER_URL", None)  # the worker mode sets its own
    env["MODEL_DIR"] = str(ROOT / "var" / "bench-models" / name)
    env["BENCH_WORKERS"] = str(args.workers)
    env["BENCH_BROKER"] = args.broker
    py = sys.executable
    seed_seconds = 0.0
    if args.reuse:  # keep the seeded data; only earlier pipeline runs are cleared
        env["DATABASE_URL"] = f"{args.postgres}/{name}"
        run([py, "manage.py", "migrate", "--noinput", "-v0"], env)  # seeded by older code?
        run([py, "manage.py", "shell", "-c", CLEAR_VERSIONS], env)
        return {**pipeline(env), "seed": seed_seconds, "events": n_events}
    env["DATABASE_URL"] = database(args.postgres, name)
    print(f"== {n_events:,} events: migrate + seed", file=sys.stderr, flush=True)
    run([py, "manage.py", "migrate", "--noinput", "-v0"], env)
    t0 = time.perf_counter()
    run(
        [
            py,
            "manage.py",
            "seed_demo",
            "--seed",
            "7",
            "--products",
            str(int(args.products * scale)),
            "--users",
            str(int(args.users * scale)),
            "--interactions",
            str(n_events),
        ],
        env,
    )
    seed_seconds = time.perf_counter() - t0
    return {**pipeline(env), "seed": seed_seconds, "events": n_events}


def rss_bytes(pid: int) -> dict[int, int]:
    """Resident memory of a process and of each of its descendants (Linux /proc)."""
    out: dict[int, int] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        out[current] = int(line.split()[1]) * 1024
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return out


def start_worker(env: dict[str, str], workers: int) -> subprocess.Popen:
    """A Celery worker like docker-compose's (prefork, ``workers`` processes) on an empty
    broker database."""
    import redis

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()  # no stale tasks of a killed run
    cmd = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork"]
    cmd += ["--concurrency", str(workers), "--loglevel", "WARNING", "-n", "pipeline-bench@%h"]
    cmd += ["--without-gossip", "--without-mingle"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env)


def pipeline(env: dict[str, str]) -> dict:
    """Run the pipeline in a child process (plus the worker, if any) and read its report.

    Peak memory: the largest sampled (every 0.2 s) sum of the resident memory of the
    child and of the worker with its processes."""
    print(f"== pipeline on {env['DATABASE_URL']}", file=sys.stderr, flush=True)
    workers = int(env.get("BENCH_WORKERS", "0"))
    env = dict(env)
    worker = None
    if workers:
        env["CELERY_BROKER_URL"] = env["BENCH_BROKER"]
        env["CONN_MAX_AGE"] = "0"  # the worker's processes hold no connection between tasks
        worker = start_worker(env, workers)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    peak: dict = {"all": 0, "at_peak": {}, "each": {}}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            now = rss_bytes(proc.pid) | (rss_bytes(worker.pid) if worker else {})
            for pid, value in now.items():
                peak["each"][pid] = max(peak["each"].get(pid, 0), value)
            if sum(now.values()) > peak["all"]:
                peak["all"], peak["at_peak"] = sum(now.values()), now
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, _ = proc.communicate()
    finally:
        done.set()
        sampler.join()
        if worker is not None:
            worker.send_signal(signal.SIGTERM)  # warm shutdown of the worker started here
            try:
                worker.wait(timeout=60)
            except subprocess.TimeoutExpired:
                worker.kill()
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, proc.args)
    report = json.loads(out.strip().splitlines()[-1])
    report["peak"] = max(peak["all"], report["peak_child"])
    report["workers"] = workers
    # Per process (GB): at the moment of the peak sum, and each one's own peak.
    report["processes_at_peak_gb"] = sorted(round(v / 1e9, 2) for v in peak["at_peak"].values())
    report["process_peaks_gb"] = sorted(round(v / 1e9, 2) for v in peak["each"].values())
    return report


def _growth(a: float, b: float, size_a: float, size_b: float) -> str:
    """Growth of a figure per doubling of the log between two sizes ("-" if too small)."""
    if a <= 0.01 or b <= 0 or size_b <= size_a:
        return "-"
    return f"{(b / a) ** (1.0 / math.log2(size_b / size_a)):.2f}x"


def report(sizes: list[dict], budget_seconds: float, budget_bytes: float) -> None:
    """Per-stage seconds and peak memory side by side, with the growth per doubling
    between consecutive sizes; the largest size against the budget."""
    stages = sorted(set().union(*(r["stages"] for r in sizes)))
    head = "".join(f"{r['events'] / 1e6:>9.1f}M" for r in sizes)
    grow = "".join(
        f"{f'{a / 1e6:g}M>{b / 1e6:g}M':>9}"
        for a, b in zip(
            [r["events"] for r in sizes[:-1]], [r["events"] for r in sizes[1:]], strict=True
        )
    )
    print("\nPipeline by log size (seconds; growth per doubling of the log)")
    print(f"{'stage':32}{head} {grow}")
    rows = [(stage, [r["stages"].get(stage, 0.0) for r in sizes]) for stage in stages]
    rows.append(("whole pipeline", [r["total"] for r in sizes]))
    rows.append(("peak memory (GB)", [r["peak"] / 1e9 for r in sizes]))
    rows.append(("seed_demo (not in budget)", [r["seed"] for r in sizes]))
    for name, values in rows:
        cells = "".join(f"{v:10.1f}" if v >= 1 or not v else f"{v:10.2f}" for v in values)
        growth = "".join(
            f"{_growth(values[i], values[i + 1], sizes[i]['events'], sizes[i + 1]['events']):>9}"
            for i in range(len(sizes) - 1)
        )
        print(f"{name:32}{cells} {growth}")
    last = sizes[-1]
    print(
        f"\n{last['events']:,} events vs budget: time {last['total'] / budget_seconds:.2f} of "
        f"{budget_seconds / 60:.0f} min, memory {last['peak'] / budget_bytes:.2f} of "
        f"{budget_bytes / 1024**3:.0f} GB; promoted: {last['winner']}; precompute on "
        f"{last['workers'] or 'no'} worker processes"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument(
        "--scale",
        type=float,
        nargs="+",
        default=[0.5, 1.0],
        help="sizes as multiples of --interactions/--users/--products, e.g. 1 2 4",
    )
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--reuse", action="store_true", help="reuse databases seeded before")
    parser.add_argument(
        "--db-prefix",
        default=os.environ.get("BENCH_DB_PREFIX", "shop_bench_"),
        help="database name prefix (the event count follows; env BENCH_DB_PREFIX)",
    )
    parser.add_argument("--output", type=Path, help="JSON report (default docs/performance.json)")
    parser.add_argument("--full-only", action="store_true", help="the same as --scale 1")
    parser.add_argument(
        "--budget-minutes", type=float, default=BUDGET_SECONDS / 60, help="of the largest size"
    )
    parser.add_argument("--budget-gb", type=float, default=BUDGET_BYTES / 1024**3)
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="precompute on a Celery worker with this many processes (0: in the pipeline)",
    )
    parser.add_argument(
        "--broker",
        default=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/10"),
        help="Redis broker for the worker (its database is flushed first)",
    )
    args = parser.parse_args()
    if args.child:
        child()
        return
    scales = [1.0] if args.full_only else sorted(args.scale)
    sizes = []
    for scale in scales:
        sizes.append(measure(args, scale))
        # Written after every size: a long run interrupted keeps what it measured.
        output = args.output or ROOT / "docs" / "performance.json"
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps({"sizes": sizes}, indent=2))
    report(sizes, args.budget_minutes * 60, args.budget_gb * 1024**3)
    print(describe(sizes[-1].get("task_graph")))


if __name__ == "__main__":
    main()
