"""API speed: recommendations against product detail side by side, and events ingestion.

Seeds the demo shop into a PostgreSQL database, trains a quick co-occurrence model,
starts gunicorn (2 workers) on 127.0.0.1, then runs wrk (32 connections, one token)
on GET /api/products/{id}/ and GET /api/recommendations/?limit=10 in alternating
rounds (figures: the median round), and posts batches of 1,000 events from one
client. Prints requests per second, latency percentiles and the goals' ratios.

Two figures besides wrk's own, because this machine is shared:
- server CPU per request: CPU seconds of the gunicorn workers and of the database's
  backends during a round, over the requests served, and the workers' alone (what the
  web cores spend with the database on a machine of its own), beside wrk's own CPU and
  the whole machine's per request. Other load on the machine stretches wall-clock
  figures, much less what one request costs;
- tails at fixed offered loads (--rates, default 100 and 200 requests/s, --paced-seconds
  each): an open-loop client (bench/paced_load.py) sends on a fixed schedule and times
  each request from when it was due, so a stall counts in every request it delays. At
  saturation a closed loop of 32 connections queues (every latency is at least
  32 / throughput, Little's law), so only these rounds say how long a request takes
  when the server keeps up.

Each wrk round also gives the busiest worker's share of the workers' CPU: wrk's 32
keep-alive connections stay with the worker that accepted them, and in some rounds one
worker accepts nearly all of them and serves the round on one core at about half the
requests per second. The summary counts those rounds per endpoint.

Then the floors, on a gunicorn of their own with the same settings (bench/floor_app.py):
the same wrk rounds on a do-nothing WSGI callable, a constant plain Django view behind
the project's middleware, and a constant DRF view behind the same plus the API's
authentication, permission and throttles. The last over the second is DRF's share,
reported three ways: by median rounds, as the median of the ratios within a round, and
by CPU per request (the workers', and the whole machine's with Redis and wrk).

    .venv/bin/python bench/api_bench.py                  # fresh database, 3 rounds of 10 s
    .venv/bin/python bench/api_bench.py --reuse --rates 100,200 --json run.json
    .venv/bin/python bench/api_bench.py --reuse --rounds 5 --cache locmem

Needs wrk (apt-get install wrk) and PostgreSQL (BENCH_DATABASE_BASE, default
postgres://postgres@127.0.0.1:5432); the cache is Redis db 8 (BENCH_REDIS_URL) unless
--cache locmem.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import paced_load  # bench/ is on the path of a script
import psutil
from bench_db import database
from server_cpu import ServerCpu

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
ONE_WORKER = 0.8  # the busiest of two workers' share of their CPU in a lopsided round
GUNICORN_EXTRA = os.environ.get("BENCH_GUNICORN", "").split()


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def manage(*args: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    if out.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed ({out.returncode})")
    return out.stdout


SETUP = """
import json
from django.db import connection
# Statistics as autovacuum keeps them (it may be off here; --reuse adds posted events).
connection.cursor().execute("ANALYZE")
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from recommendations.models import ModelVersion, UserRecommendations
from shop.models import Product
version = ModelVersion.objects.get(status="active")
row = UserRecommendations.objects.filter(version=version, user__isnull=False).first()
product = Product.objects.in_stock().order_by("pk").first()
token, _ = Token.objects.get_or_create(user=row.user)
skus = list(Product.objects.values_list("sku", flat=True)[:500])
print(json.dumps({"token": token.key, "user": row.user.username, "product": product.pk,
                  "version": version.pk, "skus": skus}))
