"""bench/task_graph.py: the critical path of a run's tasks is the sum of each stage's
longest task (every task of a stage waits for the whole stage before it)."""

import sys

from tests.paths import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from task_graph import critical_path, describe  # noqa: E402


def task(name: str, start: float, end: float, worker: str = "w1") -> dict:
    return {"name": name, "start": start, "end": end, "worker": worker}


def test_critical_path_takes_the_longest_task_of_each_stage():
    tasks = [
        task("run_pipeline", 0, 1),
        task("pipeline_prepare", 1, 3),
        task("pipeline_candidate", 3, 13, "w1"),
        task("pipeline_candidate", 3, 7, "w2"),
        task("pipeline_candidate", 7, 9, "w2"),
        task("pipeline_finish", 13, 16),
        task("precompute_chunk", 16, 18, "w1"),
        task("precompute_chunk", 16, 19, "w2"),
        task("finalize_version", 19, 20),
    ]
    report = critical_path(tasks)
    assert report["sum_of_tasks"] == 1 + 2 + 10 + 4 + 2 + 3 + 2 + 3 + 1
    assert report["critical_path"] == 1 + 2 + 10 + 3 + 3 + 1
    assert report["span"] == 20
    assert report["tasks"]["pipeline_candidate"] == 3
    assert report["per_worker"] == {"w1": 6, "w2": 3}
    assert "critical path 20.0 s" in describe(report)


def test_no_tasks_says_so():
    assert critical_path([])["ratio"] is None
    assert "no task results" in describe(critical_path([]))
