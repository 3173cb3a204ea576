"""Settings shared by every environment. Values come from the environment, with safe local defaults:
an embedded SQLite database and a file-based Celery broker under var/, so `make run` needs nothing.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("ROLLOUT_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

# --- Core -----------------------------------------------------------------------------------------
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY", default="insecure-local-only-key-change-me-0123456789abcdef"
)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("ROLLOUT_SITE_URL", default="http://localhost:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    # Listed so the API docs page serves Swagger UI from our static files, not a CDN (CSP).
    "ninja",
    "guardian",
    "axes",
    "accounts",
    "rollout",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A page whose database connection died mid-request answers 503 "try again", not 500.
    "core.middleware.LostConnectionMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Session, authentication and messages: Django's own, except that an API request with its
    # own token (/api/, Authorization: Bearer) goes past them (core/middleware.py says why).
    "core.middleware.PageSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "core.middleware.PageAuthenticationMiddleware",
    # Cache-Control: no-store, private on every response to a signed-in person (core/middleware.py).
    "core.middleware.NoStoreWhenSignedInMiddleware",
    # Every time on a page in the reader's zone (theirs, else the organisation's default).
    "accounts.middleware.ReaderTimeZoneMiddleware",
    # Fail closed: every page needs a sign-in unless its view is marked @login_not_required
    # (sign-in and password reset, /healthz, the iCalendar feed, the token-authenticated API).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "core.middleware.PageMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Axes goes last so it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "django.template.context_processors.csp",
                "accounts.context_processors.roles",
                "rollout.context_processors.enums",
                "rollout.context_processors.evidence",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/6.1/ref/databases/
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and scheduler share one SQLite file: WAL lets readers run beside a writer, the
    # timeout waits out a busy writer, and IMMEDIATE takes the write lock up front so two writers
    # never deadlock on a lock upgrade ("database is locked").
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
else:
    # Reconnecting per request costs ~15x throughput on PostgreSQL (see shared/STACK.md).
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts, authentication, permissions --------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # https://django-axes.readthedocs.io/ : axes must come first to refuse locked-out attempts.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, reading the organisation's default zone with the signed-in person.
    "accounts.backends.UserBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24 * 3  # an invitation link stays valid for three days

# Days after a review's due date before the ops leaders are reminded too
# (rollout.services.review_reminders).
ROLLOUT_REVIEW_GRACE_DAYS = env.int("ROLLOUT_REVIEW_GRACE_DAYS", default=7)

# Days after grading before a sampled AI output's excerpt is deleted by the nightly retention
# (rollout.services.retention); its grade and note are kept (issue 18 §2).
ROLLOUT_REVIEW_EXCERPT_DAYS = env.int("ROLLOUT_REVIEW_EXCERPT_DAYS", default=90)

# The client's IP address (core/client_ip.py), for sign-in lockout and the password-reset
# throttle: REMOTE_ADDR unless the app runs behind this many reverse proxies of our own, each
# appending to ROLLOUT_CLIENT_IP_HEADER (never trusted when the count is 0). See README.
ROLLOUT_TRUSTED_PROXY_COUNT = env.int("ROLLOUT_TRUSTED_PROXY_COUNT", default=0)
ROLLOUT_CLIENT_IP_HEADER = env.str("ROLLOUT_CLIENT_IP_HEADER", default="HTTP_X_FORWARDED_FOR")

# Password-reset requests per hour, per address and per client IP. Beyond either, the page reads
# the same as success but nothing is sent, and a warning is logged (accounts.services).
ROLLOUT_PASSWORD_RESETS_PER_HOUR_PER_ADDRESS = env.int(
    "ROLLOUT_PASSWORD_RESETS_PER_HOUR_PER_ADDRESS", default=5
)
ROLLOUT_PASSWORD_RESETS_PER_HOUR_PER_IP = env.int(
    "ROLLOUT_PASSWORD_RESETS_PER_HOUR_PER_IP", default=20
)

# Guardian: no anonymous user row; anonymous visitors never hold object permissions here.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# Axes: lock an account on one address after AXES_FAILURE_LIMIT failures, and an address on
# every account after ROLLOUT_SIGN_IN_FAILURES_PER_IP failures across accounts (someone trying a
# password on everyone). The per-address limit is far above the per-account one so that an office
# behind one NAT address does not lock itself out; accounts.lockout applies each limit to its
# own count. The address is core.client_ip's (REMOTE_ADDR unless ROLLOUT_TRUSTED_PROXY_COUNT).
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
ROLLOUT_SIGN_IN_FAILURES_PER_IP = env.int("ROLLOUT_SIGN_IN_FAILURES_PER_IP", default=50)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "accounts.lockout.PerParameterLimitHandler"
# django-ipware is not installed; this callable is the one source of the address for axes.
AXES_CLIENT_IP_CALLABLE = "core.client_ip.client_ip"
AXES_LOCKOUT_TEMPLATE = "accounts/lockout.html"
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"

# --- Sessions and security ------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = (
    False  # htmx reads no cookie (the token is in <body hx-headers>), but forms do
)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Built-in Content Security Policy (Django 6): only our own scripts and styles.
from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("ROLLOUT_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Email ---------------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/6.1/topics/email/ (MAILERS replaces EMAIL_BACKEND in Django 6.1)
# Embedded default: every mail is written as a file under var/mail/ and echoed to the console.
# Set EMAIL_URL (smtp://user:password@host:587, or smtp+tls://...) to send through a real server.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Rollout <rollout@localhost>")
if env.str("EMAIL_URL", default=""):
    _email = env.email_url("EMAIL_URL")
    MAILERS = {
        "default": {
            "BACKEND": "core.mail.SMTPBackend",  # Django's, with cheaper envelope addresses
            "OPTIONS": {
                "host": _email["EMAIL_HOST"],
                "port": _email["EMAIL_PORT"],
                "username": _email["EMAIL_HOST_USER"],
                "password": _email["EMAIL_HOST_PASSWORD"],
                "use_tls": bool(_email.get("EMAIL_USE_TLS")),
                "use_ssl": bool(_email.get("EMAIL_USE_SSL")),
                "timeout": 20,
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "accounts.mail.FileAndConsoleEmailBackend",
            "OPTIONS": {"file_path": str(VAR_DIR / "mail")},
        }
    }

# --- Cache ----------------------------------------------------------------------------------------
# Holds cached rollout decisions (rollout.selectors.decision). CACHE_URL=redis://host:6379/0 maps to
# Django's built-in django.core.cache.backends.redis.RedisCache; the default is a local file cache.
if env.str("CACHE_URL", default=""):
    CACHES = {"default": env.cache_url("CACHE_URL")}
    if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        # The same backend, reusing its Redis client (see rollout/cache.py for the measurement).
        CACHES["default"]["BACKEND"] = "rollout.lib.cache.ReusingRedisCache"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- JSON API -----------------------------------------------------------------------------------
# Requests per minute per API token (429 with Retry-After beyond it).
ROLLOUT_API_RATE_PER_MINUTE = env.int("ROLLOUT_API_RATE_PER_MINUTE", default=6000)
# How long a web process may answer the decision endpoint from its own memory before asking the
# shared cache again — for the token, and whether the workflow's plan changed (rollout/lib/
# local_memo.py, rollout/selectors/decision.py): the bound on cross-process staleness.
ROLLOUT_LOCAL_MEMO_SECONDS = env.float("ROLLOUT_LOCAL_MEMO_SECONDS", default=1.0)

# Webhooks to private, loopback or link-local addresses are refused (SSRF): on only for local
# development and the tests, whose receivers listen on 127.0.0.1.
ROLLOUT_WEBHOOKS_ALLOW_PRIVATE = env.bool("ROLLOUT_WEBHOOKS_ALLOW_PRIVATE", default=False)

# --- Operations -----------------------------------------------------------------------------------
# The bearer token a Prometheus scraper sends to GET /metrics (backlogs, ingestion lag, sweeps'
# last runs). Unset: the endpoint does not exist.
ROLLOUT_METRICS_TOKEN = env.str("ROLLOUT_METRICS_TOKEN", default="")

# --- Celery ---------------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
# The broker is only a wake-up signal: durable state lives in the database and periodic sweeps
# redo whatever is still pending, so a lost message never loses work.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Every periodic schedule of the product, in one place.
CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {
        "task": "accounts.tasks.clear_expired_sessions",
        "schedule": timedelta(hours=6),
    },
    "run-due-promotions": {
        "task": "rollout.tasks.run_due_promotions",
        "schedule": timedelta(minutes=1),
    },
    # Rollups are woken by each ingestion; this sweep catches days a lost wake-up left dirty.
    "rollup-usage": {
        "task": "rollout.tasks.rollup_usage",
        "schedule": timedelta(minutes=1),
    },
    "evaluate-thresholds": {
        "task": "rollout.tasks.evaluate_thresholds",
        "schedule": timedelta(minutes=5),
    },
    "email-pending-notifications": {
        "task": "rollout.tasks.email_pending_notifications",
        "schedule": timedelta(minutes=5),
    },
    # Escalation timers: the state is in the database, so a missed tick catches up on the next.
    # Review reminders fall due by the day; hourly is soon enough, and a missed run catches up
    # with the latest due reminder only (rollout.services.review_reminders).
    "send-review-reminders": {
        "task": "rollout.tasks.send_review_reminders",
        "schedule": timedelta(hours=1),
    },
    "advance-escalations": {
        "task": "rollout.tasks.advance_escalations",
        "schedule": timedelta(minutes=1),
    },
    # Webhooks are woken after each activity entry; this sweep sends retries and lost wake-ups.
    "send-webhooks": {
        "task": "rollout.tasks.send_webhooks",
        "schedule": timedelta(minutes=1),
    },
    # Change notices: publish what is due, queue reminders, send pending deliveries. Publishing
    # wakes the sender at once; this sweep is what makes a broker outage only a delay.
    "deliver-notices": {
        "task": "rollout.tasks.deliver_notices",
        "schedule": timedelta(minutes=1),
    },
    # A revocation or plan change the cache missed while down: the API reads around it from the
    # database until this replays it, so the sooner the cheaper (an empty table when all is well).
    "replay-cache-invalidations": {
        "task": "rollout.tasks.replay_cache_invalidations",
        "schedule": timedelta(seconds=10),
    },
    # Personal data past the organisation's retention (its settings page). Nightly, 03:30 in
    # the deployment's zone; a night the scheduler was down is caught up by the next.
    "apply-retention": {
        "task": "rollout.tasks.apply_retention",
        "schedule": crontab(hour=3, minute=30),
    },
    # Rotated API tokens whose grace period ended: an activity entry each (the API refuses them
    # from that moment by itself; this only writes the log).
    "record-expired-api-tokens": {
        "task": "rollout.tasks.record_expired_api_tokens",
        "schedule": timedelta(minutes=1),
    },
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Sender runs a published notice (or a round of reminders) wakes: as many worker processes as
# should share a large fan-out (emails are claimed in groups, so runs never race for a row). A
# run that finds nothing due ends at once; a run out of time hands over to one new run.
ROLLOUT_NOTICE_SENDERS = env.int("ROLLOUT_NOTICE_SENDERS", default=2)
# SMTP connections one sender run sends a fan-out's emails over at once (threads, PostgreSQL only):
# while one waits for the database to record a message sent, another's is at the mail server.
# About 1.6x the emails/s of one lane, but each lane has a message in flight: a worker killed
# outright leaves one email in doubt per lane (make chaos: 2 after 3 SIGKILLs with 1 lane, 10
# with 2). Hence 1 by default; raise it where fan-out speed matters more (README, Performance).
ROLLOUT_NOTICE_EMAIL_LANES = env.int("ROLLOUT_NOTICE_EMAIL_LANES", default=1)

# How long the usage page keeps its charts, table and cost section rendered. Its key changes with
# every input of theirs (rollout/views/_usage_sections.py), so this bounds the cache's memory, not
# how stale they can be.
ROLLOUT_USAGE_SECTIONS_SECONDS = env.int("ROLLOUT_USAGE_SECTIONS_SECONDS", default=600)

# --- Logging --------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- OTLP trace ingestion (POST /otlp/v1/traces, rollout/api/otlp.py) ----------------------------
# What a (gzip) export may decompress to; the body on the wire is held to the API's 1 MiB.
ROLLOUT_OTLP_MAX_DECOMPRESSED_BYTES = env.int(
    "ROLLOUT_OTLP_MAX_DECOMPRESSED_BYTES", default=8 * 1024 * 1024
)
# How long a GenAI span whose trace named nobody yet waits for the span that names them (usually
# its parent, exported after it) before it is counted as nobody's (rollout.services.otlp_ingest).
ROLLOUT_OTLP_HOLD_SECONDS = env.int("ROLLOUT_OTLP_HOLD_SECONDS", default=300)
# Every minute: held spans whose hold ended are counted; old traces forgotten.
CELERY_BEAT_SCHEDULE["release-otlp-holds"] = {
    "task": "rollout.tasks.release_otlp_holds",
    "schedule": timedelta(minutes=1),
}