"""


def measure(url: str, token: str, seconds: int, connections: int, cpu=None) -> dict:
    """wrk at saturation: requests per second, latency percentiles and (with ``cpu``)
    server CPU per request."""
    before = cpu.snapshot() if cpu else {}
    machine = busy_seconds()
    result, total = wrk(url, token, seconds, connections)
    time.sleep(0.5)  # the impressions' batched writer finishes what the round queued
    if cpu and total:
        after = cpu.snapshot()
        result["server_cpu_ms"] = ServerCpu.used(before, after) / total * 1e3
        result["web_cpu_ms"] = cpu.used_by_web(before, after) / total * 1e3
        result["machine_cpu_ms"] = (busy_seconds() - machine) / total * 1e3
        result["busiest_worker_share"] = cpu.busiest_worker_share(before, after)
    return result


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (every core, every process)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def paced(url: str, token: str, rate: float, seconds: int) -> dict:
    """Open-loop tails at ``rate`` requests/s (bench/paced_load.py)."""
    target = urlsplit(url)
    path = target.path + (f"?{target.query}" if target.query else "")
    headers = {"Authorization": f"Token {token}"}
    result = paced_load.run(target.hostname, target.port, [path], headers, rate, seconds)
    time.sleep(0.5)
    return result


def wrk(url: str, token: str, seconds: int, connections: int) -> tuple[dict[str, float], int]:
    """wrk's figures, and how many requests it completed."""
    cmd = ["wrk", f"-c{connections}", "-t2", f"-d{seconds}s", "--latency"]
    client = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [*cmd, "-H", f"Authorization: Token {token}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    total = int(re.search(r"(\d+) requests in", out).group(1))
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        result[f"p{pct}_ms"] = float(value) * UNITS[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(errors.group(1)) if errors else 0
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    spent = done.ru_utime + done.ru_stime - client.ru_utime - client.ru_stime
    result["client_cpu_ms"] = spent / max(total, 1) * 1e3  # wrk's own, on the same cores
    return result, total


def post_events(port: int, token: str, skus: list[str], batches: int, size: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    run = uuid.uuid4().hex[:8]
    bodies = [
        json.dumps(
            [
                {
                    "sku": skus[(b * size + i) % len(skus)],
                    "kind": "view" if i % 4 else "cart",
                    "client_event_id": f"bench-{run}-{b}-{i}",
                    "source": "bench",
                }
                for i in range(size)
            ]
        ).encode()
        for b in range(batches + 1)
    ]
    times = []
    for b, body in enumerate(bodies):
        start = time.perf_counter()
        conn.request("POST", "/api/events/", body=body, headers=headers)
        response = conn.getresponse()
        payload = json.loads(response.read())
        if response.status != 201 or payload["accepted"] != size:
            raise SystemExit(f"events batch {b}: {response.status} {payload}")
        if b:  # the first batch warms up the workers
            times.append(time.perf_counter() - start)
    # one resend: all duplicates, nothing stored
    conn.request("POST", "/api/events/", body=bodies[1], headers=headers)
    resent = json.loads(conn.getresponse().read())
    return {
        "batches": batches,
        "batch_size": size,
        "events_per_s": batches * size / sum(times),
        "events_per_s_median_batch": size / statistics.median(times),
        "batch_median_ms": statistics.median(times) * 1e3,
        "batch_max_ms": max(times) * 1e3,
        "batch_ms": [round(t * 1e3, 1) for t in times],  # in order: a slow one shows when
        "resend": resent,
    }


def alternate(
    urls: dict[str, str],
    token: str,
    args: argparse.Namespace,
    label: str,
    cpu: ServerCpu | None = None,
) -> dict[str, list[dict]]:
    """``args.rounds`` rounds of wrk on each of ``urls`` in turn: the results per name."""
    results: dict[str, list[dict]] = {name: [] for name in urls}
    for r in range(args.rounds):
        for name, target in urls.items():
            result = measure(target, token, args.seconds, args.connections, cpu)
            log(f"{label} {r + 1} {name}: {result}")
            results[name].append(result)
    return results


def start_server(app: str, port: int, env: dict[str, str], *extra: str) -> subprocess.Popen:
    """gunicorn with 2 workers (and gunicorn.conf.py's worker class) serving ``app``."""
    command = [PYTHON, "-m", "gunicorn", app, "-w", "2", *GUNICORN_EXTRA, *extra]
    command += ["-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)


def stop_server(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def wait_ready(port: int) -> None:
    deadline = time.time() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/products/?page_size=1")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.time() > deadline:
            raise SystemExit("gunicorn did not answer within 30 s")
        time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database")
    parser.add_argument("--name", default="shop_api_bench")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--cache", choices=("redis", "locmem"), default="redis")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--rates", default="100,200", help="offered loads of the paced rounds")
    parser.add_argument("--paced-seconds", type=int, default=15)
    args = parser.parse_args()

    base = os.environ.get("BENCH_DATABASE_BASE", "postgres://postgres@127.0.0.1:5432")
    url = database(base, args.name, fresh=not args.reuse)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": "api-bench-" + "x" * 50,
        "CACHE_URL": (
            os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
            if args.cache == "redis"
            else "locmemcache://"
        ),
        "API_THROTTLE_ANON": "1000000/s",  # measure the API, not the throttle's refusals
        "API_THROTTLE_USER": "1000000/s",
        "RECS_API_DAILY_QUANTITY": "100000000",  # one shopper posts every batch
        "LOG_LEVEL": "WARNING",
        # Plain http on 127.0.0.1: without this every request is a 301 to https.
        "SECURE_SSL_REDIRECT": "0",
        "CELERY_BROKER_URL": "",
    }
    log(f"database {url}")
    manage("migrate", "-v0", env=env)
    if not args.reuse:
        log("seeding the demo shop")
        manage("seed_demo", env=env)
        log("training a co-occurrence model")
        manage("train_recommender", "--sync", "--force", "--algorithm", "cooccurrence", env=env)
    facts = json.loads(manage("shell", "-c", SETUP, env=env).strip().splitlines()[-1])
    log(f"shopper {facts['user']}, product {facts['product']}, version {facts['version']}")

    server = start_server("config.wsgi", args.port, env)
    try:
        root = f"http://127.0.0.1:{args.port}"
        wait_ready(args.port)
        urls = {
            "product": f"{root}/api/products/{facts['product']}/",
            "recommendations": f"{root}/api/recommendations/?limit=10",
        }
        for target in urls.values():  # each answers 200 itself (no redirect, no error)
            path = target.removeprefix(root)
            conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
            conn.request("GET", path, headers={"Authorization": f"Token {facts['token']}"})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"GET {path}: {response.status}, not 200")
        for target in urls.values():  # warm both (caches, connections)
            wrk(target, facts["token"], 2, args.connections)
        cpu = ServerCpu(server.pid, url)
        runs = alternate(urls, facts["token"], args, "round", cpu)
        tails: dict[str, dict[str, dict]] = {}
        for rate in [float(r) for r in args.rates.split(",")]:
            for name, target in urls.items():
                result = paced(target, facts["token"], rate, args.paced_seconds)
                log(f"paced {rate:.0f}/s {name}: {result}")
                tails.setdefault(f"{rate:.0f}", {})[name] = result
        log("events: batches of 1,000 from one client")
        events = post_events(args.port, facts["token"], facts["skus"], args.batches, 1000)
    finally:
        stop_server(server)

    # The floors: the same gunicorn settings and wrk rounds on a do-nothing WSGI app and
    # on a constant DRF view behind the whole stack (bench/floor_app.py).
    log("floors: bare WSGI and a constant API view, same gunicorn settings")
    floor_port = args.port + 1
    server = start_server("floor_app:application", floor_port, env, "--pythonpath", "bench")
    try:
        wait_ready(floor_port)
        froot = f"http://127.0.0.1:{floor_port}"
        floor_urls = {
            "bare_wsgi": f"{froot}/floor/bare",
            "django_view": f"{froot}/floor/django/",
            "constant_api": f"{froot}/floor/constant/",
        }
        for target in floor_urls.values():
            wrk(target, facts["token"], 2, args.connections)
        cpu = ServerCpu(server.pid, url)
        floors = alternate(floor_urls, facts["token"], args, "floor round", cpu)
    finally:
        stop_server(server)

    def median(name: str, key: str, rounds: dict = runs) -> float:
        """The median round (a round disturbed by something else moves a mean)."""
        return statistics.median(r[key] for r in rounds[name])

    summary = {
        "setup": {
            "connections": args.connections,
            "seconds": args.seconds,
            "rounds": args.rounds,
            "workers": 2,
            "cache": args.cache,
            "database": "postgresql",
        },
        "product": {k: round(median("product", k), 3) for k in runs["product"][0]},
        "recommendations": {
            k: round(median("recommendations", k), 3) for k in runs["recommendations"][0]
        },
        "paced": tails,
        "events": {k: (round(v, 1) if isinstance(v, float) else v) for k, v in events.items()},
        "floors": {
            name: {k: round(median(name, k, floors), 3) for k in floors[name][0]} for name in floors
        },
        # Rounds in which one worker did most of the work: wrk's 32 keep-alive connections
        # are accepted by whichever worker is first, and stay with it for the round.
        "rounds_one_worker_did_80_percent": {
            name: sum(r["busiest_worker_share"] >= ONE_WORKER for r in rounds[name])
            for rounds in (runs, floors)
            for name in rounds
        },
    }
    summary["ratios"] = {
        "recs_rps_over_product_rps": round(
            summary["recommendations"]["rps"] / summary["product"]["rps"], 3
        ),
        "product_cpu_over_recs_cpu": round(
            summary["product"]["server_cpu_ms"] / summary["recommendations"]["server_cpu_ms"], 3
        ),
        # The same without the database's backends (PostgreSQL on a machine of its own).
        "product_web_cpu_over_recs_web_cpu": round(
            summary["product"]["web_cpu_ms"] / summary["recommendations"]["web_cpu_ms"], 3
        ),
        **{
            f"paced_{rate}_recs_p99_over_product_p99": round(
                t["recommendations"]["p99_ms"] / t["product"]["p99_ms"], 3
            )
            for rate, t in tails.items()
        },
        **{
            f"paced_{rate}_recs_p99_over_25ms": round(t["recommendations"]["p99_ms"] / 25.0, 3)
            for rate, t in tails.items()
        },
        "constant_api_rps_over_django_view_rps": round(
            summary["floors"]["constant_api"]["rps"] / summary["floors"]["django_view"]["rps"], 3
        ),
        # The floor rounds swing by 2x within a run: the ratio within each round (the
        # two views measured a few seconds apart), and by the server's CPU per request.
        "constant_api_over_django_view_per_round": round(
            statistics.median(
                api["rps"] / view["rps"]
                for api, view in zip(floors["constant_api"], floors["django_view"], strict=True)
            ),
            3,
        ),
        **{  # the workers' CPU, and the whole machine's (Redis and wrk included)
            f"django_view_{cpu}_over_constant_api_{cpu}": round(
                summary["floors"]["django_view"][f"{cpu}_ms"]
                / summary["floors"]["constant_api"][f"{cpu}_ms"],
                3,
            )
            for cpu in ("web_cpu", "machine_cpu")
        },
        "events_per_s_over_20000": round(events["events_per_s"] / 20_000, 3),
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
