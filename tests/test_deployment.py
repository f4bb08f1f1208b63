"""What can be checked of docker-compose.yml and the Dockerfile without a Docker engine:
the services exist and agree with each other, and the settings accept their environment."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("web", "worker", "beat")


def test_compose_has_the_whole_stack():
    assert set(SERVICES) >= {"postgres", "redis", "web", "worker", "beat"}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_share_one_image_and_environment(name):
    service = SERVICES[name]
    assert service["build"] == "."
    assert service["image"] == SERVICES["web"]["image"]
    assert service["environment"] == SERVICES["web"]["environment"]


def test_dependencies_and_volumes_are_declared():
    for name, service in SERVICES.items():
        for dep in service.get("depends_on", {}):
            assert dep in SERVICES, f"{name} depends on unknown service {dep}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in COMPOSE["volumes"], f"{name} uses undeclared volume {source}"


def test_urls_point_at_the_compose_services():
    env = SERVICES["web"]["environment"]
    db = urlparse(env["DATABASE_URL"])
    pg = SERVICES["postgres"]["environment"]
    assert db.hostname == "postgres" and db.port == 5432
    assert (db.username, db.password, db.path.lstrip("/")) == (
        pg["POSTGRES_USER"],
        pg["POSTGRES_PASSWORD"],
        pg["POSTGRES_DB"],
    )
    for key in ("CELERY_BROKER_URL", "CACHE_URL"):
        assert urlparse(env[key]).hostname == "redis"


def test_commands_name_real_entry_points():
    assert "config.wsgi" in SERVICES["web"]["command"]
    assert SERVICES["worker"]["command"].startswith("celery -A config worker")
    assert SERVICES["beat"]["command"].startswith("celery -A config beat")
    for module in ("config/wsgi.py", "config/celery.py", "manage.py"):
        assert (ROOT / module).is_file()


def test_settings_accept_the_compose_environment():
    """Load Django settings in a subprocess with the web service's environment."""
    env = {k: str(v) for k, v in SERVICES["web"]["environment"].items()}
    env["SECRET_KEY"] = "compose-test"
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.DATABASES['default']['ENGINE'], s.DATABASES['default']['HOST'], "
        "s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER, s.CACHES['default']['BACKEND'], "
        "str(s.MODEL_DIR), s.DEBUG]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    engine, host, broker, eager, cache, model_dir, debug = json.loads(out.stdout)
    assert engine == "django.db.backends.postgresql" and host == "postgres"
    assert broker == "redis://redis:6379/0" and eager is False
    assert "redis" in cache.lower()
    assert model_dir == "/var/lib/shop/models" and debug is False


def test_dockerfile_matches_the_project():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", dockerfile, re.M)
    for source in re.findall(r"^COPY (.+) \./?$", dockerfile, re.M):
        for name in source.split():
            assert name == "." or (ROOT / name).exists(), f"Dockerfile copies missing {name}"
    assert "collectstatic" in dockerfile
    assert 'requires-python = ">=3.11,<3.12"' in (ROOT / "pyproject.toml").read_text()
