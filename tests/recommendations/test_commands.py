"""Management commands: train_recommender, evaluate_recommenders, export_recommendations."""

import csv
import io
import json
import logging
import os
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from recommendations.models import Interaction, ModelVersion, UserRecommendations
from recommendations.training.algorithms import ALGORITHMS
from tests.recommendations.training.pipeline_support import seed_log

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_lists(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "TOP_N": 5, "RELATED_N": 3}


def run(*args) -> str:
    return run_both(*args)[0]


def last_line(out: str) -> str:
    return out.strip().splitlines()[-1]


def run_both(*args) -> tuple[str, str]:
    """The command's stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_train_sync_prints_candidates_and_promotes():
    seed_log()
    out, err = run_both(
        "train_recommender", "--sync", "--algorithm", "popularity", "--algorithm", "cooccurrence"
    )

    assert "popularity" in out and "cooccurrence" in out and "ndcg@10" in out
    active = ModelVersion.objects.get(status="active")
    assert active.algorithm == "cooccurrence"
    assert "<- this run's best" in out
    assert last_line(out) == f"cooccurrence #{active.pk} is active (first version)"
    # Stage progress on stderr as plain lines (no terminal here), one stage after another.
    assert " done in " not in out
    stages = [line.split(":")[0] for line in err.splitlines() if " done in " in line]
    assert stages == [
        "extract",
        "tune, train and evaluate",
        "refit winner (cooccurrence)",
        "precompute",
        "finished (active)",
    ]
    assert "train and evaluate: 2/2 (100%) done in" in err
    assert active.progress["stage"] == "finished"


def test_train_unknown_algorithm_lists_choices():
    with pytest.raises(CommandError, match="choose from .*popularity"):
        run("train_recommender", "--sync", "--algorithm", "magic")
    assert not ModelVersion.objects.exists()


def test_train_on_empty_log_reports_skip():
    out = run("train_recommender", "--sync", "--algorithm", "popularity")
    assert last_line(out).startswith(
        "no version is active (the shop shows popular products): Not enough events: 0 shopper(s)"
    )
    assert ModelVersion.objects.get().status == "skipped"


def train(*names: str, force: bool = False) -> str:
    """train_recommender --sync for these algorithms; its stdout."""
    args = [a for name in names for a in ("--algorithm", name)]
    return run("train_recommender", "--sync", *args, *(["--force"] if force else []))


def test_train_says_when_the_active_version_is_kept():
    seed_log()
    train("cooccurrence")
    active = ModelVersion.objects.get(status="active")

    out = train("popularity")

    loser = ModelVersion.objects.get(algorithm="popularity")
    assert re.fullmatch(
        rf"kept #{active.pk} \(cooccurrence\): the winner #{loser.pk} \(popularity\) was not "
        rf"better with 95% confidence \(-0\.\d{{3}} NDCG@10 \[95% lower bound -0\.\d{{3}}\]\)",
        last_line(out),
    )
    assert "Nothing promoted" not in out and "Promoted" not in out


def test_train_says_what_a_promotion_gained_over_the_active_version():
    seed_log()
    train("popularity")
    before = ModelVersion.objects.get(status="active")

    out = train("cooccurrence")

    after = ModelVersion.objects.get(status="active")
    vs = after.metrics["vs_active"]
    assert vs["ci_low"] > 0
    assert last_line(out) == (
        f"promoted #{after.pk} (cooccurrence) over #{before.pk} (popularity): "
        f"{vs['diff']:+.3f} NDCG@10 [95% lower bound {vs['ci_low']:+.3f}]"
    )


def test_train_says_a_refresh_and_a_forced_promotion_for_what_they_are():
    seed_log()
    train("cooccurrence")
    first = ModelVersion.objects.get(status="active")

    refreshed = train("cooccurrence")
    second = ModelVersion.objects.get(status="active")
    forced = train("popularity", force=True)
    third = ModelVersion.objects.get(status="active")

    assert last_line(refreshed) == (
        f"promoted #{second.pk} (cooccurrence) over #{first.pk} (cooccurrence): "
        "the same configuration, refitted on fresher data"
    )
    assert last_line(forced) == (
        f"promoted #{third.pk} (popularity) over #{second.pk} (cooccurrence): "
        "forced (--force), not compared"
    )


def test_train_says_which_version_still_serves_when_the_winner_fails(monkeypatch):
    monkeypatch.setitem(
        ALGORITHMS,
        "broken_refit",
        "tests.recommendations.training.test_pipeline_outcomes:BrokenRefit",
    )
    seed_log()
    train("cooccurrence")
    active = ModelVersion.objects.get(status="active")

    out = train("broken_refit", force=True)

    failed = ModelVersion.objects.get(algorithm="broken_refit")
    assert last_line(out) == (
        f"kept #{active.pk} (cooccurrence): the winner #{failed.pk} (broken_refit) failed: "
        "Refit on the full log failed: RuntimeError('cannot refit')"
    )


def test_train_logs_no_metric_dictionaries_unless_asked(caplog):
    """Metric dicts are DEBUG lines, shown at -v 3; the summary table is the output."""
    seed_log()
    tf_level = os.environ.get("TF_CPP_MIN_LOG_LEVEL")

    train("popularity")
    assert not [r for r in caplog.records if r.name.startswith("recommendations.training")]
    assert not [r for r in caplog.records if r.name == "recommendations.progress"]

    run("train_recommender", "--sync", "--algorithm", "popularity", "--verbosity", "3")
    dicts = [r for r in caplog.records if r.name == "recommendations.training.evaluation"]
    assert dicts and all(r.levelno == logging.DEBUG for r in dicts)
    assert "'ndcg@10': " in dicts[0].getMessage()
    # The command put the loggers and TensorFlow's log level back as they were.
    assert logging.getLogger("recommendations.training").level == logging.NOTSET
    assert os.environ.get("TF_CPP_MIN_LOG_LEVEL") == tf_level


def test_evaluate_json_side_by_side_without_registry_writes():
    seed_log()
    out = run(
        "evaluate_recommenders",
        "--json",
        "--algorithm",
        "popularity",
        "--algorithm",
        "cooccurrence",
    )

    report = json.loads(out)
    assert report["protocol"] == "leave-last-out" and report["k"] == 10
    algos = report["algorithms"]
    assert set(algos) == {"popularity", "cooccurrence"}
    assert algos["cooccurrence"]["metrics"]["ndcg@10"] > algos["popularity"]["metrics"]["ndcg@10"]
    assert not ModelVersion.objects.exists()
    # Counts are not metrics: the tested shoppers are an integer of the split.
    assert "users" not in algos["popularity"]["metrics"]
    split = report["split"]
    assert split["protocol"] == "leave-last-out" and split["parameters"] == "defaults"
    assert split["shoppers_tested"] == 30 and isinstance(split["shoppers_tested"], int)
    assert "default parameters" in report["differs_from_pipeline"]


def test_evaluate_table_says_its_split_and_why_it_differs_from_the_pipeline():
    seed_log()
    out = run("evaluate_recommenders", "--algorithm", "popularity")

    header, why, columns, row = out.strip().splitlines()
    assert header.startswith("leave-last-out, k=10: 30 shoppers, 18 products, ")
    assert header.endswith(
        "each shopper's last interaction held out, shoppers with at least 3 distinct "
        "products; 30 shoppers tested"
    )
    assert why.startswith("Differs from the pipeline's figures (train_recommender, admin): ")
    assert "default parameters" in why and "the log as it is now" in why
    assert "users" not in columns.split() and "ndcg@10" in columns.split()
    assert not re.search(r"\b30\.0000\b", row)  # no count shown as a metric


def test_evaluate_table_and_time_cut():
    seed_log()
    out = run(
        "evaluate_recommenders", "--protocol", "time-cut", "--k", "5", "--algorithm", "popularity"
    )
    assert "time-cut, k=5" in out and "ndcg@5" in out
    assert "the newest 20% of events held out" in out and "a time-cut split" in out


def test_evaluate_empty_log_is_a_clear_error():
    with pytest.raises(CommandError, match="Not enough events"):
        run("evaluate_recommenders", "--algorithm", "popularity")


def test_export_csv_of_active_version(tmp_path):
    groups = seed_log()["groups"]
    for product in groups[0][:3]:  # a guest, known by anonymous id only
        Interaction.objects.create(
            anonymous_id="f" * 32, product=product, kind="view", created=timezone.now()
        )
    run("train_recommender", "--sync", "--algorithm", "cooccurrence")

    rows = list(csv.reader(io.StringIO(run("export_recommendations", "--limit", "2"))))
    assert rows[0] == ["user", "rank", "sku", "score", "reason"]
    assert len(rows) == 1 + 2 * 5
    usernames = set(get_user_model().objects.values_list("username", flat=True))
    assert rows[1][0] in usernames | {"f" * 32}
    assert rows[1][1] == "1" and rows[1][2].startswith("SKU-")

    target = tmp_path / "recs.csv"
    run("export_recommendations", "--output", str(target))
    with open(target, newline="") as fh:
        written = list(csv.DictReader(fh))
    assert len(written) == UserRecommendations.objects.count() * 5
    assert all(r["reason"] for r in written) and all(r["sku"] for r in written)
    assert any(r["reason"].startswith("Because you") for r in written)
    # Shoppers are named as they signed up or were imported: username or guest id.
    assert {r["user"] for r in written} == usernames | {"f" * 32}


def test_export_without_active_version_fails():
    with pytest.raises(CommandError, match="No active model version"):
        run("export_recommendations")
