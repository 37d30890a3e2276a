"""Configuration read from the environment.

Every variable is listed in the README's "Configuration" table; keep the two in step.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("TRACCIA_INSTANCE_DIR", BASE_DIR / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _development_secret_key() -> str:
    """A random key kept in instance/ so that development sessions survive a restart."""
    path = INSTANCE_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


class Config:
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'traccia.db'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    #: SQLite only: seconds a write waits for the database lock before failing with 503.
    SQLITE_BUSY_TIMEOUT_SECONDS = _int("SQLITE_BUSY_TIMEOUT_SECONDS", 60)

    #: Name of the public body that runs the consultations, shown in the page header.
    TRACCIA_OWNER_NAME = os.environ.get("TRACCIA_OWNER_NAME", "Città metropolitana di Milano")
    TRACCIA_OWNER_URL = os.environ.get("TRACCIA_OWNER_URL", "https://www.cittametropolitana.mi.it")
    #: The accessibility statement, as published on AgID's form service (form.agid.gov.it).
    TRACCIA_ACCESSIBILITY_URL = os.environ.get(
        "TRACCIA_ACCESSIBILITY_URL", "https://form.agid.gov.it/"
    )
    #: The privacy notice; empty shows Traccia's own page (/privacy).
    TRACCIA_PRIVACY_URL = os.environ.get("TRACCIA_PRIVACY_URL", "")
    #: Where the footer's feedback link goes; empty writes to TRACCIA_CONTACT_EMAIL.
    TRACCIA_FEEDBACK_URL = os.environ.get("TRACCIA_FEEDBACK_URL", "")
    TRACCIA_CONTACT_EMAIL = os.environ.get("TRACCIA_CONTACT_EMAIL", "consultazioni@traccia.example")
    #: Base URL used in e-mailed links (no trailing slash).
    TRACCIA_BASE_URL = os.environ.get("TRACCIA_BASE_URL", "http://127.0.0.1:5000")

    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 25 * 1024 * 1024)
    #: Largest plan text (DOCX, ODT, Markdown) that can be imported.
    PLAN_IMPORT_MAX_BYTES = _int("PLAN_IMPORT_MAX_BYTES", 10 * 1024 * 1024)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    SESSION_COOKIE_NAME = "traccia_session"
    PERMANENT_SESSION_LIFETIME = _int("SESSION_LIFETIME_SECONDS", 8 * 3600)
    #: A login session ends after this long without a request (ASVS 3.3.2: idle time-out)…
    SESSION_IDLE_SECONDS = _int("SESSION_IDLE_SECONDS", 2 * 3600)
    #: …and after this long in any case (absolute time-out), whatever the cookie says.
    SESSION_ABSOLUTE_SECONDS = _int("SESSION_ABSOLUTE_SECONDS", 12 * 3600)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE

    WTF_CSRF_TIME_LIMIT = _int("CSRF_TIME_LIMIT_SECONDS", 8 * 3600)

    #: Failed logins per account within LOGIN_THROTTLE_WINDOW seconds before refusing.
    LOGIN_THROTTLE_MAX_FAILURES = _int("LOGIN_THROTTLE_MAX_FAILURES", 5)
    LOGIN_THROTTLE_WINDOW = _int("LOGIN_THROTTLE_WINDOW_SECONDS", 15 * 60)
    PASSWORD_RESET_TTL = _int("PASSWORD_RESET_TTL_SECONDS", 3600)
    #: Validity of a referent's invitation link.
    INVITATION_TTL = _int("INVITATION_TTL_SECONDS", 14 * 24 * 3600)
    PASSWORD_RESET_MAX_PER_HOUR = _int("PASSWORD_RESET_MAX_PER_HOUR", 3)
    #: Reverse proxies in front of Traccia whose X-Forwarded-For/-Proto headers are trusted.
    PROXY_COUNT = _int("TRACCIA_PROXY_COUNT", 0)
    #: Argon2id cost; the defaults follow RFC 9106's second recommended option.
    ARGON2_TIME_COST = _int("ARGON2_TIME_COST", 3)
    ARGON2_MEMORY_COST = _int("ARGON2_MEMORY_COST", 64 * 1024)

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = _int("MAIL_PORT", 8025)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Traccia <noreply@traccia.example>")
    MAIL_TIMEOUT = _int("MAIL_TIMEOUT_SECONDS", 10)
    OUTBOX_MAX_ATTEMPTS = _int("OUTBOX_MAX_ATTEMPTS", 8)
    OUTBOX_RETRY_BASE_SECONDS = _int("OUTBOX_RETRY_BASE_SECONDS", 30)
    OUTBOX_RETRY_MAX_SECONDS = _int("OUTBOX_RETRY_MAX_SECONDS", 3600)
    #: A row left 'sending' longer than this belonged to a worker that died.
    OUTBOX_CLAIM_TIMEOUT_SECONDS = _int("OUTBOX_CLAIM_TIMEOUT_SECONDS", 600)
    OUTBOX_POLL_SECONDS = _int("OUTBOX_POLL_SECONDS", 5)

    #: Where rate limits are counted (Flask-Limiter): memory:// per web worker by default,
    #: redis://host:6379 to share the counts between workers.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_STRATEGY = "moving-window"
    #: API requests a token may make per minute (per web worker with memory storage).
    API_RATE_LIMIT_PER_MINUTE = _int("API_RATE_LIMIT_PER_MINUTE", 300)
    API_AUTH_FAILURES_PER_MINUTE = _int("API_AUTH_FAILURES_PER_MINUTE", 20)
    OPEN_API_RATE_LIMIT_PER_MINUTE = _int("OPEN_API_RATE_LIMIT_PER_MINUTE", 300)
    #: How long an Idempotency-Key is remembered.
    API_IDEMPOTENCY_TTL_SECONDS = _int("API_IDEMPOTENCY_TTL_SECONDS", 24 * 3600)

    #: Attachments: the largest file, and how many per observation.
    ATTACHMENT_MAX_BYTES = _int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
    ATTACHMENTS_MAX_COUNT = _int("ATTACHMENTS_MAX_COUNT", 5)
    #: Look-ups on the public "follow an observation" page per client address and minute.
    TRACK_ATTEMPTS_PER_MINUTE = _int("TRACK_ATTEMPTS_PER_MINUTE", 20)
    #: The longest observation text (longer ones go in an attachment).
    OBSERVATION_MAX_CHARS = _int("OBSERVATION_MAX_CHARS", 30_000)

    #: The annex files the worker makes: where they are kept (shared by the web servers and the
    #: worker), for how long a draft's or a staff-only file is kept, and after how long without
    #: a heartbeat a job's worker is taken for dead and the job queued again.
    EXPORTS_DIR = os.environ.get("EXPORTS_DIR", str(INSTANCE_DIR / "exports"))
    EXPORT_RETENTION_HOURS = _int("EXPORT_RETENTION_HOURS", 72)
    EXPORT_STALE_SECONDS = _int("EXPORT_STALE_SECONDS", 600)

    BABEL_DEFAULT_LOCALE = "it"
    BABEL_DEFAULT_TIMEZONE = "Europe/Rome"
    LANGUAGES = ("it", "en")

    #: Bench only: every response says how many SQL statements it ran (X-SQL-Statements).
    BENCH_SQL_COUNT = _bool("TRACCIA_BENCH_SQL_COUNT", False)

    #: Demo data may be loaded (never in production).
    DEMO_DATA_ALLOWED = True

    @classmethod
    def finalise(cls, app_config: dict) -> None:
        """Fill what can only be decided at start-up (called by create_app)."""
        if not app_config.get("SECRET_KEY"):
            app_config["SECRET_KEY"] = _development_secret_key()


class DevelopmentConfig(Config):
    pass


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    DEMO_DATA_ALLOWED = False

    @classmethod
    def finalise(cls, app_config: dict) -> None:
        if not app_config.get("SECRET_KEY"):
            raise RuntimeError(
                "SECRET_KEY is not set: the production configuration refuses to start without it."
            )
        if len(app_config["SECRET_KEY"]) < 32:
            raise RuntimeError("SECRET_KEY is too short: use at least 32 random characters.")


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production-use-0123456789"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = os.environ.get("TRACCIA_TEST_DB_URI", "sqlite://")
    #: Cheap hashing keeps the suite fast; production keeps the defaults above.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 64
    MAIL_PORT = 0
    #: Flask-Mail would swallow mail under TESTING; the tests send it to a real SMTP server.
    MAIL_SUPPRESS_SEND = False
    TRACCIA_BASE_URL = "http://localhost"
    SERVER_NAME = None
    EXPORTS_DIR = os.path.join(tempfile.gettempdir(), f"traccia-test-exports-{os.getpid()}")


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "test": TestConfig,
}


def config_from_environment() -> type[Config]:
    name = os.environ.get("TRACCIA_CONFIG", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(
            f"TRACCIA_CONFIG={name!r} is not one of {', '.join(sorted(CONFIGS))}."
        ) from None
