"""Configuration: defaults here, then plugins' defaults, then the instance
file ``instance/jishi.cfg`` (Python syntax), then ``JISHI_*`` environment
variables (``JISHI_DATABASE_URL`` -> ``SQLALCHEMY_DATABASE_URI``)."""

from __future__ import annotations

import json
import os


class DefaultConfig:
    SECRET_KEY = None  # required outside demo, debug and tests (check_secret_key)
    SQLALCHEMY_DATABASE_URI = None  # SQLite in the instance folder when missing
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # The database engine (docs/configuration.md#database-engine): see jishi.db.apply_engine_config.
    JISHI_DB_PRE_PING = True
    # pre-ping: a look at the socket instead of a round trip for a connection
    # used within this many seconds (jishi.db); 0: always the round trip
    JISHI_DB_PING_IDLE_SECONDS = 30
    # PostgreSQL: GET/HEAD/OPTIONS read in autocommit until their first statement
    # that is not a plain read (no BEGIN, no ROLLBACK: jishi.db.read_autocommit)
    JISHI_DB_READ_AUTOCOMMIT = True
    JISHI_DB_POOL_SIZE = None
    JISHI_DB_MAX_OVERFLOW = None
    JISHI_DB_POOL_RECYCLE = None
    JISHI_DB_POOL_TIMEOUT = None
    JISHI_DB_STATEMENT_TIMEOUT_MS = 0
    # PostgreSQL: the planner's random_page_cost on Jishi's connections
    # (jishi.db.plan_with_page_cost); None or "": the server's own (its default, 4, is a disk's seek)
    JISHI_DB_RANDOM_PAGE_COST = 1.1
    JISHI_DB_KEEP_PREPARED = True  # psycopg keeps its prepared statements across a rollback (jishi.db)
    JISHI_DB_LIBPQ_READS = True  # PostgreSQL: held statements in autocommit run through libpq itself (jishi.db)
    JISHI_DB_SQLITE_WRITE_LOCK = True  # SQLite writers queue on a file lock, not in the busy handler (jishi.db)
    JISHI_SCHEMA_CHECK = True  # refuse to serve (503) while the schema is behind the code (jishi.schema)
    JISHI_SETTINGS_TTL = 2  # seconds a process reuses its copy of the settings table (jishi.settings)
    JISHI_FRAGMENT_CACHE = True  # header/footer/tab bar kept rendered for anonymous visitors (jishi.web.fragments)
    JISHI_JOB_LEASE_SECONDS = 60  # a timed job's claim without a heartbeat (jishi.jobs)
    JISHI_PLUGINS = ""  # comma list of enabled plugins, or "all"
    JISHI_THEME = "default"
    JISHI_DEFAULT_DELIVERY = "auto"  # true, false, or "auto": off while a delivery plugin is enabled
    JISHI_REDIS_URL = None
    # Visits and funnel events (jishi.reports.tracking): on/off, and when the
    # buffer (Redis with JISHI_REDIS_URL, else this process; "memory" forces
    # the process) is written: this many events, or the oldest this old.
    JISHI_TRACKING = True
    JISHI_TRACKING_BUFFER = "auto"
    JISHI_TRACKING_BATCH = 1000
    JISHI_TRACKING_FLUSH_SECONDS = 5
    JISHI_TRACKING_FLUSH_THREAD = True  # False: the request that fills the buffer writes it, after its response
    # Shop days of visitor_days kept for exact UV over a range (older rows are
    # deleted by the prune_visitor_days job; a range reaching before falls back
    # to the sum of daily UV).
    JISHI_VISITOR_DAYS_KEEP = 400
    JISHI_PAYMENT_MODE = "combined"  # or "per_order" (订单按店铺支付)
    JISHI_UNPAID_TIMEOUT_MINUTES = 30
    JISHI_AUTO_CONFIRM_DAYS = 10
    JISHI_AUTO_COMPLETE_DAYS = 7
    JISHI_SANDBOX_SECRET = "sandbox-secret-change-me"  # refused outside debug, demo and tests
    JISHI_DEVELOPER_PAGES = False  # console pages for developers (failed event handlers): menu entry and page
    JISHI_DEMO = False  # a demo shop (``jishi demo``): the default sandbox secret is accepted
    JISHI_SANDBOX_APP_ID = "jishi-sandbox"
    JISHI_SANDBOX_NOTIFY_WINDOW_SECONDS = 300
    JISHI_SANDBOX_NOTIFY_INLINE = True
    # How the sandbox answers refunds: sync (done at once), async (accepted,
    # then a signed refund notification), fail (refused), down (unreachable).
    JISHI_SANDBOX_REFUND_MODE = "sync"
    # Reconciliation (the reconcile_payments job): a pending payment started
    # this long ago is queried at its gateway (a lost notification is then
    # recovered), for this many hours; a refund no gateway answered is sent
    # again after JISHI_REFUND_RETRY_SECONDS.
    JISHI_PAYMENT_QUERY_AFTER_SECONDS = 60
    JISHI_PAYMENT_QUERY_HOURS = 48
    JISHI_REFUND_RETRY_SECONDS = 60
    JISHI_PAGE_SIZE = 20
    JISHI_MAX_PAGE_SIZE = 100
    JISHI_THEMES_DIRS: list = []
    # The media library (docs/configuration.md#media): uploads up to this many
    # bytes and pixels, re-encoded to these sizes (longest side) in this format.
    JISHI_MEDIA_MAX_BYTES = 10 * 1024 * 1024
    JISHI_MEDIA_MAX_PIXELS = 40_000_000
    JISHI_MEDIA_SIZES = {"thumb": 200, "medium": 600, "large": 1200}
    JISHI_MEDIA_FORMAT = "WEBP"  # or "JPEG"
    JISHI_MEDIA_STORAGE = "local"  # or "s3" (pip install 'jishi[s3]')
    JISHI_MEDIA_ROOT = None  # local storage folder; default <instance>/media
    JISHI_MEDIA_URL = "/media/"  # where the kernel serves local media
    JISHI_MEDIA_S3_BUCKET = None
    JISHI_MEDIA_S3_ENDPOINT_URL = None  # e.g. https://minio.example.com; None: AWS
    JISHI_MEDIA_S3_REGION = None
    JISHI_MEDIA_S3_ACCESS_KEY = None  # None: boto3's own credential chain
    JISHI_MEDIA_S3_SECRET_KEY = None
    JISHI_MEDIA_S3_PUBLIC_URL = None  # buyers' address of the bucket; default <endpoint>/<bucket>
    JISHI_MEDIA_S3_PREFIX = "media/"
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    JISHI_LOCALES = ("zh_CN", "en")
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    JISHI_LOGIN_RATE_LIMIT = "10 per minute"
    JISHI_REVIEW_IMAGE_RATE_LIMIT = "30 per minute"  # a buyer's review picture uploads (per account)
    WTF_CSRF_TIME_LIMIT = None
    # Session and remember-me cookies: never sent on another site's POST;
    # Secure when None means "when served over HTTPS" (extensions.cookie_secure).
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SECURE = None
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = None
    API_TITLE = "Jishi API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    API_SPEC_OPTIONS = {
        "info": {
            "description": (
                "Authenticate with `Authorization: Bearer <token>` (the token from `POST /api/v1/auth/login`). "
                "The storefront's session cookie is also read, but a write (POST, PUT, PATCH, DELETE) "
                "authenticated by a cookie must carry the page's CSRF token in `X-CSRFToken`, "
                "else 403 `csrf_failed`."
            )
        },
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}, {}],
    }
    JSON_SORT_KEYS = False
    # -- Serving: proxies, health, logs, metrics (jishi.serving; docs/operations.md) --
    JISHI_TRUSTED_PROXIES = 0  # proxies in front that set X-Forwarded-For/-Proto/-Host/-Port
    JISHI_REDIS_TIMEOUT = 0.5  # seconds: connect and read timeout of the rate limiter's and readiness' Redis
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True  # Redis unreachable: count in this process (a warning is logged)
    JISHI_LOG_JSON = False  # one JSON object per log line (python-json-logger)
    JISHI_LOG_LEVEL = "INFO"  # the level of jishi's request log lines when JISHI_LOG_JSON is on
    JISHI_METRICS = True  # /metrics (Prometheus); False: 404
    JISHI_METRICS_TOKEN = None  # bearer token for /metrics; None: loopback clients only
    # -- end serving --


