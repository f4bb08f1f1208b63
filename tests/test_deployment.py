"""What can be checked of docker-compose.yml and the Dockerfile without a Docker engine:
the services exist and agree with each other, and the settings accept their environment.
Also the production settings: no default key with DEBUG off, `check --deploy` clean,
every setting documented in .env.example."""

import json
import os
import re
import shutil
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
REAL_KEY = "k3y-" + "x7Qp9vLm2ZrT8bYc4NwH6dFj1sKa5UeGo0iRlXy3MtBn" * 2


def expand(value: object, env: dict[str, str]) -> str:
    """Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR:?error} (empty = unset)."""

    def substitute(match: re.Match) -> str:
        name, op, arg = match.groups()
        if env.get(name):
            return env[name]
        if op == ":?":
            raise KeyError(f"compose refuses to start without {name}: {arg}")
        return arg or ""

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", substitute, str(value))


def compose_env(**given: str) -> dict[str, str]:
    """The web service's environment as compose would pass it, given these variables."""
    return {k: expand(v, given) for k, v in SERVICES["web"]["environment"].items()}


def run_django(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run Python with Django set up in a fresh process with ``env`` added."""
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); " + code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
    )


def test_compose_has_the_whole_stack():
    assert set(SERVICES) >= {"postgres", "redis", "minio", "minio-setup", "web", "worker", "beat"}


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


def test_every_service_has_a_healthcheck():
    for name in ("postgres", "redis", "minio", *APP_SERVICES):
        check = SERVICES[name].get("healthcheck", {})
        assert check.get("test") and check["test"][0] in ("CMD", "CMD-SHELL"), name
    assert SERVICES["minio"]["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    assert "pg_isready" in " ".join(SERVICES["postgres"]["healthcheck"]["test"])
    assert "/healthz" in " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert "inspect ping" in " ".join(SERVICES["worker"]["healthcheck"]["test"])


def test_web_waits_for_a_healthy_database_and_the_others_for_web():
    assert SERVICES["web"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert SERVICES["web"]["depends_on"]["redis"] == {"condition": "service_healthy"}
    for name in ("worker", "beat"):  # web runs the migrations they need
        assert SERVICES[name]["depends_on"]["web"] == {"condition": "service_healthy"}


def named_volumes(service: dict) -> dict[str, str]:
    """Mount point -> named volume of a service."""
    pairs = (v.split(":")[:2] for v in service.get("volumes", []))
    return {target: source for source, target in pairs if not source.startswith((".", "/"))}


def test_database_data_and_model_artifacts_live_in_volumes():
    assert named_volumes(SERVICES["postgres"]).get("/var/lib/postgresql/data") in COMPOSE["volumes"]
    assert named_volumes(SERVICES["minio"]).get("/data") in COMPOSE["volumes"]
    assert "models" not in COMPOSE["volumes"]


def test_app_services_share_artifacts_through_the_object_store_not_a_volume():
    """Workers on any host (or --scale worker=3) reach the same bucket; none mounts one."""
    env = compose_env(SECRET_KEY=REAL_KEY)
    assert "MODEL_DIR" not in env
    assert urlparse(env["ARTIFACTS_S3_ENDPOINT_URL"]).hostname == "minio"
    minio = SERVICES["minio"]["environment"]
    assert env["ARTIFACTS_S3_ACCESS_KEY_ID"] == expand(minio["MINIO_ROOT_USER"], {})
    assert env["ARTIFACTS_S3_SECRET_ACCESS_KEY"] == expand(minio["MINIO_ROOT_PASSWORD"], {})
    setup = SERVICES["minio-setup"]
    assert expand(setup["environment"]["ARTIFACTS_S3_BUCKET"], {}) == env["ARTIFACTS_S3_BUCKET"]
    assert "mc mb --ignore-existing" in " ".join(setup["command"])
    assert setup["depends_on"]["minio"] == {"condition": "service_healthy"}
    for name in APP_SERVICES:
        service = SERVICES[name]
        assert not service.get("volumes"), f"{name} mounts {service.get('volumes')}"
        ready = {"condition": "service_completed_successfully"}
        assert service["depends_on"].get("minio-setup") == ready or name != "web", name
    worker = SERVICES["worker"]
    assert not {"container_name", "ports", "hostname"} & set(worker), "--scale needs neither"


def settings_read() -> set[str]:
    """Environment names config/settings.py reads (env("X"), env.bool("X"), ...)."""
    return set(
        re.findall(
            r'env(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', (ROOT / "config" / "settings.py").read_text()
        )
    )


def test_compose_sets_only_names_the_settings_read_and_every_required_one():
    env_example = (ROOT / ".env.example").read_text()
    required = re.search(r"production sets at least\s+([^.]+)\.", env_example.replace("\n# ", " "))
    required = set(re.findall(r"[A-Z][A-Z0-9_]+", required.group(1)))
    assert {"DEBUG", "SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"} <= required
    read = settings_read()
    for name in APP_SERVICES:
        names = set(SERVICES[name]["environment"])
        assert names <= read, f"{name} sets names the settings never read: {names - read}"
        assert required <= names, f"{name} lacks {required - names}"


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
    assert re.search(r"\bgunicorn config\.wsgi\b", SERVICES["web"]["command"])
    assert "manage.py migrate" in SERVICES["web"]["command"]
    assert SERVICES["worker"]["command"].startswith("celery -A config worker")
    assert SERVICES["beat"]["command"].startswith("celery -A config beat")
    for module in ("config/wsgi.py", "config/celery.py", "manage.py"):
        assert (ROOT / module).is_file()


def test_settings_accept_the_compose_environment():
    """Load Django settings in a subprocess with the web service's environment."""
    code = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps([s.DATABASES['default']['ENGINE'], s.DATABASES['default']['HOST'], "
        "s.CELERY_BROKER_URL, s.CELERY_TASK_ALWAYS_EAGER, s.CACHES['default']['BACKEND'], "
        "s.STORAGES['artifacts'], s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
        "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER]))"
    )
    out = run_django(code, compose_env(SECRET_KEY=REAL_KEY))
    assert out.returncode == 0, out.stderr
    engine, host, broker, eager, cache, artifacts, debug, *https = json.loads(
        out.stdout.splitlines()[-1]
    )
    assert engine == "django.db.backends.postgresql" and host == "postgres"
    assert broker == "redis://redis:6379/0" and eager is False
    assert cache == "django_redis.cache.RedisCache"  # reuses its clients (see settings)
    assert artifacts["BACKEND"] == "storages.backends.s3.S3Storage" and debug is False
    assert artifacts["OPTIONS"]["endpoint_url"] == "http://minio:9000"
    assert https == [True, True, True, 31536000, ["HTTP_X_FORWARDED_PROTO", "https"]]


def test_compose_has_no_fallback_secret_key():
    assert SERVICES["web"]["environment"]["DEBUG"] == "false"
    assert re.fullmatch(r"\$\{SECRET_KEY:\?.+\}", SERVICES["web"]["environment"]["SECRET_KEY"])
    with pytest.raises(KeyError, match="SECRET_KEY"):
        compose_env()


def test_https_settings_can_be_switched_off_for_plain_http():
    env = compose_env(
        SECRET_KEY=REAL_KEY,
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        SECURE_HSTS_SECONDS="0",
        SECURE_PROXY_SSL_HEADER="off",
    )
    code = (
        "from django.conf import settings as s; print([s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_PROXY_SSL_HEADER])"
    )
    out = run_django(code, env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "[False, False, False, 0, None]"


@pytest.mark.parametrize(
    "key",
    [
        None,
        "",
        "change-me-in-production",
        "dev-insecure-key-change-me-in-production-0123456789",
        # Weak, as Django's `check --deploy` (security.W009) judges: short or repetitive.
        " ",
        "abc",
        REAL_KEY[:49],
        "abcd" * 20,
        "django-insecure-" + REAL_KEY,
    ],
)
def test_debug_off_refuses_a_missing_default_or_weak_secret_key(key):
    env = {"DEBUG": "0"} | ({"SECRET_KEY": key} if key is not None else {})
    clean = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is missing or a known default" in out.stderr


def _check_deploy(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CACHE_URL", "REDIS_URL", "EMAIL_URL", "EMAIL_BACKEND")
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env={**clean, "DEBUG": "0", "SECRET_KEY": REAL_KEY, **env},
        capture_output=True,
        text=True,
    )


def test_check_deploy_reports_nothing_with_debug_off_and_a_real_key():
    # Checks do not connect to either.
    out = _check_deploy(CACHE_URL="redis://127.0.0.1:6379/1", EMAIL_URL="smtp://mail:25")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "System check identified no issues (0 silenced)." in out.stdout


def test_check_deploy_warns_that_local_memory_is_per_process():
    out = _check_deploy()
    assert out.returncode == 1, out.stdout + out.stderr
    assert "(recommendations.W001) CACHES['default'] is LocMemCache" in out.stderr


def test_env_example_documents_every_setting():
    """Every name config/settings.py reads is in .env.example, with a comment above it."""
    read = settings_read()
    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = {}
    for i, line in enumerate(lines):
        match = re.match(r"#? ?([A-Z][A-Z0-9_]*)=", line)
        if match:
            documented[match.group(1)] = lines[i - 1]
    assert {"SECRET_KEY", "DEBUG", "SECURE_PROXY_SSL_HEADER"} <= read
    assert read <= documented.keys(), sorted(read - documented.keys())
    for name, comment in documented.items():
        assert comment.startswith("# ") and not re.match(r"# ?[A-Z_]+=", comment), name


def test_dockerfile_image_runs_with_debug_off():
    assert re.search(r"^ENV DEBUG=0$", (ROOT / "Dockerfile").read_text(), re.M)


def test_dockerfile_matches_the_project():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11", dockerfile, re.M)
    for source in re.findall(r"^COPY (.+) \./?$", dockerfile, re.M):
        for name in source.split():
            assert name == "." or (ROOT / name).exists(), f"Dockerfile copies missing {name}"
    assert "collectstatic" in dockerfile
    low, end = python_range()
    image = re.search(r"^FROM python:3\.(\d+)", dockerfile, re.M).group(1)
    assert low <= int(image) < end


def python_range() -> tuple[int, int]:
    """(X, Y) of requires-python ">=3.X,<3.Y" in pyproject.toml."""
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'^requires-python = ">=3\.(\d+),<3\.(\d+)"$', text, re.M)
    assert match, "requires-python must read >=3.X,<3.Y (the Makefile parses it)"
    return int(match.group(1)), int(match.group(2))


def test_requires_python_covers_the_versions_every_pinned_dependency_supports():
    """Checked by hand with pip's resolver per version (--python-version, binary only):
    numpy 2.4, scipy 1.17 and keras 3.15 start at 3.11; tensorflow 2.21 stops at 3.13."""
    assert python_range() == (11, 14)


MAKE = shutil.which("make")


@pytest.fixture
def bare_path(tmp_path):
    """A PATH holding only the tools the Makefile's interpreter search uses."""
    for tool in ("sed", "seq"):
        (tmp_path / tool).symlink_to(shutil.which(tool))
    return tmp_path


def make_python(path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MAKE, "--no-print-directory", "python", *args],
        cwd=ROOT,
        env={"PATH": str(path), "HOME": os.environ.get("HOME", "/")},
        capture_output=True,
        text=True,
    )


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_makefile_names_the_versions_it_needs_when_none_is_found(bare_path):
    unsuitable = bare_path / "python3"  # like a pyenv shim of a version not installed
    unsuitable.write_text("#!/bin/sh\nexit 1\n")
    unsuitable.chmod(0o755)
    out = make_python(bare_path)
    assert out.returncode != 0
    assert "needs Python 3.11 to 3.13" in out.stderr
    assert "python3.13 python3.12 python3.11 python3" in out.stderr
    out = make_python(bare_path, f"PYTHON={unsuitable}")
    assert out.returncode != 0 and f"PYTHON={unsuitable}" in out.stderr


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_makefile_picks_a_suitable_interpreter(bare_path):
    (bare_path / f"python3.{sys.version_info[1]}").symlink_to(sys.executable)
    out = make_python(bare_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"Using {bare_path}/python3.{sys.version_info[1]} (3.")


def test_web_port_on_the_host_is_set_by_web_port():
    (published,) = SERVICES["web"]["ports"]
    assert expand(published, {}) == "8000:8000"
    assert expand(published, {"WEB_PORT": "8001"}) == "8001:8000"
    # The container side is where gunicorn listens and the healthcheck asks.
    inside = expand(published, {}).split(":")[1]
    assert f"--bind 0.0.0.0:{inside}" in SERVICES["web"]["command"]
    assert f"http://127.0.0.1:{inside}/healthz" in " ".join(SERVICES["web"]["healthcheck"]["test"])
    env_example = (ROOT / ".env.example").read_text()
    assert re.search(r"^# .*\n(# .*\n)*WEB_PORT=8000$", env_example, re.M)


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MAKE, "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True
    )


