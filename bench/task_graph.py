"""A pipeline run's Celery tasks: the sum of their times and the critical path.

The pipeline's graph (recommendations/training/graph.py) is a chain of stages; every
task of a stage waits for the whole stage before it:

    run_pipeline -> pipeline_prepare -> pipeline_candidate x N -> pipeline_finish
                 -> precompute_chunk x M -> finalize_version (or fail_version)

so its longest chain of task durations (the critical path) is the sum over stages of
the longest task in each. With unlimited workers on separate machines the run takes
about that long; on one worker it takes the sum of all task times. Their ratio is
what more workers can give. Times come from django-celery-results' rows
(CELERY_TASK_TRACK_STARTED: date_started when a task starts, date_done when it ends).

    from task_graph import measure, describe
    print(describe(measure(since)))   # since: a datetime before the run was sent
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

PREFIX = "recommendations.tasks."
STAGES = (
    ("run_pipeline",),
    ("pipeline_prepare",),
    ("pipeline_candidate",),
    ("pipeline_finish",),
    ("precompute_chunk",),
    ("finalize_version", "fail_version"),
)


def task_times(since: datetime) -> list[dict]:
    """Name, start, end (seconds since ``since``) and worker of each finished task."""
    from django_celery_results.models import TaskResult

    rows = TaskResult.objects.filter(
        task_name__startswith=PREFIX, date_created__gte=since, status="SUCCESS"
    ).values("task_name", "date_started", "date_created", "date_done", "worker")
    return [
        {
            "name": row["task_name"].removeprefix(PREFIX),
            "start": ((row["date_started"] or row["date_created"]) - since).total_seconds(),
            "end": (row["date_done"] - since).total_seconds(),
            "worker": row["worker"] or "",
        }
        for row in rows
    ]


def critical_path(tasks: list[dict]) -> dict:
    """Sum of task times, the critical path (sum of each stage's longest task), the
    span from the first start to the last end, and tasks per stage and per worker."""
    stage_of = {name: i for i, names in enumerate(STAGES) for name in names}
    longest = [0.0] * len(STAGES)
    counts: Counter = Counter()
    total = 0.0
    for task in tasks:
        seconds = max(0.0, task["end"] - task["start"])
        total += seconds
        counts[task["name"]] += 1
        stage = stage_of.get(task["name"])
        if stage is not None:
            longest[stage] = max(longest[stage], seconds)
    first = min((t["start"] for t in tasks), default=0.0)
    span = max((t["end"] for t in tasks), default=0.0) - first
    return {
        "sum_of_tasks": round(total, 3),
        "critical_path": round(sum(longest), 3),
        "ratio": round(sum(longest) / total, 3) if total else None,
        "span": round(span, 3),
        "stages": {"+".join(names): round(s, 3) for names, s in zip(STAGES, longest, strict=True)},
        "tasks": dict(counts),
        "per_worker": dict(Counter(t["worker"] for t in tasks)),
    }


def measure(since: datetime) -> dict:
    """critical_path of the tasks that started after ``since``."""
    return critical_path(task_times(since))


def describe(report: dict | None) -> str:
    """Two lines for the bench's output."""
    if not report or not report.get("sum_of_tasks"):
        return "task graph: no task results (run with --workers 1 or more)"
    return (
        f"task graph: sum of task times {report['sum_of_tasks']:.1f} s, critical path "
        f"{report['critical_path']:.1f} s ({report['ratio']:.2f} of the sum), span "
        f"{report['span']:.1f} s\n  longest per stage: "
        + ", ".join(f"{k} {v:.1f}" for k, v in report["stages"].items())
        + f"\n  tasks per worker process: {report['per_worker']}"
    )
