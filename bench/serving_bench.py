"""Widget cost on real pages: gunicorn side by side with widgets on, off, and on without
impressions, on PostgreSQL and Redis, for a guest who has viewed three products.

Seeds the demo shop (default size) into a fresh database, trains one co-occurrence
model, starts three gunicorn servers on 127.0.0.1 that differ only in RECS_WIDGETS /
RECS_IMPRESSIONS (2 workers each, gunicorn.conf.py), then requests the home and a
product page from each in turn (interleaved, a bounded number of rounds) and prints
median times and their ratios. Then tails at fixed offered loads (--rates, default 100
and 200 requests/s, --paced-seconds each) on the servers with widgets on and off: an
open-loop client (bench/paced_load.py) alternating the home and the product page for
the same guest, each request timed from when it was due.

    .venv/bin/python bench/serving_bench.py [--rounds 150] [--reuse] [--rates 100,200]

BENCH_DB, BENCH_REDIS and BENCH_PORT (first of three) pick the database, cache and ports.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import paced_load  # bench/ is on the path of a script
import requests
from bench_db import database
from server_cpu import ServerCpu

ROOT = Path(__file__).resolve().parents[1]
PG = "postgres://postgres@127.0.0.1:5432"
# Overridable so that several people can benchmark on one machine side by side.
DB = os.environ.get("BENCH_DB", "shop_serving_bench")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/7")
PORT = int(os.environ.get("BENCH_PORT", "8711"))
SERVERS = {  # name -> (port, extra environment)
    "on": (PORT, {"RECS_WIDGETS": "on"}),
    "off": (PORT + 1, {"RECS_WIDGETS": "off"}),
    "no-impressions": (PORT + 2, {"RECS_WIDGETS": "on", "RECS_IMPRESSIONS": "off"}),
}


def manage(env: dict, *args: str) -> str:
    """Run a management command of the project; returns its stdout."""
    out = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return out.stdout


def analyze(name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(f"{PG}/{name}")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("ANALYZE")
    conn.close()


def sample_products(env: dict) -> list[str]:
    """Three product URLs of one category, and a fourth for the product page."""
    code = (
        "import json; from shop.models import Product; from django.db.models import Count;"
        "cat = Product.objects.in_stock().values('category').annotate(n=Count('id'))"
        ".order_by('-n')[0]['category'];"
        "ps = Product.objects.in_stock().filter(category=cat).order_by('pk')[:4];"
        "print(json.dumps([p.get_absolute_url() for p in ps]))"
    )
    return json.loads(manage(env, "shell", "-c", code).strip().splitlines()[-1])


def wait_up(url: str, proc: subprocess.Popen) -> None:
    for _ in range(100):
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn for {url} exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=20).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=150)
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database")
    parser.add_argument("--rates", default="100,200", help="offered loads of the paced rounds")
    parser.add_argument("--paced-seconds", type=int, default=15)
    args = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DB}",
        "CACHE_URL": REDIS,
        "DEBUG": "false",
        "MODEL_DIR": str(ROOT / "var" / "bench-models"),
        "LOG_LEVEL": "WARNING",
        # Plain HTTP on 127.0.0.1 (production settings would redirect to HTTPS and keep
        # the session cookie off plain HTTP, so every guest would be new).
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "serving-bench-" + "x" * 50,
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
    }
    env.pop("CELERY_BROKER_URL", None)
    if not args.reuse:
        print("seeding and training ...", file=sys.stderr, flush=True)
        database(PG, DB)
        manage(env, "migrate", "-v", "0")
        manage(env, "seed_demo")
        manage(env, "train_recommender", "--sync", "--algorithm", "cooccurrence", "--force")
    analyze(DB)  # planner statistics, as autovacuum would have them in production
    urls = sample_products(env)
    procs = {}
    try:
        for name, (port, extra) in SERVERS.items():
            procs[name] = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("gunicorn")),
                    "config.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "2",
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env={**env, **extra},
            )
        sessions = {}
        for name, (port, _) in SERVERS.items():
            base = f"http://127.0.0.1:{port}"
            wait_up(base + "/", procs[name])
            s = requests.Session()
            for url in urls[:3]:  # a guest who viewed three products of one category
                assert s.get(base + url, timeout=10).status_code == 200
            for _ in range(5):  # warm-up
                s.get(base + "/", timeout=10)
                s.get(base + urls[0], timeout=10)
            sessions[name] = (base, s)
        times: dict[tuple[str, str], list[float]] = {}
        cpu = {name: ServerCpu(procs[name].pid, f"{PG}/{DB}") for name in SERVERS}
        used: dict[tuple[str, str], float] = {}
        print(f"{args.rounds} rounds ...", file=sys.stderr, flush=True)
        for _ in range(args.rounds):
            for page, path in (("home", "/"), ("product", urls[0])):
                for name, (base, s) in sessions.items():
                    before = cpu[name].snapshot()
                    t0 = time.perf_counter()
                    response = s.get(base + path, timeout=10)
                    times.setdefault((name, page), []).append(time.perf_counter() - t0)
                    assert response.status_code == 200
                    time.sleep(0.002)  # the worker finishes the page (a queued insert aside)
                    spent = ServerCpu.used(before, cpu[name].snapshot())
                    used[(name, page)] = used.get((name, page), 0.0) + spent
        tails = paced_rounds(sessions, urls[0], args)
        html = sessions["on"][1].get(sessions["on"][0] + "/", timeout=10).text
        assert 'data-widget="for-you"' in html and "Because you viewed" in html
        assert 'data-widget="for-you"' not in sessions["off"][1].get(sessions["off"][0] + "/").text
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(timeout=30)
    med = {key: statistics.median(v) * 1000 for key, v in times.items()}
    print(f"median ms over {args.rounds} interleaved requests (gunicorn, PostgreSQL, Redis)")
    print(f"{'page':<10}{'widgets on':>12}{'off':>10}{'on/off':>9}{'no impr.':>10}{'impr. ms':>10}")
    for page in ("home", "product"):
        on, off, quiet = med[("on", page)], med[("off", page)], med[("no-impressions", page)]
        print(f"{page:<10}{on:>12.2f}{off:>10.2f}{on / off:>9.2f}{quiet:>10.2f}{on - quiet:>10.2f}")
    print(f"open-loop tails, home and product page alternating, {args.paced_seconds} s each")
    print(f"{'rate':<8}{'widgets':<9}{'served/s':>9}{'p50':>8}{'p99':>8}{'max':>8}{'errors':>8}")
    for rate, by_server in tails.items():
        for name, r in by_server.items():
            print(
                f"{rate:<8}{name:<9}{r['rps']:>9.1f}{r['p50_ms']:>8.1f}{r['p99_ms']:>8.1f}"
                f"{r['max_ms']:>8.1f}{r['non_2xx']:>8}"
            )
        on, off = by_server["on"]["p99_ms"], by_server["off"]["p99_ms"]
        print(f"{rate:<8}p99 on/off {on / off:.2f}")
    per = {key: value / args.rounds * 1000 for key, value in used.items()}
    print("server CPU ms per page (gunicorn worker + its database backends)")
    print(f"{'page':<10}{'widgets on':>12}{'off':>10}{'on/off':>9}{'no impr.':>10}{'impr. ms':>10}")
    for page in ("home", "product"):
        on, off, quiet = per[("on", page)], per[("off", page)], per[("no-impressions", page)]
        print(f"{page:<10}{on:>12.2f}{off:>10.2f}{on / off:>9.2f}{quiet:>10.2f}{on - quiet:>10.2f}")


def paced_rounds(sessions: dict, product_url: str, args: argparse.Namespace) -> dict:
    """Open-loop rounds per rate on the servers with widgets on and off."""
    tails: dict[str, dict[str, dict]] = {}
    for rate in [float(r) for r in args.rates.split(",")]:
        for name in ("on", "off"):
            base, s = sessions[name]
            cookie = "; ".join(f"{k}={v}" for k, v in s.cookies.items())
            port = int(base.rsplit(":", 1)[1])
            result = paced_load.run(
                "127.0.0.1", port, ["/", product_url], {"Cookie": cookie}, rate, args.paced_seconds
            )
            print(f"paced {rate:.0f}/s widgets {name}: {result}", file=sys.stderr, flush=True)
            tails.setdefault(f"{rate:.0f}", {})[name] = result
    return tails


if __name__ == "__main__":
    main()
