"""Settings for the SMS platform, read from the environment.

With nothing set, the embedded default runs: an SQLite file, Celery tasks executed
in process and the local gateway, so `make run` works on a fresh machine. Every
variable is read by one of the small functions below, which fail loudly and name the
variable when its value cannot be used.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

# The placeholder key is public: a system check (smsplatform.checks) refuses to start
# with it when DEBUG is off.
DEFAULT_SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use true/false, 1/0, yes/no.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r} must be at least {minimum}.")
    return number


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r} must be at least {minimum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_rate(name: str, default: str) -> str:
    """A rate in DRF's form: "600/min" (s, min, hour or day)."""
    value = env_str(name, default).strip()
    count, _slash, period = value.partition("/")
    if not count.isdigit() or int(count) < 1 or period not in {"s", "sec", "min", "hour", "day"}:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate: use <count>/<s|min|hour|day>, e.g. 600/min."
        )
    return value


def env_ratelimit(name: str, default: str) -> str:
    """A rate in django-ratelimit's form: "10/10m" (<count>/<n><s|m|h|d>)."""
    value = env_str(name, default).strip()
    if not re.fullmatch(r"[1-9]\d*/\d*[smhd]", value):
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate: use <count>/<period>, e.g. 10/10m or 30/h."
        )
    return value


# An empty SECRET_KEY counts as unset, so the start-up check names the problem.
SECRET_KEY = env_str("SECRET_KEY", "") or DEFAULT_SECRET_KEY
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_ratelimit",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "smsplatform",
    "accounts",
    "campaigns",
    "blacklist",
    "callbacks",
]

MIDDLEWARE = [
    "smsplatform.middleware.RequestSizeLimit",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "smsplatform.urls"
WSGI_APPLICATION = "smsplatform.wsgi.application"
ASGI_APPLICATION = "smsplatform.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.current_account",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# DATABASE_URL (postgres://user:pass@host:5432/name); the embedded default is an SQLite
# file under var/ so that a newcomer needs no server.
VAR_DIR = Path(env_str("SMS_VAR_DIR", str(BASE_DIR / "var")))
_database_url = env_str("DATABASE_URL", "")
if _database_url:
    try:
        # Connections are kept a minute, and checked before each request reuses one: after
        # a PostgreSQL restart the first request on a kept connection would be a 500.
        DATABASES = {
            "default": dj_database_url.parse(
                _database_url, conn_max_age=60, conn_health_checks=True
            )
        }
    except ValueError as error:
        raise ImproperlyConfigured(f"DATABASE_URL cannot be read: {error}") from None
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # SQLite serialises writers; wait for the lock instead of failing at once.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- Languages ------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Paris"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "no-reply@localhost")

# --- Cache (rate limits) -----------------------------------------------------------------
# Rate limits must be shared by every web process: Redis when one is configured
# (CACHE_URL, else REDIS_URL, else a redis:// Celery broker); the embedded default's
# single process keeps them in memory.
_broker = env_str("CELERY_BROKER_URL", "")
_cache_url = env_str(
    "CACHE_URL", env_str("REDIS_URL", _broker if _broker.startswith("redis") else "")
)
if _cache_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
            "KEY_PREFIX": "smsplatform",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # django-ratelimit refuses an in-memory cache, which is per process: that is the point
    # of the embedded default (one process).
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]
# Behind a proxy, the header holding the client's address (e.g. HTTP_X_REAL_IP).
RATELIMIT_IP_META_KEY = env_str("RATELIMIT_IP_META_KEY", "REMOTE_ADDR")
# The public unsubscribe page: submissions per client address, and per number.
SMS_UNSUBSCRIBE_RATE_IP = env_str("SMS_UNSUBSCRIBE_RATE_IP", "20/h")
SMS_UNSUBSCRIBE_RATE_NUMBER = env_str("SMS_UNSUBSCRIBE_RATE_NUMBER", "3/d")
# The login page: attempts per client address, and per username (every attempt counts,
# a successful one too, so that the count holds under concurrent requests).
SMS_LOGIN_RATE_IP = env_ratelimit("SMS_LOGIN_RATE_IP", "30/10m")
SMS_LOGIN_RATE_USERNAME = env_ratelimit("SMS_LOGIN_RATE_USERNAME", "10/10m")
# The password-reset form: requests per client address, and per email address (each
# request may send an email: no mailbox is flooded, no address is probed at speed).
SMS_PASSWORD_RESET_RATE_IP = env_ratelimit("SMS_PASSWORD_RESET_RATE_IP", "10/h")
SMS_PASSWORD_RESET_RATE_EMAIL = env_ratelimit("SMS_PASSWORD_RESET_RATE_EMAIL", "3/h")

