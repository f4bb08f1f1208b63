"""Where ranking candidates beats a dense score row, per algorithm (not a test).

On a synthetic log (shoppers who stay within one of 12 categories, Zipf popularity
inside it, text of category words), each model with ``votes`` is fitted once per
catalogue size, then the same shoppers' top 50 are ranked both ways, in batches of
1,000 as precompute and evaluation do: dense (``score`` + ``top_k``) and candidates
(``votes`` + ``rank_candidates``). Prints seconds side by side and their ratio
(candidates / dense: below 1, candidates pay).

    DJANGO_SETTINGS_MODULE=config.settings .venv/bin/python bench/candidate_crossover.py \
        --items 5000 10000 20000 40000 --users 50000 --events 500000 --scored 10000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

NAMES = ("popularity", "cooccurrence", "content", "transitions", "sknn")
CATEGORIES = 12


def synthetic_log(n_items: int, n_users: int, n_events: int, seed: int = 7):
    """A Dataset of ``n_events`` views with item features (see the module docstring)."""
    from recommendations.training.dataset import KIND_CODES, ItemFeatures, build_dataset

    rng = np.random.default_rng(seed)
    per_cat = n_items // CATEGORIES
    users = rng.integers(0, n_users, n_events)
    rank = np.minimum(rng.zipf(1.3, n_events) - 1, per_cat - 1)
    items = (users % CATEGORIES) * per_cat + (rank * 7919 + users % 5) % per_cat
    category = np.arange(n_items) // per_cat
    words = [" ".join(f"c{c}w{w}" for w in rng.choice(40, 5, replace=False)) for c in category]
    features = ItemFeatures(
        text=words,
        category=np.minimum(category, CATEGORIES - 1).astype(np.int32),
        brand=np.full(n_items, -1, dtype=np.int32),
        price=np.zeros(n_items, dtype=np.float32),
    )
    return build_dataset(
        np.array([f"u:{u}" for u in users], dtype=object),
        items,
        np.full(n_events, KIND_CODES["view"]),
        np.sort(rng.uniform(0, 1e7, n_events)),
        item_ids=np.arange(n_items),
        features=features,
    )


def _rank_all(model, data, users: np.ndarray, batch: int = 1000) -> float:
    t0 = time.perf_counter()
    for start in range(0, len(users), batch):
        model.recommend(users[start : start + batch], 50, data)
    return time.perf_counter() - t0


def measure(name: str, data, scored: int) -> tuple[float, float]:
    """(dense seconds, candidate seconds) to rank ``scored`` shoppers' top 50."""
    from recommendations.training.algorithms import base, make_algorithm

    model = make_algorithm(name).fit(data)
    users = np.arange(min(scored, data.n_users))
    saved = base.CANDIDATE_MIN_ITEMS
    try:
        base.CANDIDATE_MIN_ITEMS = 10**12
        dense = _rank_all(model, data, users)
        base.CANDIDATE_MIN_ITEMS = 0
        candidates = _rank_all(model, data, users)
    finally:
        base.CANDIDATE_MIN_ITEMS = saved
    return dense, candidates


def main() -> None:
    import django

    django.setup()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[5000, 10000, 20000, 40000])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--scored", type=int, default=10_000)
    parser.add_argument("--names", nargs="+", default=list(NAMES))
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; {args.events:,} events, {args.users:,} "
          f"shoppers, top 50 of {args.scored:,}: dense / candidates s (ratio)")  # fmt: skip
    print("products | " + " | ".join(args.names))
    for n_items in args.items:
        data = synthetic_log(n_items, args.users, args.events)
        cells = []
        for name in args.names:
            dense, cand = measure(name, data, args.scored)
            cells.append(f"{dense:.2f} / {cand:.2f} ({cand / dense:.2f})")
        print(f"{n_items:,} | " + " | ".join(cells), flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