@pytest.fixture
def busy_port():
    """A port something else listens on."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
def test_make_demo_says_the_port_is_busy_and_which_to_use(busy_port):
    out = make("port-free", f"PORT={busy_port}")
    assert out.returncode != 0
    assert f"port {busy_port} is busy: run make demo PORT={busy_port + 1}" in out.stderr

    out = make("port-free", f"DEMO_ADDR=127.0.0.1:{busy_port}")
    assert f"run make demo DEMO_ADDR=127.0.0.1:{busy_port + 1}" in out.stderr
    assert make("port-free", f"PORT={busy_port + 1}").returncode == 0


@pytest.mark.skipif(MAKE is None, reason="make is not installed")
@pytest.mark.parametrize(
    ("given", "address"),
    [((), "127.0.0.1:8000"), (("PORT=8001",), "127.0.0.1:8001"), (("DEMO_ADDR=0:9000",), "0:9000")],
)
def test_make_demo_serves_on_port_and_checks_it_before_the_banner(given, address):
    lines = make("-n", "demo", *given).stdout.splitlines()  # -n: prints, runs nothing

    check = next(i for i, line in enumerate(lines) if "create_server" in line)
    banner = next(i for i, line in enumerate(lines) if "Shop: http://" in line)
    assert check < banner and f"'{address}'" in lines[check]
    assert f"http://{address}/" in lines[banner]
    assert lines[-1].endswith(f"runserver --noreload {address}")


def test_gunicorn_as_deployed_runs_threaded_workers_that_keep_connections_alive(tmp_path):
    """gunicorn reads gunicorn.conf.py from the project root (the image's WORKDIR), as
    the Dockerfile and compose start it: gthread workers, keep-alive."""
    import http.client
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    cmd = [str(gunicorn), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    with log.open("w") as out:
        server = subprocess.Popen(
            [*cmd, "--log-level", "info"], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/healthz")
                first = conn.getresponse()
                first.read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail(f"gunicorn did not answer: {log.read_text()}")
        assert first.status == 200 and first.getheader("Connection", "").lower() != "close"
        conn.request("GET", "/healthz")  # the same connection again
        second = conn.getresponse()
        assert second.status == 200 and second.read()
        conn.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "Using worker: gthread" in log.read_text()


def test_a_gunicorn_worker_freezes_its_heap_after_warming_up(monkeypatch):
    """Full garbage collections would walk the whole loaded app on every pass (a stall
    of tens of milliseconds per pass): the worker freezes what it holds once warm."""
    import gc
    import runpy

    import recommendations.serving

    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    frozen_at_warm_up = []
    monkeypatch.setattr(
        recommendations.serving,
        "warm_up",
        lambda seconds: frozen_at_warm_up.append(gc.get_freeze_count()),
    )
    gc.unfreeze()
    try:
        conf["post_worker_init"](worker=None)
        assert frozen_at_warm_up == [0]  # warmed first, then frozen
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
