"""What the TensorFlow models' sample caps cost in NDCG@10 on a large log (not a test).

Loads a benchmark database seeded by ``bench/pipeline_bench.py`` (default: the 4M-event
one), makes the pipeline's leave-last-out split, and fits each TensorFlow model twice
on the same training part: with its default caps (``max_examples`` next-item targets;
lightgcn also ``max_graph_work``) and with every cap multiplied by ``--factor``. Both
fits are judged on the same seeded sample of test shoppers; prints NDCG@10 and HR@10
with 95% intervals, the paired difference (raised caps - default) and the fit seconds
side by side.

    .venv/bin/python bench/tf_caps.py --database shop_scale_4000000 --factor 4
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODELS = ("two_tower", "sasrec", "lightgcn")
CAPS = ("max_examples", "max_graph_work")


def raised_caps(name: str, factor: float) -> dict[str, int]:
    """The model's cap parameters multiplied by ``factor``."""
    from recommendations.training.algorithms import algorithm_class

    defaults = algorithm_class(name).defaults
    return {cap: int(defaults[cap] * factor) for cap in CAPS if cap in defaults}


def judge(name: str, params: dict, split, users: int, seed: int) -> dict:
    from recommendations.training.algorithms import make_algorithm
    from recommendations.training.evaluation import bootstrap_ci, evaluate

    result = evaluate(
        make_algorithm(name, **params), split, k=10, max_users=users, seed=seed, per_user=True
    )
    ndcg, hr = result["per_user"]["ndcg"], result["per_user"]["hr"]
    return {
        "params": params,
        "ndcg": bootstrap_ci(ndcg),
        "hr": bootstrap_ci(hr),
        "fit_seconds": result["fit_seconds"],
        "per_user": ndcg,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="shop_scale_4000000")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=MODELS)
    parser.add_argument("--factor", type=float, default=4.0)
    parser.add_argument("--users", type=int, default=20000, help="test shoppers judged")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, help="JSON report")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = f"{args.postgres}/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from recommendations.training import evaluation
    from recommendations.training.evaluation import paired_bootstrap
    from recommendations.training.extract import load_dataset
    from recommendations.training.pipeline import make_split

    t0 = time.perf_counter()
    data = load_dataset()
    split = make_split(data)
    # Judge exactly --users shoppers: the pipeline samples fewer on large catalogues.
    evaluation.MAX_EVAL_SCORES = args.users * data.n_items
    print(
        f"{args.database}: {data.n_events:,} events, {data.n_users:,} shoppers, "
        f"{data.n_items:,} products; {len(split.test_users):,} tested, {args.users:,} judged "
        f"(load + split {time.perf_counter() - t0:.0f} s)",
        flush=True,
    )
    print("| model | caps | NDCG@10 [95% CI] | HR@10 [95% CI] | raised - default, paired | fit s |")
    print("| --- | --- | --- | --- | --- | ---: |")
    report = []
    for name in args.models:
        default = judge(name, {}, split, args.users, args.seed)
        raised = judge(name, raised_caps(name, args.factor), split, args.users, args.seed)
        paired = paired_bootstrap(raised["per_user"], default["per_user"])
        for label, r, diff in (("default", default, ""), (f"x{args.factor:g}", raised, paired)):
            caps = ", ".join(f"{k}={v:,}" for k, v in r["params"].items()) or "defaults"
            d = f"{diff['diff']:+.4f} [{diff['low']:+.4f}, {diff['high']:+.4f}]" if diff else "-"
            n, h = r["ndcg"], r["hr"]
            print(
                f"| {name} | {label}: {caps} | {n[0]:.4f} [{n[1]:.4f}, {n[2]:.4f}] | "
                f"{h[0]:.4f} [{h[1]:.4f}, {h[2]:.4f}] | {d} | {r['fit_seconds']:.0f} |",
                flush=True,
            )
        report.append(
            {
                "model": name,
                **{
                    label: {k: v for k, v in r.items() if k != "per_user"}
                    for label, r in (("default", default), ("raised", raised))
                },
                "paired": paired,
            }
        )
    if args.output:
        args.output.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