# --- Celery ---------------------------------------------------------------------------
# With no broker configured, tasks run in process (the embedded default).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", env_str("REDIS_URL", ""))
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
# Embedded default: background work runs in a thread of the web process (tests: inline).
SMS_TASKS_IN_THREAD = env_bool("SMS_TASKS_IN_THREAD", True)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# At-least-once delivery: a task is acknowledged only after it ran, and a task whose
# worker died (kill -9, OOM) goes back to the queue. Idempotency therefore lives in the
# services (conditional updates on the rows), never in the broker.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis re-delivers an unacknowledged task after this many seconds. It must exceed the
# longest task; tasks are short batches, and schedules use beat ticks rather than
# far-future ETAs, so one hour is ample and a lost task comes back within the hour.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)
}
CELERY_TASK_DEFAULT_QUEUE = "sms"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# The tick starts scheduled campaigns, restarts stalled ones (a crashed worker's claims
# are released after SMS_CLAIM_TIMEOUT) and wakes campaigns waiting for sending hours.
SMS_TICK_SECONDS = env_float("SMS_TICK_SECONDS", 10.0, minimum=1.0)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "campaigns-tick": {"task": "campaigns.tick", "schedule": SMS_TICK_SECONDS},
}
CELERY_TIMEZONE = TIME_ZONE

# --- The SMS platform -----------------------------------------------------------------
# The platform's shared 5-digit shortcode for French destinations: "STOP <shortcode>".
SMS_SHORTCODE = env_str("SMS_SHORTCODE", "36034")
if not (SMS_SHORTCODE.isascii() and SMS_SHORTCODE.isdigit() and 4 <= len(SMS_SHORTCODE) <= 6):
    raise ImproperlyConfigured(f"SMS_SHORTCODE={SMS_SHORTCODE!r} must be 4 to 6 digits.")
# The short host of the public unsubscribe page, printed in international mentions as
# "<host>/<account code>". Every character is paid for in every international message,
# so the default fits smsmode's 9 characters: a 5-character host, "/", a 3-character code.
SMS_UNSUBSCRIBE_HOST = env_str("SMS_UNSUBSCRIBE_HOST", "ns.fr")
SMS_UNSUBSCRIBE_CODE_LENGTH = 3
# Which gateway sends messages: "local" records them (embedded default), "kannel" sends
# through Kannel's smsbox.
SMS_GATEWAY = env_str("SMS_GATEWAY", "local")
if SMS_GATEWAY not in {"local", "kannel"}:
    raise ImproperlyConfigured(f"SMS_GATEWAY={SMS_GATEWAY!r} must be 'local' or 'kannel'.")
