"""Django settings. Every value comes from the environment, with defaults that run
the whole product on one machine (SQLite file, local-memory cache, in-process tasks)."""

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; silently absent

SECRET_KEY = env("SECRET_KEY", default="dev-insecure-key-change-me-in-production-0123456789")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

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
    "shop",
    "recommendations",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "recommendations.middleware.ImpressionMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default=env("REDIS_URL", default="locmemcache://"))}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}

# REST API (recommendations.api): token auth for integrators, session auth (with CSRF)
# for the site's own scripts, JSON in and out, throttles whose rates come from here.
API_THROTTLE_RATES = {
    "anon": env("API_THROTTLE_ANON", default="120/min"),
    "user": env("API_THROTTLE_USER", default="1200/min"),
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["recommendations.api.auth.GuestWritesNeedCSRF"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
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
        '`{"detail": "..."}` or `{"field": ["message", ...]}`.'
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
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
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
}

# Recommendations
MODEL_DIR = Path(env("MODEL_DIR", default=str(BASE_DIR / "var" / "models")))
RECOMMENDATIONS = {
    "PRIMARY_METRIC": env("RECS_PRIMARY_METRIC", default="ndcg@10"),
    "TOP_N": env.int("RECS_TOP_N", default=50),
    "RELATED_N": env.int("RECS_RELATED_N", default=20),
    "PRECOMPUTE_CHUNK_SIZE": env.int("RECS_CHUNK_SIZE", default=5000),
    "EVAL_MAX_USERS": env.int("RECS_EVAL_MAX_USERS", default=20000),
    "HALF_LIFE_DAYS": env.float("RECS_HALF_LIFE_DAYS", default=30.0),
    # Serving (recommendations.serving and the widgets)
    "WIDGETS": env.bool("RECS_WIDGETS", default=True),  # off: a kill switch, no widget queries
    "WIDGET_SIZE": env.int("RECS_WIDGET_SIZE", default=8),
    "IMPRESSIONS": env.bool("RECS_IMPRESSIONS", default=True),  # log what widgets showed
    "DIVERSITY": env.float("RECS_DIVERSITY", default=0.3),  # MMR weight of novelty; 0 = off
    "SESSION_ITEMS": env.int("RECS_SESSION_ITEMS", default=10),  # recent products blended in
    "EXCLUDE_PURCHASED": env.bool("RECS_EXCLUDE_PURCHASED", default=True),
    # Category slugs whose products may be shown again after a purchase (consumables).
    "REPEAT_CATEGORIES": env.list("RECS_REPEAT_CATEGORIES", default=[]),
    "CACHE_SECONDS": env.int("RECS_CACHE_SECONDS", default=300),  # per-shopper candidates
    "TRENDING_DAYS": env.int("RECS_TRENDING_DAYS", default=7),
    "TRENDING_CACHE_SECONDS": env.int("RECS_TRENDING_CACHE_SECONDS", default=60),
    # A ?src=rec:<widget>:v<id> credits version <id> only after an impression this recent.
    "CLICK_WINDOW_HOURS": env.int("RECS_CLICK_WINDOW_HOURS", default=24),
    # The 15-minute refresh also re-reads events stored this long before its watermark.
    "REFRESH_GRACE_SECONDS": env.int("RECS_REFRESH_GRACE_SECONDS", default=120),
}
