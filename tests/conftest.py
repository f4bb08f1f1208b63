"""Suite-wide fixtures. Tests run on whatever DATABASE_URL names (PostgreSQL in CI,
SQLite otherwise); Celery tasks run eagerly except in tests marked ``broker``."""

import os
import shutil
from pathlib import Path

import pytest

from config.celery import app as celery_app
from tests.redis_server import redis_cache  # noqa: F401  (a real redis-server as the cache)
from tests.s3_server import s3_endpoint  # noqa: F401  (an S3-compatible store, moto)

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture(autouse=True)
def _eager_celery(request, settings):
    """Run tasks in-process unless the test talks to a real broker and worker."""
    broker = request.node.get_closest_marker("broker") is not None
    old = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    # Set either way: a broker test must not inherit eager mode from an earlier test
    # that left it on (its tasks would then run here, never reaching the worker).
    celery_app.conf.task_always_eager = not broker
    celery_app.conf.task_eager_propagates = not broker
    settings.CELERY_TASK_ALWAYS_EAGER = not broker
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = old


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Hashing real passwords is deliberately slow; tests don't need that."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _impressions_per_page(settings):
    """Tests run inside one transaction: impressions go in the request's own connection
    (tests of the batched writer in test_batching.py switch it back on)."""
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "IMPRESSIONS_FLUSH_MS": 0}


@pytest.fixture(autouse=True)
def _refresh_in_the_request(settings):
    """A background refresher's connection would not see the test's transaction (nor
    SQLite's in-memory database); test_serving_under_load.py tests the thread itself."""
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "REFRESH_IN_BACKGROUND": False}


@pytest.fixture(autouse=True)
def _model_dir(tmp_path, settings):
    """Model artifacts (and this host's cache of them) go to a per-test folder."""
    settings.MODEL_DIR = tmp_path / "models"
    settings.ARTIFACT_CACHE_DIR = tmp_path / "artifact-cache"


@pytest.fixture
def shared_datasets() -> Path:
    """The real datasets beside the repository (../shared/datasets)."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip("../shared/datasets is not beside the repository")
    return SHARED_DATASETS


@pytest.fixture
def chromium_paths() -> tuple[str, str]:
    """Paths of Debian's chromium and chromedriver, or skip."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        if os.environ.get("CI"):  # .ci/run installs them: a missing browser is a CI failure
            pytest.fail("chromium/chromedriver missing in CI")
        pytest.skip("Debian chromium and chromium-driver are not installed")
    return browser, driver


@pytest.fixture(autouse=True)
def _serving_local_cache():
    """Serving keeps a few seconds of per-process copies; no test sees another's."""
    from recommendations.serving.cache import clear_local

    clear_local()
    yield
    clear_local()


@pytest.fixture
def browser(chromium_paths, tmp_path):
    """Headless Chromium with a throwaway profile and no background network."""
    from selenium import webdriver  # only browser tests need selenium loaded
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium_paths
    options = Options()
    options.binary_location = binary
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
