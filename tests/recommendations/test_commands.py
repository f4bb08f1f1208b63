"""Management commands: train_recommender, evaluate_recommenders, export_recommendations."""

import csv
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from recommendations.models import Interaction, ModelVersion, UserRecommendations
from tests.recommendations.pipeline_support import seed_log

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def small_lists(settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "TOP_N": 5, "RELATED_N": 3}


def run(*args) -> str:
    return run_both(*args)[0]


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
    assert "<- winner" in out and "Promoted #" in out
    active = ModelVersion.objects.get(status="active")
    assert active.algorithm == "cooccurrence"
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
    assert "Nothing promoted" in out and "Not enough events" in out
    assert ModelVersion.objects.get().status == "skipped"


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


def test_evaluate_table_and_time_cut():
    seed_log()
    out = run(
        "evaluate_recommenders", "--protocol", "time-cut", "--k", "5", "--algorithm", "popularity"
    )
    assert "time-cut, k=5" in out and "ndcg@5" in out


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
