"""Machine-readable command output: stdout holds only the JSON or CSV, logs go to stderr.

Each command runs as a real process (as a shell pipe would run it) on a small SQLite
file database, so the process's own logging configuration is the one under test.
"""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Settings that would point the child at shared services or hide its log lines.
DROPPED = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "REDIS_URL",
    "LOG_LEVEL",
    "TF_CPP_MIN_LOG_LEVEL",
)


@pytest.fixture(scope="module")
def manage(tmp_path_factory):
    """Run ``manage.py`` in a fresh process on a seeded SQLite file; returns the result."""
    folder = tmp_path_factory.mktemp("commands")
    env = {k: v for k, v in os.environ.items() if k not in DROPPED}
    env.update(
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        MODEL_DIR=str(folder / "models"),
        LOG_FORMAT="json",
        DJANGO_SETTINGS_MODULE="config.settings",
    )

    def run(*args: str) -> subprocess.CompletedProcess:
        out = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return out

    run("migrate", "--verbosity", "0")
    run("seed_demo", "--products", "40", "--users", "20", "--interactions", "600", "--days", "30")
    return run


def test_evaluate_json_is_all_of_stdout(manage):
    algorithms = ("--algorithm", "popularity", "--algorithm", "cooccurrence")
    out = manage("evaluate_recommenders", "--json", "-v", "3", *algorithms)

    report = json.loads(out.stdout)  # fails if a log line precedes the JSON
    assert set(report["algorithms"]) == {"popularity", "cooccurrence"}
    assert report["n_events"] > 0
    # At -v 3 the evaluation logs its metrics (one line per algorithm), on stderr.
    logged = [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]
    assert any(line["logger"] == "recommendations.training.evaluation" for line in logged)


# What TensorFlow writes to the process's stderr when it loads without a GPU.
TF_NOISE = ("cudart_stub", "absl::InitializeLog", "cuInit", "cuda drivers")


@pytest.mark.slow
def test_tensorflow_says_nothing_unless_asked(manage):
    """TensorFlow's C++ start-up logs (the CUDA probe) reach neither stream."""
    out = manage("evaluate_recommenders", "--algorithm", "two_tower")

    assert "two_tower" in out.stdout
    noise = [line for line in out.stderr.splitlines() if any(n in line for n in TF_NOISE)]
    assert not noise, noise
    assert out.stderr == ""


def test_export_csv_is_all_of_stdout(manage):
    manage("train_recommender", "--sync", "--algorithm", "cooccurrence")
    out = manage("export_recommendations", "--limit", "3")

    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0] == ["user", "rank", "sku", "score", "reason"]
    assert len(rows) > 1 and all(len(row) == 5 for row in rows)
    assert all(row[1].isdigit() and row[2] for row in rows[1:])
    assert "shoppers exported" in out.stderr  # progress stays off the CSV
