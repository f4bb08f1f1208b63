"""Django settings. Every value comes from the environment, with defaults that run
the whole product on one machine (SQLite file, local-memory cache, in-process tasks).

DEBUG is on when unset, so `make demo` and `make test` work with nothing set; a
deployment sets DEBUG=0, and then it must also set a real SECRET_KEY (the process
refuses to start otherwise) and gets HTTPS-only settings unless it switches them off.
Every name read here is listed, with a comment, in .env.example.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.checks.security.base import (
    SECRET_KEY_INSECURE_PREFIX,
    SECRET_KEY_MIN_LENGTH,
    SECRET_KEY_MIN_UNIQUE_CHARACTERS,
)
from django.core.exceptions import ImproperlyConfigured

from config.caches import caches_from_url

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; silently absent

DEBUG = env.bool("DEBUG", default=True)  # unset: local development and tests

# Keys that have been public (in this repository): never acceptable with DEBUG off.
DEV_SECRET_KEY = "dev-insecure-key-change-me-in-production-0123456789"
KNOWN_DEFAULT_KEYS = {DEV_SECRET_KEY, "change-me-in-production", "change-me"}
SECRET_KEY = env("SECRET_KEY", default="") or (DEV_SECRET_KEY if DEBUG else "")


def _weak_key(key: str) -> bool:
    """Django's `check --deploy` rule (security.W009): short, repetitive or insecure-prefixed."""
    return (
        len(key) < SECRET_KEY_MIN_LENGTH
        or len(set(key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS
        or key.startswith(SECRET_KEY_INSECURE_PREFIX)
    )


if not DEBUG and (SECRET_KEY in KNOWN_DEFAULT_KEYS or _weak_key(SECRET_KEY)):
    raise ImproperlyConfigured(
        "SECRET_KEY is missing or a known default, or weak (under "
        f"{SECRET_KEY_MIN_LENGTH} characters or {SECRET_KEY_MIN_UNIQUE_CHARACTERS} distinct "
        "ones), while DEBUG is off. Set SECRET_KEY to a long random value, e.g. the output "
        'of: python -c "from django.core.management.utils import get_random_secret_key as '
        'k; print(k())"'
    )
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS: on by default when DEBUG is off; each can be switched off (e.g. =0) to try a
# production-like setup over plain HTTP.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# "HEADER,value" set by the TLS-terminating proxy (which must overwrite it); empty or
# "off" when requests reach Django directly.
_proxy_header = env(
    "SECURE_PROXY_SSL_HEADER", default="" if DEBUG else "HTTP_X_FORWARDED_PROTO,https"
)
if _proxy_header.strip().lower() in ("", "off", "0", "false", "none"):
    SECURE_PROXY_SSL_HEADER = None
else:
    SECURE_PROXY_SSL_HEADER = tuple(part.strip() for part in _proxy_header.split(","))
    if len(SECURE_PROXY_SSL_HEADER) != 2 or not all(SECURE_PROXY_SSL_HEADER):
        raise ImproperlyConfigured(
            f"SECURE_PROXY_SSL_HEADER must be 'HEADER,value' (or off), not {_proxy_header!r}"
        )

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_celery_results",
    "csp",
    "axes",
    "shop",
    "recommendations",
    "demo",
]

MIDDLEWARE = [
    # First: a load balancer's probe of /healthz skips host checks, redirects and logs.
    "config.health.HealthCheckMiddleware",
    "config.request_id.RequestIdMiddleware",  # first: every later log line carries the id
    "config.errors.DatabaseLockedMiddleware",  # a locked SQLite database: 503, not 500
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "shop.shoppers.ShopperCookieMiddleware",  # outside all that mint a guest id
    "recommendations.middleware.ImpressionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

# Content-Security-Policy on every HTML page (django-csp). The shop and the admin use
# no inline scripts or styles, so 'self' is enough; the *_SRC names take space- or
# comma-separated sources, for pages added later (e.g. API docs served from static
# files fit 'self'; a view can also relax its own policy with csp.decorators).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": env.list("CSP_SCRIPT_SRC", default=[SELF]),
        "style-src": env.list("CSP_STYLE_SRC", default=[SELF]),
        "img-src": env.list("CSP_IMG_SRC", default=[SELF, "data:"]),
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.context_processors.shop",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default under concurrent writes: WAL lets readers and one writer work
    # at once; IMMEDIATE takes the write lock when a transaction starts, so two
    # transactions that read and then write queue for it (up to the timeout) instead of
    # deadlocking on the upgrade (synchronous=NORMAL is safe in WAL mode: a power cut
    # may lose the last commits, never the file). A write still waiting answers 503
    # with Retry-After (config.errors), not a 500.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": env.float("SQLITE_TIMEOUT", default=10.0),
        **DATABASES["default"].get("OPTIONS", {}),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# redis:// selects django-redis (django-environ prefers it when installed): it keeps one
# client per connection pool, where Django's own Redis backend builds a client for every
# call (about half the time of a cache read here). A Redis outage degrades, never fails,
# a page: errors read as misses, short socket timeouts, throttles fail open with a
# warning (config/caches.py). Local memory (the default) is per process: see README.
CACHES = caches_from_url(env("CACHE_URL", default=env("REDIS_URL", default="locmemcache://")))
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True  # at most once a minute (LOGGING below)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes): after AXES_FAILURE_LIMIT failures from one IP, or
# for one username, that IP / username is refused for AXES_COOLOFF_MINUTES, on the
# shop's login and the admin's. One backend: the lockout check, then ModelBackend.
AUTHENTICATION_BACKENDS = ["shop.auth.ThrottledModelBackend"]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_MINUTES", default=15.0) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]  # either one locks
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False  # attempts and lockouts are rows in the admin; keep stdout for app logs
# Reverse proxies in front of the app that append to X-Forwarded-For (0: none, the
# client is REMOTE_ADDR). Login lockouts and API throttles count per this client
# address (config/client_ip.py); behind a proxy with 0, every client shares its address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"

LOGIN_URL = "shop:login"
LOGIN_REDIRECT_URL = "shop:home"
LOGOUT_REDIRECT_URL = "shop:home"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Production images run collectstatic and set the Manifest variant.
        "BACKEND": env(
            "STATICFILES_BACKEND", default="whitenoise.storage.CompressedStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True  # serve from app dirs too, so `collectstatic` is optional in dev

SESSION_ENGINE = "django.contrib.sessions.backends.db"

# Email (order confirmations and welcome emails, shop/emails.py), sent after the
# transaction commits, by the Celery worker when there is one. EMAIL_URL is
# django-environ's: smtp+tls://user:password@host:587 (STARTTLS), smtp+ssl://...:465,
# consolemail://. Unset: with DEBUG on the console backend (make demo prints them);
# with DEBUG off a backend that sends nothing and logs one line per email, so orders
# are still placed without a mail server, and `check` warns (shop.W001).
_mail = env.email_url("EMAIL_URL") if env("EMAIL_URL", default="") else {}
vars().update(_mail)  # EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER/PASSWORD, EMAIL_USE_TLS/SSL
# EMAIL_BACKEND (a dotted path, e.g. an email service's package) overrides the URL's.
EMAIL_BACKEND = (
    env("EMAIL_BACKEND", default="")
    or _mail.get("EMAIL_BACKEND")
    or ("django.core.mail.backends.console.EmailBackend" if DEBUG else "shop.emails.LogOnlyBackend")
)
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)  # seconds; SMTP has none otherwise
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Shopwise <shop@localhost>")

# One JSON object per line on stdout, each with the request id of the request that
# logged it (config/request_id.py), so a log collector can group a request's lines.
# With DEBUG on (make demo) plain text lines by default, for a person at a terminal.
LOG_FORMAT = env("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'text', not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "config.request_id.RequestIdFilter"},
        "once_a_minute": {"()": "config.caches.OncePerInterval", "seconds": 60},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "{asctime}{levelname}{name}{message}{request_id}",
            "style": "{",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "{asctime} {levelname} {name}: {message}", "style": "{"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",  # stdout stays for a command's own output
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # Django's own loggers go through the root handler too, not its plain-text defaults.
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # A cache outage fails every request: one line a minute says so.
        "django_redis.cache": {"filters": ["once_a_minute"]},
        "recommendations.api.throttling": {"filters": ["once_a_minute"]},
    },
}

# REST API (recommendations.api): token auth for integrators, session auth (with CSRF)
# for the site's own scripts, JSON in and out, throttles whose rates come from here.
API_THROTTLE_RATES = {
    "anon": env("API_THROTTLE_ANON", default="120/min"),
    "user": env("API_THROTTLE_USER", default="1200/min"),
}
REST_FRAMEWORK = {
    # Token first: a token request never reads the session (SessionAuthentication would).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "recommendations.api.auth.CachedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["recommendations.api.auth.GuestWritesNeedCSRF"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSON parser with a depth limit (deep nesting would exhaust the stack).
    "DEFAULT_PARSER_CLASSES": ["recommendations.api.parsers.JSONParser"],
    # Every error JSON, an unexpected exception too (500), a locked SQLite database 503.
    "EXCEPTION_HANDLER": "recommendations.api.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "recommendations.api.throttling.AnonThrottle",
        "recommendations.api.throttling.UserThrottle",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "recommendations.api.pagination.ProductPagination",
    "PAGE_SIZE": 20,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Shop recommendations API",
    "DESCRIPTION": (
        "Recommendations, related products, the catalogue and behaviour events for other "
        "front ends. Authenticate with `Authorization: Token <key>` (keys are issued in the "
        "admin or with `manage.py issue_api_token USERNAME`) or with the shop's session "
        "cookie plus the CSRF header for unsafe methods. Errors are JSON: "
        '`{"detail": "..."}` or `{"field": ["message", ...]}`, a server error too (500); '
        "a write the embedded SQLite database could not lock in time answers 503 with "
        "`Retry-After`. Events: `purchase` only from staff tokens, quantities capped per "
        "event and per shopper and day (see POST /api/events/)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the project's own static files (drf-spectacular-sidecar), no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: with no broker configured, tasks run in-process (eagerly) so a laptop,
# `make demo` and the default test run need no services.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default="django-db")
CELERY_RESULT_EXTENDED = True
CELERY_CACHE_BACKEND = "default"
CELERY_TASK_ACKS_LATE = True
# A task's result row is written when it starts (date_started, worker) as well as when it
# ends: tests and bench/task_graph.py read who ran what, and for how long.
CELERY_TASK_TRACK_STARTED = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Long tasks (docs/workers.md). Every task gets SoftTimeLimitExceeded after the soft
# limit and its process is killed at the hard one. With late acknowledgement a Redis
# broker hands a message that stays unacknowledged longer than visibility_timeout to
# another worker, so that must exceed the longest a task can stay reserved: one task
# waiting in the prefetch slot (up to the hard limit) plus its own run (the hard limit).
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int(
    "CELERY_TASK_SOFT_TIME_LIMIT", default=max(1, CELERY_TASK_TIME_LIMIT - 60)
)
CELERY_VISIBILITY_TIMEOUT = env.int(
    "CELERY_VISIBILITY_TIMEOUT", default=2 * CELERY_TASK_TIME_LIMIT + 300
)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
if not CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT < CELERY_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured(
        "Celery time limits must satisfy CELERY_TASK_SOFT_TIME_LIMIT < "
        "CELERY_TASK_TIME_LIMIT < CELERY_VISIBILITY_TIMEOUT (seconds); got "
        f"{CELERY_TASK_SOFT_TIME_LIMIT}, {CELERY_TASK_TIME_LIMIT}, {CELERY_VISIBILITY_TIMEOUT}"
    )
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep the JSON logging above in workers
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# /healthz checks the broker at most once per this many seconds per process.
HEALTHZ_BROKER_CACHE_SECONDS = env.float("HEALTHZ_BROKER_CACHE_SECONDS", default=10.0)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "nightly-full-retrain": {
        "task": "recommendations.tasks.run_pipeline",
        "schedule": crontab(hour=3, minute=0),
    },
    "refresh-recent-users": {
        "task": "recommendations.tasks.refresh_recent_users",
        "schedule": crontab(minute="*/15"),
    },
    "fail-stale-versions": {
        "task": "recommendations.tasks.fail_stale_versions",
        "schedule": crontab(minute=30),
    },
    "clear-expired-sessions": {
        "task": "shop.tasks.clear_expired_sessions",
        "schedule": crontab(hour=4, minute=30),
    },
}

# Recommendations
# Model artifacts (recommendations/registry/artifacts.py, docs/workers.md): the folder
# MODEL_DIR by default; with ARTIFACTS_S3_BUCKET set, an S3-compatible bucket shared by
# workers on several hosts (credentials unset: boto3's own chain, e.g. an instance role).
# Each process verifies what it reads by sha256 and keeps copies in ARTIFACT_CACHE_DIR.
MODEL_DIR = Path(env("MODEL_DIR", default=str(BASE_DIR / "var" / "models")))
ARTIFACT_CACHE_DIR = Path(
    env("ARTIFACT_CACHE_DIR", default=str(BASE_DIR / "var" / "artifact-cache"))
)
ARTIFACTS_S3_BUCKET = env("ARTIFACTS_S3_BUCKET", default="")
if ARTIFACTS_S3_BUCKET:
    STORAGES["artifacts"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": ARTIFACTS_S3_BUCKET,
            "location": env("ARTIFACTS_S3_PREFIX", default="models"),
            "endpoint_url": env("ARTIFACTS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env("ARTIFACTS_S3_REGION", default="") or None,
            "access_key": env("ARTIFACTS_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env("ARTIFACTS_S3_SECRET_ACCESS_KEY", default="") or None,
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": False,
        },
    }
else:
    STORAGES["artifacts"] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
RECOMMENDATIONS = {
    "PRIMARY_METRIC": env("RECS_PRIMARY_METRIC", default="ndcg@10"),
    "TOP_N": env.int("RECS_TOP_N", default=50),
    "RELATED_N": env.int("RECS_RELATED_N", default=20),
    "PRECOMPUTE_CHUNK_SIZE": env.int("RECS_CHUNK_SIZE", default=5000),
    # train_recommender --sync: threads scoring chunks while one writes (workers: 1 each).
    "PRECOMPUTE_THREADS": env.int("RECS_PRECOMPUTE_THREADS", default=2),
    # Precompute lists only for shoppers with events (and products with events or
    # created) this many days before the newest event; others are served live.
    "PRECOMPUTE_ACTIVE_DAYS": env.float("RECS_PRECOMPUTE_ACTIVE_DAYS", default=180.0),
    "EVAL_MAX_USERS": env.int("RECS_EVAL_MAX_USERS", default=20000),
    "HALF_LIFE_DAYS": env.float("RECS_HALF_LIFE_DAYS", default=30.0),
    # A version still training/precomputing after this long was abandoned by a dead process.
    # Also how long the pipeline's run lock lasts. At least 180 and twice the visibility
    # timeout: a task redelivered after a worker died must not find its run failed.
    "STALE_AFTER_MINUTES": env.int(
        "RECS_STALE_AFTER_MINUTES", default=max(180, -(-2 * CELERY_VISIBILITY_TIMEOUT // 60))
    ),
    # Promotion: a challenger must beat the active model by this much on the primary
    # metric when the paired bootstrap is not conclusive (0 = bootstrap only).
    "PROMOTION_MARGIN": env.float("RECS_PROMOTION_MARGIN", default=0.0),
    # Tuning time per candidate: this many default fit+evaluate durations, at least N s.
    "TUNING_BUDGET_FACTOR": env.float("RECS_TUNING_BUDGET_FACTOR", default=1.0),
    "TUNING_MIN_SECONDS": env.float("RECS_TUNING_MIN_SECONDS", default=10.0),
    # A candidate whose estimated fit and evaluation on this log (training/budget.py)
    # exceeds this many seconds is skipped with a note; the default keeps every candidate
    # at 4M events, 400k shoppers and 80k products.
    "CANDIDATE_BUDGET_SECONDS": env.float("RECS_CANDIDATE_BUDGET_SECONDS", default=1800.0),
    # Serving (recommendations.serving and the widgets)
    "WIDGETS": env.bool("RECS_WIDGETS", default=True),  # off: a kill switch, no widget queries
    "WIDGET_SIZE": env.int("RECS_WIDGET_SIZE", default=8),
    "IMPRESSIONS": env.bool("RECS_IMPRESSIONS", default=True),  # log what widgets showed
    # Impressions of many pages go in one insert by a background thread per process, at
    # most this often (a crash loses at most this window); 0 = one insert per page.
    "IMPRESSIONS_FLUSH_MS": env.int("RECS_IMPRESSIONS_FLUSH_MS", default=250),
    "DIVERSITY": env.float("RECS_DIVERSITY", default=0.05),  # MMR weight of novelty; 0 = off
    "SESSION_ITEMS": env.int("RECS_SESSION_ITEMS", default=10),  # recent products blended in
    "EXCLUDE_PURCHASED": env.bool("RECS_EXCLUDE_PURCHASED", default=True),
    # Category slugs bought again and again (consumables): their products may be shown
    # again after a purchase, and a purchase there demotes no substitutes. The demo's
    # bath-and-body is mostly consumables; coffee-and-tea holds grinders and machines.
    "REPEAT_CATEGORIES": env.list("RECS_REPEAT_CATEGORIES", default=["bath-and-body"]),
    # After a purchase, close neighbours of the product in its category (substitutes)
    # are demoted in for-you and trending for this many days; 0 = never.
    "PURCHASE_DEMOTE_DAYS": env.float("RECS_PURCHASE_DEMOTE_DAYS", default=14.0),
    "CACHE_SECONDS": env.int("RECS_CACHE_SECONDS", default=300),  # per-shopper candidates
    "TRENDING_DAYS": env.int("RECS_TRENDING_DAYS", default=7),
    "TRENDING_CACHE_SECONDS": env.int("RECS_TRENDING_CACHE_SECONDS", default=60),
    # Stale trending is recomputed by a thread of the process while requests keep the
    # previous list (off: by the request that finds it stale, as in the tests).
    "REFRESH_IN_BACKGROUND": env.bool("RECS_REFRESH_IN_BACKGROUND", default=True),
    # A ?src=rec:<widget>:v<id> credits version <id> only after an impression this recent.
    "CLICK_WINDOW_HOURS": env.int("RECS_CLICK_WINDOW_HOURS", default=24),
    # The 15-minute refresh also re-reads events stored this long before its watermark.
    "REFRESH_GRACE_SECONDS": env.int("RECS_REFRESH_GRACE_SECONDS", default=120),
    # An order line counts for recommendations when the shopper clicked its product in a
    # widget at most this many days before ordering (admin "Online results", reports).
    "ATTRIBUTION_DAYS": env.float("RECS_ATTRIBUTION_DAYS", default=7.0),
    # Share of shoppers (0-1, by a stable hash of user or guest id) an A/B test started
    # from the admin serves from its challenger; the rest see the active version.
    "AB_SHARE": env.float("RECS_AB_SHARE", default=0.5),
    # POST /api/events/: the largest quantity of one event, and the units of views, carts
    # and purchases one shopper or guest may send for themselves in 24 hours (staff
    # server-to-server batches are exempt), so one client cannot outweigh the crowd.
    "API_MAX_QUANTITY": env.int("RECS_API_MAX_QUANTITY", default=100),
    "API_DAILY_QUANTITY": env.int("RECS_API_DAILY_QUANTITY", default=1000),
}

if RECOMMENDATIONS["STALE_AFTER_MINUTES"] * 60 <= CELERY_VISIBILITY_TIMEOUT:
    raise ImproperlyConfigured(
        f"RECS_STALE_AFTER_MINUTES ({RECOMMENDATIONS['STALE_AFTER_MINUTES']}) must exceed "
        f"CELERY_VISIBILITY_TIMEOUT ({CELERY_VISIBILITY_TIMEOUT} s): a task redelivered "
        "after a worker died would find its run already failed as stale."
    )
