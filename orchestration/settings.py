"""Django settings for Baton.

With no environment variables Baton runs on the embedded default: SQLite in WAL
mode and Celery's ``filesystem://`` broker, both under ``var/``. Production sets
``DATABASE_URL`` (PostgreSQL) and ``CELERY_BROKER_URL`` (Redis).
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("BATON_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _local_secret_key(path: Path) -> str:
    """A random key made once for this installation and kept in ``var/`` (production sets BATON_SECRET_KEY).

    Created with O_EXCL so web, worker and ticker starting together agree on one key.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


# Off unless asked: the debug page would show settings and environment to anyone.
DEBUG = _env_bool("BATON_DEBUG", False)
SECRET_KEY = os.environ.get("BATON_SECRET_KEY") or _local_secret_key(VAR_DIR / "secret_key")
ALLOWED_HOSTS = os.environ.get("BATON_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
CSRF_TRUSTED_ORIGINS = [
    origin for origin in os.environ.get("BATON_CSRF_TRUSTED_ORIGINS", "").split(",") if origin
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",  # Django's widget templates, for FORM_RENDERER below
    "axes",
    "csp",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_htmx",
    "template_partials",
    "simple_history",
    "orchestration",
    "approvals",
    "designer",
    "orchestration.demo_procurement",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves collectstatic's folder from the WSGI server itself (`./baton serve`): no web server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Dates in the signed-in person's time zone (their profile), else TIME_ZONE.
    "approvals.middleware.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Who made a change, for the history of people, limits and connections (django-simple-history).
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "orchestration.urls"
WSGI_APPLICATION = "orchestration.wsgi.application"

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
                "approvals.context_processors.navigation",
            ],
            "builtins": ["orchestration.templatetags.people", "orchestration.templatetags.moments"],
        },
    },
]

# Widgets get Bootstrap's classes from templates/django/forms/widgets/ (orchestration/form_rendering.py).
FORM_RENDERER = "orchestration.form_rendering.BootstrapRenderer"

# --- Database -----------------------------------------------------------------
_SQLITE_OPTIONS = {
    # IMMEDIATE takes the write lock at BEGIN: SQLite has no SELECT ... FOR UPDATE.
    "transaction_mode": "IMMEDIATE",
    "timeout": 30,
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
}

if os.environ.get("DATABASE_URL"):
    DATABASES = {
        "default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60, conn_health_checks=True)
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        DATABASES["default"]["OPTIONS"] = dict(_SQLITE_OPTIONS)
        DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "baton.sqlite3"),
            "OPTIONS": dict(_SQLITE_OPTIONS),
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: the worker and ticker processes share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-baton.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a sign-in while its username + address is locked out (brute force).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # guardian: no anonymous user row
GUARDIAN_RAISE_403 = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# One date and time format on every page and email (see orchestration/formats/en/formats.py).
FORMAT_MODULE_PATH = ["orchestration.formats"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves what `collectstatic` put here (`./baton serve`); empty until then, it serves nothing.
STATIC_ROOT.mkdir(exist_ok=True)
NODE_MODULES = BASE_DIR / "node_modules"
# Front-end packages come from npm (package.json, `npm ci`); only their dist folders are served.
VENDOR_STATIC = {
    "vendor/bootstrap": NODE_MODULES / "bootstrap/dist",
    "vendor/bootstrap-icons": NODE_MODULES / "bootstrap-icons/font",
    "vendor/bpmn-js": NODE_MODULES / "bpmn-js/dist",
    "vendor/diagram-js-minimap": NODE_MODULES / "diagram-js-minimap/dist",
    "vendor/diagram-js-minimap-assets": NODE_MODULES / "diagram-js-minimap/assets",
    "vendor/chart.js": NODE_MODULES / "chart.js/dist",
    # Our bundles of packages that ship ES modules only (frontend/*.js, built by ./baton with esbuild).
    "vendor/baton-build": NODE_MODULES / ".baton-build",
}
STATICFILES_DIRS = [BASE_DIR / "static", *VENDOR_STATIC.items()]

# --- Attachments (files on requests) ---------------------------------------------
# Kept through Django's storage API: local files under the var dir unless BATON_S3_BUCKET names an
# S3-compatible bucket (needs `pip install "django-storages[s3]"`; see README "Attachments").
# Never served from a public URL: Baton checks who may see the request on every download.
MEDIA_ROOT = VAR_DIR / "files"
if os.environ.get("BATON_S3_BUCKET"):
    _FILE_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["BATON_S3_BUCKET"],
            "endpoint_url": os.environ.get("BATON_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("BATON_S3_REGION") or None,
            "location": os.environ.get("BATON_S3_PREFIX", "baton"),
            "default_acl": "private",
            "file_overwrite": False,
        },
    }
else:
    _FILE_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _FILE_STORAGE,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Per file, per request, and the kinds accepted (checked by content: orchestration/attachments.py).