class ConfigError(RuntimeError):
    """A configuration the app refuses to start with."""


def check_secrets(config, *, debug: bool, testing: bool) -> None:
    """Refuse the documented default ``JISHI_SANDBOX_SECRET`` outside debug,
    demo (``JISHI_DEMO``) and tests: anyone who read the docs could sign a
    payment notification with it."""
    if config.get("JISHI_SANDBOX_SECRET") != DefaultConfig.JISHI_SANDBOX_SECRET:
        return
    if debug or testing or config.get("JISHI_DEMO"):
        return
    raise ConfigError(
        "JISHI_SANDBOX_SECRET is the documented default; anyone could sign payment notifications with it. "
        "Set JISHI_SANDBOX_SECRET to a secret of your own (or run a demo, JISHI_DEMO=true, or debug, FLASK_DEBUG=1)."
    )


def check_secret_key(config, *, debug: bool, testing: bool) -> None:
    """Refuse to start without ``SECRET_KEY`` outside debug, demo
    (``JISHI_DEMO``) and tests: a key generated per instance folder differs
    between hosts, and each host would refuse the others' session cookies
    (and tokens) in silence. Demo, debug and tests get one generated into
    the instance folder."""
    if config.get("SECRET_KEY") or debug or testing or config.get("JISHI_DEMO"):
        return
    raise ConfigError(
        "SECRET_KEY is not set. Set JISHI_SECRET_KEY (or SECRET_KEY in instance/jishi.cfg) to one long random "
        "secret shared by every instance, e.g. the output of: python -c 'import secrets; print(secrets.token_hex(32))'. "
        "(A demo, JISHI_DEMO=true, or debug, FLASK_DEBUG=1, generates one into the instance folder.)"
    )


