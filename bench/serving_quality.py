"""Served-list quality for several RECS_DIVERSITY values: NDCG@10, HR@10, catalogue
coverage and intra-list diversity of the for-you lists shoppers actually get.

Seeds the demo shop into a fresh PostgreSQL database, holds out each shopper's last
event (deleted before training), trains one co-occurrence model, then serves every
held-out shopper's for-you list (precomputed list + their last products' neighbours,
fresh filters, trending fill) once per diversity value, in one run.

    .venv/bin/python bench/serving_quality.py [--values 0 0.1 0.2 0.3 0.5] [--reuse]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from itertools import combinations
from pathlib import Path

from bench_db import database  # bench/ is on the path of a script

ROOT = Path(__file__).resolve().parents[1]
PG = "postgres://postgres@127.0.0.1:5432"
DB = "shop_serving_quality"
HOLDOUT = ROOT / "var" / "serving_quality_holdout.json"


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def prepare(env: dict) -> None:
    """Fresh database, demo data, hold out each shopper's last event, train."""
    database(PG, DB)
    manage(env, "migrate", "-v", "0")
    manage(env, "seed_demo")
    code = f"""
import json
from recommendations.models import Interaction
held = {{}}
rows = Interaction.objects.filter(kind__in=["view", "cart", "purchase"], user__isnull=False)
for uid in rows.values_list("user_id", flat=True).distinct():
    mine = rows.filter(user_id=uid).order_by("-created", "-pk")
    if mine.count() < 5:
        continue
    last = mine.first()
    held[uid] = last.product_id
    rows.filter(user_id=uid, product_id=last.product_id).delete()  # unseen before the test
open({str(HOLDOUT)!r}, "w").write(json.dumps(held))
"""
    HOLDOUT.parent.mkdir(parents=True, exist_ok=True)
    manage(env, "shell", "-c", code)
    manage(env, "train_recommender", "--sync", "--algorithm", "cooccurrence", "--force")


def measure(values: list[float], k: int = 10) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache

    from recommendations.serving import Shopper, recommend
    from recommendations.serving.core import _similarity
    from shop.models import Product

    held = {int(u): p for u, p in json.loads(HOLDOUT.read_text()).items()}
    catalogue = Product.objects.in_stock().count()
    out = []
    for value in values:
        settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "DIVERSITY": value}
        cache.clear()
        ndcg = hits = 0.0
        ild: list[float] = []
        shown: set[int] = set()
        for uid, target in held.items():
            served = recommend(Shopper(user_id=uid), "for-you", limit=k)
            ids = [i.product.pk for i in served.items]
            shown.update(ids)
            if target in ids:
                hits += 1
                ndcg += 1.0 / math.log2(ids.index(target) + 2)
            pairs = list(combinations([i.product for i in served.items], 2))
            if pairs:
                ild.append(sum(1.0 - _similarity(a, b) for a, b in pairs) / len(pairs))
        n = len(held)
        out.append(
            {
                "diversity": value,
                "ndcg": ndcg / n,
                "hr": hits / n,
                "coverage": len(shown) / catalogue,
                "ild": sum(ild) / len(ild),
                "users": n,
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=float, nargs="+", default=[0, 0.1, 0.2, 0.3, 0.4, 0.5])
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    env = {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DB}",
        "MODEL_DIR": str(ROOT / "var" / "quality-models"),
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("CELERY_BROKER_URL", None)
    if not args.reuse:
        prepare(env)
    os.environ.update(env)
    rows = measure(args.values)
    base = rows[0]["ndcg"] or 1.0
    print(f"served for-you lists, {rows[0]['users']} held-out shoppers, k=10")
    print("| RECS_DIVERSITY | NDCG@10 | vs 0 | HR@10 | coverage | intra-list diversity |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['diversity']:.2f} | {r['ndcg']:.4f} | {r['ndcg'] / base:.3f} | {r['hr']:.3f} "
            f"| {r['coverage']:.3f} | {r['ild']:.3f} |"
        )


if __name__ == "__main__":
    main()