BATON_ATTACHMENT_MAX_MB = float(os.environ.get("BATON_ATTACHMENT_MAX_MB", "10"))
BATON_ATTACHMENT_MAX_FILES = int(os.environ.get("BATON_ATTACHMENT_MAX_FILES", "5"))
BATON_ATTACHMENT_TYPES = [
    kind.strip().lower()
    for kind in os.environ.get(
        "BATON_ATTACHMENT_TYPES", "pdf,png,jpg,jpeg,gif,webp,docx,xlsx,pptx,doc,xls,ppt,odt,ods,odp,csv,txt"
    ).split(",")
    if kind.strip()
]

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

EMAIL_BACKEND = os.environ.get("BATON_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = os.environ.get("BATON_FROM_EMAIL", "baton@localhost")

# Encrypt Connection and webhook secrets: Fernet keys, comma-separated, newest first (orchestration/encryption.py).
# Unset: derived from the secret key (set both in production).
BATON_ENCRYPTION_KEY = os.environ.get("BATON_ENCRYPTION_KEY", "")

# --- Security -----------------------------------------------------------------
# Production behind HTTPS (BATON_HTTPS=1): HSTS, cookies only over HTTPS, http redirected.
# Off by default so `./baton run` keeps working on http://127.0.0.1.
BATON_HTTPS = _env_bool("BATON_HTTPS", False)
if BATON_HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = int(os.environ.get("BATON_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("BATON_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _env_bool("BATON_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# Behind a proxy that ends TLS and sets X-Forwarded-Proto: trust it only when told (else anyone could).
if _env_bool("BATON_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy (django-csp), on everywhere: scripts only from our own static files
# (an inline script needs `nonce="{{ request.csp_nonce }}"`). Styles allow inline: bpmn-js and
# Swagger UI set style attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Brute-force lockout (django-axes) on the sign-in page, the admin's and /api/auth/token/:
# this many failures for one username from one address lock that pair out for the cool-off.
# Unlock early in the admin (Axes > Access attempts: delete the row) or `manage.py axes_reset_username`.
AXES_FAILURE_LIMIT = int(os.environ.get("BATON_LOGIN_FAILURE_LIMIT", "10"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("BATON_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "orchestration.errors.locked_out"

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "orchestration.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["orchestration.api.filters.ListFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "orchestration.api.pagination.Pages",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Baton API",
    "DESCRIPTION": "Workflows, versions, process instances, incidents, tasks and messages.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed sidecar package, not a CDN: works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "InstanceStatusEnum": "orchestration.models.ProcessInstance.Status",
        "StepStatusEnum": "orchestration.models.Step.Status",
    },
}

# --- Celery (transport only) -----------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's transport with atomic writes, registered in orchestration/celery.py.
    CELERY_BROKER_URL = "batonfs://"
    for _sub in ("queue", "processed", "control"):
        (BROKER_DIR / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        # kombu polls virtual transports; its default (1 s) would be paid on every step.
        "polling_interval": 0.05,
    }
else:
    # Above the longest task time limit, or Redis redelivers a task still running.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# The longest a connector may run (its lease is renewed meanwhile); then Celery kills the task.
CELERY_TASK_TIME_LIMIT = int(os.environ.get("BATON_STEP_TIME_LIMIT_SECONDS", "300"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Celery's Django fix-up closes the database connection around every task unless this is set: a
# new PostgreSQL session per step. Set beyond reach, the worker keeps its connection and Django's
# CONN_MAX_AGE / health checks decide (orchestration/celery.py closes old ones after each task).
CELERY_DB_REUSE_MAX = 1_000_000_000

# --- Baton engine ---------------------------------------------------------------
# How long a claimed step stays its worker's without a sign of life: the worker renews the lease
# every BATON_STEP_RENEW_SECONDS while the connector runs, so a dead worker's step runs again after this.
BATON_STEP_LEASE_SECONDS = int(os.environ.get("BATON_STEP_LEASE_SECONDS", "30"))
BATON_STEP_RENEW_SECONDS = float(os.environ.get("BATON_STEP_RENEW_SECONDS", BATON_STEP_LEASE_SECONDS / 3))
# How long a dispatched step may wait unclaimed before the relay publishes it again.
BATON_DISPATCH_GRACE_SECONDS = float(os.environ.get("BATON_DISPATCH_GRACE_SECONDS", "10"))
# How long one Celery task may go on running an instance's next connector steps itself (each then
# skips the broker and the claim); the steps after that go through the queue. Kept short: a step
# chained late in a task has that much less of the task's time limit. 0 turns chaining off.
BATON_WORKER_CHAIN_SECONDS = float(os.environ.get("BATON_WORKER_CHAIN_SECONDS", "2"))
# First retry delay; doubled per attempt, capped by BATON_RETRY_MAX_SECONDS.
BATON_RETRY_BASE_SECONDS = float(os.environ.get("BATON_RETRY_BASE_SECONDS", "2"))
BATON_RETRY_MAX_SECONDS = float(os.environ.get("BATON_RETRY_MAX_SECONDS", "600"))
BATON_TICK_SECONDS = float(os.environ.get("BATON_TICK_SECONDS", "1"))
# The demo procurement service at /demo/procurement/ (no auth: a stand-in ERP). Turn off in production.
BATON_DEMO_SERVICES = _env_bool("BATON_DEMO_SERVICES", True)
# Where the built-in procurement connector posts orders (the demo service by default).
# Where people reach Baton: the links in emails (built by workers, with no request to ask).
# `./baton run` serves on BATON_PORT (8000 by default), so that is the default here too.
BATON_BASE_URL = os.environ.get("BATON_BASE_URL", f"http://127.0.0.1:{os.environ.get('BATON_PORT', '8000')}")
BATON_PROCUREMENT_URL = os.environ.get("BATON_PROCUREMENT_URL", f"{BATON_BASE_URL}/demo/procurement/orders/")
BATON_VENDORS_URL = os.environ.get("BATON_VENDORS_URL", f"{BATON_BASE_URL}/demo/procurement/vendors/")
# Where the e-signature connector sends documents (the demo service by default).
BATON_ESIGNATURE_URL = os.environ.get("BATON_ESIGNATURE_URL", f"{BATON_BASE_URL}/demo/signature/envelopes/")
BATON_HUMAN_TASKS = "approvals.routing.ApprovalTaskProvider"
# Who may read GET /metrics (orchestration/ops/metrics.py): a request with "Authorization: Bearer <token>",
# or one from these addresses or networks (comma-separated; behind a proxy, the proxy's address is seen).
BATON_METRICS_TOKEN = os.environ.get("BATON_METRICS_TOKEN", "")
BATON_METRICS_ALLOW = os.environ.get("BATON_METRICS_ALLOW", "127.0.0.1,::1")
# Authority limits in this currency also cover requests in other currencies, converted at the
# exchange rate (kept in the admin) in force on the request's date.
BATON_BASE_CURRENCY = os.environ.get("BATON_BASE_CURRENCY", "USD").strip().upper()
# How long a one-click approval link in an email stays valid.
BATON_LINK_MAX_AGE_SECONDS = int(os.environ.get("BATON_LINK_MAX_AGE_SECONDS", str(7 * 24 * 3600)))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("BATON_LOG_LEVEL", "INFO")},
    # django-axes announces itself in every process; its lockout messages (WARNING) stay.
    # django-scim2 logs every SCIM request and response body at DEBUG: people's data stays out of debug logs.
    "loggers": {"axes.apps": {"level": "WARNING"}, "django_scim": {"level": "INFO"}},
}

# Apps' REST endpoints: each module's register_routes(router) adds its routes under /api/.
BATON_API_MODULES = ["approvals.api", "orchestration.ops.incident_api", "orchestration.ops.version_move_api"]
# Apps' parts of the operations console's reports: each module's report_sections(workflow, period).
BATON_REPORT_MODULES = ["approvals.reports"]

# One module per connector; each registers itself. Add yours here.
BATON_CONNECTOR_MODULES = [
    "orchestration.connectors.http",
    "orchestration.connectors.email",
    "orchestration.connectors.procurement",
    "orchestration.connectors.vendors",
    "orchestration.connectors.esignature",
    "orchestration.connectors.ai",
    "approvals.connectors",
]

# A queue of one's own: several Baton test runs (or installations) can share one Redis.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("BATON_QUEUE", "baton")

# History pages read only: a revert would skip the checks and events of the actions (and a connection's
# history holds no secrets to restore).
SIMPLE_HISTORY_REVERT_DISABLED = True

# --- People from identity providers (SCIM 2.0, django-scim2) ----------------
# Identity providers call /scim/v2/ with a bearer token an administrator creates in the admin
# (Approvals → Provisioning tokens); session sign-in is not accepted there.
SCIM_SERVICE_PROVIDER = {
    "NETLOC": os.environ.get("BATON_SCIM_NETLOC", "localhost"),
    "SCHEME": "https",
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A provisioning token created by an administrator in Baton's admin.",
        }
    ],
    "WWW_AUTHENTICATE_HEADER": 'Bearer realm="baton-scim"',
    "USER_ADAPTER": "approvals.scim.PersonAdapter",
    "GROUP_ADAPTER": "approvals.scim.QueueAdapter",
    "BASE_LOCATION_GETTER": "approvals.scim.base_location",
    "GET_EXTRA_MODEL_EXCLUDE_KWARGS_GETTER": "approvals.scim.hidden_accounts",
    "GET_IS_AUTHENTICATED_PREDICATE": "approvals.scim.is_provisioning",
}