ENV_ALIASES = {"JISHI_DATABASE_URL": "SQLALCHEMY_DATABASE_URI", "JISHI_SECRET_KEY": "SECRET_KEY"}
# Flask's cookie and URL settings from the environment: JISHI_SESSION_COOKIE_SECURE=true
# sets SESSION_COOKIE_SECURE (docs/configuration.md#cookies).
ENV_ALIASES.update(
    {
        f"JISHI_{key}": key
        for key in (
            "SESSION_COOKIE_SECURE",
            "SESSION_COOKIE_SAMESITE",
            "SESSION_COOKIE_DOMAIN",
            "SESSION_COOKIE_NAME",
            "REMEMBER_COOKIE_SECURE",
            "REMEMBER_COOKIE_SAMESITE",
            "REMEMBER_COOKIE_DOMAIN",
            "PREFERRED_URL_SCHEME",
            "PERMANENT_SESSION_LIFETIME",
        )
    }
)


def from_environ(environ=None) -> dict:
    """``JISHI_*`` variables; JSON values (true, 5, [..]) are decoded."""
    environ = os.environ if environ is None else environ
    out = {}
    for key, raw in environ.items():
        if not key.startswith("JISHI_"):
            continue
        try:
            value = json.loads(raw)
            if isinstance(value, (dict, list, bool, int)) and not isinstance(value, float):
                pass
            else:
                value = raw
        except ValueError:
            value = raw
        out[ENV_ALIASES.get(key, key)] = value
    if "JISHI_RATELIMIT_STORAGE_URI" in out:
        out["RATELIMIT_STORAGE_URI"] = out.pop("JISHI_RATELIMIT_STORAGE_URI")
    return out