KANNEL_SENDSMS_URL = env_str("KANNEL_SENDSMS_URL", "http://127.0.0.1:13013/cgi-bin/sendsms")
KANNEL_USERNAME = env_str("KANNEL_USERNAME", "")
KANNEL_PASSWORD = env_str("KANNEL_PASSWORD", "")
# Kannel calls the delivery-report webhook with this secret in the URL; anything else
# is refused. Required (check smsplatform.E002) when SMS_GATEWAY=kannel and DEBUG is off.
KANNEL_REPORT_SECRET = env_str("KANNEL_REPORT_SECRET", "")
KANNEL_MAX_PER_SECOND = env_float("KANNEL_MAX_PER_SECOND", 0.0)  # per worker process, 0: none
KANNEL_CONNECTIONS = env_int("KANNEL_CONNECTIONS", 16, minimum=1)
# Which delivery reports to ask for: 31 is all of them; 0 asks for none (benchmarks).
KANNEL_DLR_MASK = env_int("KANNEL_DLR_MASK", 31, minimum=0)
# How the gateway reaches this platform (delivery reports): scheme, host and port.
# A STOP goes to the account whose marketing message last reached the number within this.
SMS_ATTRIBUTION_DAYS = env_int("SMS_ATTRIBUTION_DAYS", 365, minimum=1)
# The inbound webhook commits the replies of concurrent requests of a process together
# (blacklist/intake.py; PostgreSQL only); a reply not committed within
# SMS_INBOUND_TIMEOUT seconds is answered 503, and the carrier sends it again.
SMS_INBOUND_GROUP_COMMIT = env_bool("SMS_INBOUND_GROUP_COMMIT", True)
SMS_INBOUND_TIMEOUT = env_float("SMS_INBOUND_TIMEOUT", 25.0, minimum=1.0)
# The confirmation SMS a STOP triggers ({name}: the account's name); no STOP mention.
SMS_STOP_CONFIRMATION_FR = env_str(
    "SMS_STOP_CONFIRMATION_FR", "Vous ne recevrez plus de SMS de {name}. Desinscription confirmee."
)
SMS_STOP_CONFIRMATION_EN = env_str(
    "SMS_STOP_CONFIRMATION_EN", "You will no longer receive SMS from {name}. Unsubscribed."
)
SMS_PUBLIC_URL = env_str("SMS_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# The local gateway: its rate limit, and its simulated delivery reports.
SMS_LOCAL_MAX_PER_SECOND = env_float("SMS_LOCAL_MAX_PER_SECOND", 0.0)
SMS_LOCAL_REPORTS = env_bool("SMS_LOCAL_REPORTS", True)
SMS_LOCAL_REPORT_DELAY = env_float("SMS_LOCAL_REPORT_DELAY", 2.0)
# Dispatch: messages per claim, dispatch tasks per campaign, how long one task works
# before handing over to a fresh one, and when a claim is considered abandoned.
SMS_DISPATCH_BATCH = env_int("SMS_DISPATCH_BATCH", 1000, minimum=1)
SMS_DISPATCH_PARALLEL = env_int("SMS_DISPATCH_PARALLEL", 2, minimum=1)
SMS_DISPATCH_TASK_SECONDS = env_float("SMS_DISPATCH_TASK_SECONDS", 30.0, minimum=1.0)
# Messages marked submitted (committed) before each gateway call: what a worker killed
# mid-call can leave `unknown` at most, and how long a STOP may wait for a chunk. Smaller
# costs throughput (measured with Kannel, 64 connections: 1,000 → 2,516 msg/s, 500 →
# 2,404, 200 → 1,801; the whole claim in one call, as before, 2,763).
SMS_DISPATCH_SUBMIT_CHUNK = env_int("SMS_DISPATCH_SUBMIT_CHUNK", 500, minimum=1)
# Claims of one message whose batch crashed (or whose worker died) before it is parked.
SMS_DISPATCH_MAX_ATTEMPTS = env_int("SMS_DISPATCH_MAX_ATTEMPTS", 3, minimum=1)
# A claim older than this is abandoned (its chunks renew it as they go out). Longer than
# a batch can take; short enough that a dead worker's messages wait minutes, not hours.
SMS_CLAIM_TIMEOUT = env_int("SMS_CLAIM_TIMEOUT", 300, minimum=5)
# When a Marketing account's messages may reach French numbers (Europe/Paris time),
# never on Sundays and French public holidays. Sources differ on the evening limit.
SMS_FRENCH_SENDING_HOURS = env_str("SMS_FRENCH_SENDING_HOURS", "Mon-Sat 08:00-20:00")
# Credits given to a new account's owner by seed_demo; real accounts buy theirs.
SMS_DEMO_CREDITS = env_int("SMS_DEMO_CREDITS", 1000, minimum=0)

# --- The REST API (/api/v1/) ---------------------------------------------------------------
# Calls per API key (a browser session: per user), in DRF's "<count>/<s|min|hour|day>".
SMS_API_RATE = env_rate("SMS_API_RATE", "600/min")
# Calls that send or launch, on top of the general rate.
SMS_API_SEND_RATE = env_rate("SMS_API_SEND_RATE", "120/min")
# How long an Idempotency-Key's first answer is kept for retries.
SMS_IDEMPOTENCY_HOURS = env_int("SMS_IDEMPOTENCY_HOURS", 24, minimum=1)

# Customer callbacks: retries after a failed call (30 s, 1 min, 2 min… doubling), and how
# often each process reads which accounts listen. A callback URL may not point at a
# private or loopback address unless this is on (the embedded default, tests).
SMS_CALLBACK_RETRIES = env_int("SMS_CALLBACK_RETRIES", 6, minimum=0)
SMS_CALLBACK_BACKOFF_SECONDS = env_int("SMS_CALLBACK_BACKOFF_SECONDS", 30, minimum=1)
SMS_CALLBACK_REFRESH_SECONDS = env_float("SMS_CALLBACK_REFRESH_SECONDS", 5.0, minimum=0.0)
SMS_CALLBACK_ALLOW_PRIVATE = env_bool("SMS_CALLBACK_ALLOW_PRIVATE", DEBUG)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "smsplatform.api.authentication.ApiKeyAuthentication",
        # The browser's session, with DRF's CSRF check on unsafe methods.
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["smsplatform.api.permissions.HasAccount"],
    "DEFAULT_THROTTLE_CLASSES": ["smsplatform.api.throttling.PerKeyThrottle"],
    "DEFAULT_PAGINATION_CLASS": "smsplatform.api.pagination.Pages",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "smsplatform.api.schema.SmsAutoSchema",
    "EXCEPTION_HANDLER": "smsplatform.api.exceptions.handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # No OPTIONS self-description (405): the OpenAPI schema is the description.
    "DEFAULT_METADATA_CLASS": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SMS platform API",
    "DESCRIPTION": (
        "Send SMS, run campaigns, manage contacts and the Blacklist, read credits. "
        "Authenticate with `Authorization: Bearer <key>` (keys are created on the "
        "customer area's API page). Errors share one shape: "
        '`{"error": {"code", "message", "details"}}`. French STOP SMS rules apply to '
        "every message: a Marketing account's messages always carry the STOP mention."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
    "SCHEMA_PATH_PREFIX": r"/api/v1",
}

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
