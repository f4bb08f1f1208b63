"""The model-version admin in a real (headless Chromium) browser: it fits a laptop screen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from selenium.webdriver.common.by import By

from recommendations.models import ModelVersion
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
Status = ModelVersion.Status
ALGORITHMS = ("two_tower", "cooccurrence", "sasrec", "item_knn", "popularity", "ease", "content")
TIMINGS = {"extract": 12.3, "split": 3.2, "fit": 1234.5, "evaluate": 98.7, "precompute": 2802.4}
STATUSES = (Status.RETIRED, Status.CHALLENGER, Status.PRECOMPUTING, Status.SKIPPED, Status.FAILED)


def realistic_versions(n: int = 30) -> list[ModelVersion]:
    """``n`` versions as the pipeline writes them: every metric, every stage timed."""
    now = timezone.now()
    versions = []
    for i in range(n):
        metrics = {
            f"{name}@10": 0.01 * (i % 17) + 0.123456
            for name in ("hit_rate", "recall", "ndcg", "map", "coverage", "diversity", "novelty")
        }
        metrics.update(users=12_345, fit_seconds=123.456, score_seconds=12.3456)
        metrics["vs_active"] = {"promoted": False, "active": 3, "diff": -0.0123, "shoppers": 5000}
        versions.append(
            ModelVersion.objects.create(
                pk=10_000 + i,  # a year of nightly runs
                algorithm=ALGORITHMS[i % len(ALGORITHMS)],
                status=Status.ACTIVE if i == n - 1 else STATUSES[i % len(STATUSES)],
                n_events=1_234_567 + i,
                n_users=123_456,
                n_items=23_456,
                metrics=metrics,
                timings=TIMINGS,
                parameters={"factors": 64, "epochs": 20, "learning_rate": 0.05},
                notes="Skipped: it did not beat the active version on ndcg@10. " * 3,
                data_start=now - timedelta(days=90),
                data_end=now - timedelta(hours=i),
            )
        )
    return versions


def log_in(browser, live_server, client) -> None:
    """Give the browser a staff session made by the test client."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    browser.get(live_server.url + "/admin/login/")  # a page on the domain, to set cookies
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    browser.add_cookie({"name": cookie.key, "value": cookie.value, "path": "/"})


def test_version_list_fits_a_1280_pixel_screen(live_server, browser, client, tmp_path):
    """Thirty runs with every metric and stage: no column is cut off, nothing scrolls sideways."""
    realistic_versions()
    browser.set_window_size(1280, 800)
    log_in(browser, live_server, client)
    browser.get(live_server.url + reverse("admin:recommendations_modelversion_changelist"))
    browser.save_screenshot(str(tmp_path / "changelist.png"))
    widths = browser.execute_script(
        "const t = document.querySelector('#result_list');"
        "return {table: t.scrollWidth, box: t.parentElement.clientWidth,"
        " right: t.getBoundingClientRect().right,"
        " page: document.documentElement.scrollWidth,"
        " view: document.documentElement.clientWidth};"
    )
    assert widths["table"] <= widths["box"], widths  # .results would scroll sideways
    assert widths["right"] <= widths["view"] and widths["page"] <= widths["view"], widths
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert len(rows) == 30
    metric = rows[0].find_element(By.CSS_SELECTOR, "td.field-primary_metric_value span")
    assert "hit_rate@10: " in metric.get_attribute("title")  # every metric on hover
    assert rows[0].find_element(By.CSS_SELECTOR, "td.field-duration").text == "1h 09m"
