"""Settings, read once from the environment.

Every knob has a development default so `make run` needs nothing; production sets
`ZHENGJIAO_ENV=production`, `DATABASE_URL`, `DATABASE_APP_URL` and `ZHENGJIAO_SECRET_KEY`.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from authz.throttle_rules import LoginLimits
from domain.subsidy_lists.rules import DEFAULT_REMOVAL_SHARE, parse_share
from tenants.messages import DEFAULT_LOCALE, configured_locale

# Fingerprints must agree across every process of the platform, so the development
# default is a constant (tests, demo); production sets its own.
DEVELOPMENT_MATCH_SECRET = "zhengjiao-development-match-secret"


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _login_limits() -> LoginLimits:
    d = LoginLimits()
    return LoginLimits(
        slow_after=_int("ZHENGJIAO_LOGIN_SLOW_AFTER", d.slow_after),
        lock_after=_int("ZHENGJIAO_LOGIN_LOCK_AFTER", d.lock_after),
        address_slow_after=_int("ZHENGJIAO_LOGIN_ADDRESS_SLOW_AFTER", d.address_slow_after),
        address_lock_after=_int("ZHENGJIAO_LOGIN_ADDRESS_LOCK_AFTER", d.address_lock_after),
        window_seconds=_int("ZHENGJIAO_LOGIN_WINDOW_SECONDS", d.window_seconds),
        lock_seconds=_int("ZHENGJIAO_LOGIN_LOCK_SECONDS", d.lock_seconds),
        backoff_seconds=_float("ZHENGJIAO_LOGIN_BACKOFF_SECONDS", d.backoff_seconds),
        backoff_max_seconds=_float("ZHENGJIAO_LOGIN_BACKOFF_MAX_SECONDS", d.backoff_max_seconds),
    )


def _log_format(value: str | None, env: str) -> str:
    chosen = (value or ("json" if env == "production" else "text")).strip().lower()
    if chosen not in ("json", "text"):
        raise RuntimeError("ZHENGJIAO_LOG_FORMAT must be json or text")
    return chosen


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    data_dir: Path = Path(".zhengjiao")
    # Owner connection (migrations, demo, CLI). None: the embedded server.
    database_url: str | None = None
    # Serving connection: a NOSUPERUSER NOBYPASSRLS role that owns nothing.
    database_app_url: str | None = None
    # A streaming replica for reports (the .xlsx field lists); rights, scope and the audit
    # row stay on the primary.
    database_replica_url: str | None = None
    # Persisted operations (api/trusted_documents.py): the manifest, and whether only
    # its documents are served.
    trusted_documents: Path | None = None
    trusted_only: bool = False
    # Batch jobs (uploads, imports, downloads) one county may run at once (0: no limit).
    batch_slots: int = 2
    tracing: bool = False  # OpenTelemetry (api/tracing.py): on when OTEL_* asks for it
    app_role: str = "zhengjiao_app"
    owner_role: str = "zhengjiao_owner"
    database_name: str = "zhengjiao"
    secret_key: str = ""
    # The platform key of ID-number fingerprints for duplicate enrolment (domain/matching).
    match_secret: str = DEVELOPMENT_MATCH_SECRET
    token_ttl_seconds: int = 8 * 3600
    pool_min: int = 2
    pool_max: int = 10
    # "pgbouncer": the serving connections go through PgBouncer in transaction mode — no
    # prepared statements, no startup options (the role's defaults carry them).
    pooler: str | None = None
    statement_timeout_ms: int = 15_000
    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 5_000
    max_cost: int = 50_000  # objects a query may resolve, estimated (schema/limits.py)
    max_text: int = 2_000  # characters in any string argument
    max_body_bytes: int = 1024 * 1024  # a JSON request body
    max_upload_bytes: int = 70 * 1024 * 1024  # a multipart body (a 64 MB file and its envelope)
    request_budget_ms: int = 30_000  # wall time of one GraphQL request …
    upload_budget_ms: int = 600_000  # … or of one carrying a file
    page_default: int = 50
    page_max: int = 500
    # Look-ups by whole ID number per user and hour for readers who see numbers masked.
    masked_lookups_per_hour: int = 30
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65_536
    argon2_threads: int = 2  # the thread pool that hashes and verifies off the event loop
    login: LoginLimits = field(default_factory=LoginLimits)
    # Proxies whose X-Forwarded-For names the client (uvicorn's --forwarded-allow-ips).
    forwarded_allow_ips: str | None = None
    time_zone: str = "Asia/Shanghai"
    # Messages for a request that names no language (Accept-Language): the catalogue's zh_CN or en.
    locale: str = DEFAULT_LOCALE
    # A list version removing more than this share of its members needs confirmRemovals.
    list_removal_share: Decimal = DEFAULT_REMOVAL_SHARE
    # Bearer token of /metrics; in production /metrics is off without one (api/metrics.py).
    metrics_token: str | None = None
    # Log lines: "json" (one object a line) or "text"; production defaults to json.
    log_format: str = "text"
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"


POOLERS = ("pgbouncer",)


def _pooler(raw: str | None) -> str | None:
    value = (raw or "").strip().lower() or None
    if value is not None and value not in POOLERS:
        raise RuntimeError(f"ZHENGJIAO_POOLER must be one of {', '.join(POOLERS)}, not {raw!r}")
    return value


def tracing_requested() -> bool:
    from api.tracing import tracing_requested as requested

    return requested()


def load_settings() -> Settings:
    env = os.environ.get("ZHENGJIAO_ENV", "development")
    data_dir = Path(os.environ.get("ZHENGJIAO_DATA_DIR", ".zhengjiao")).resolve()
    settings = Settings(
        env=env,
        data_dir=data_dir,
        database_url=os.environ.get("DATABASE_URL") or None,
        database_app_url=os.environ.get("DATABASE_APP_URL") or None,
        database_replica_url=os.environ.get("DATABASE_REPLICA_URL") or None,
        trusted_documents=Path(os.environ["ZHENGJIAO_TRUSTED_DOCUMENTS"]) if os.environ.get("ZHENGJIAO_TRUSTED_DOCUMENTS") else None,
        trusted_only=os.environ.get("ZHENGJIAO_TRUSTED_ONLY", "") in ("1", "true", "yes"),
        batch_slots=_int("ZHENGJIAO_BATCH_SLOTS", 2),
        tracing=tracing_requested(),
        app_role=os.environ.get("ZHENGJIAO_APP_ROLE", "zhengjiao_app"),
        database_name=os.environ.get("ZHENGJIAO_DATABASE", "zhengjiao"),
        secret_key=os.environ.get("ZHENGJIAO_SECRET_KEY", ""),
        match_secret=os.environ.get("ZHENGJIAO_MATCH_SECRET", "") or DEVELOPMENT_MATCH_SECRET,
        token_ttl_seconds=_int("ZHENGJIAO_TOKEN_TTL", 8 * 3600),
        pool_min=_int("ZHENGJIAO_POOL_MIN", 2),
        pool_max=_int("ZHENGJIAO_POOL_MAX", 10),
        pooler=_pooler(os.environ.get("ZHENGJIAO_POOLER")),
        statement_timeout_ms=_int("ZHENGJIAO_STATEMENT_TIMEOUT_MS", 15_000),
        page_max=_int("ZHENGJIAO_PAGE_MAX", 500),
        max_depth=_int("ZHENGJIAO_MAX_DEPTH", 10),
        max_aliases=_int("ZHENGJIAO_MAX_ALIASES", 30),
        max_cost=_int("ZHENGJIAO_MAX_COST", 50_000),
        max_text=_int("ZHENGJIAO_MAX_TEXT", 2_000),
        max_body_bytes=_int("ZHENGJIAO_MAX_BODY_BYTES", 1024 * 1024),
        max_upload_bytes=_int("ZHENGJIAO_MAX_UPLOAD_BYTES", 70 * 1024 * 1024),
        request_budget_ms=_int("ZHENGJIAO_REQUEST_BUDGET_MS", 30_000),
        upload_budget_ms=_int("ZHENGJIAO_UPLOAD_BUDGET_MS", 600_000),
        masked_lookups_per_hour=_int("ZHENGJIAO_MASKED_LOOKUPS_PER_HOUR", 30),
        argon2_time_cost=_int("ZHENGJIAO_ARGON2_TIME_COST", 3),
        argon2_memory_kib=_int("ZHENGJIAO_ARGON2_MEMORY_KIB", 65_536),
        list_removal_share=parse_share(os.environ.get("ZHENGJIAO_LIST_REMOVAL_SHARE", str(DEFAULT_REMOVAL_SHARE))),
        argon2_threads=_int("ZHENGJIAO_ARGON2_THREADS", 2),
        login=_login_limits(),
        forwarded_allow_ips=os.environ.get("ZHENGJIAO_FORWARDED_ALLOW_IPS") or None,
        locale=configured_locale(os.environ.get("ZHENGJIAO_LOCALE")),
        metrics_token=os.environ.get("ZHENGJIAO_METRICS_TOKEN") or None,
        log_format=_log_format(os.environ.get("ZHENGJIAO_LOG_FORMAT"), env),
    )
    if settings.production and settings.match_secret == DEVELOPMENT_MATCH_SECRET:
        raise RuntimeError("ZHENGJIAO_MATCH_SECRET must be set in production")
    if not settings.secret_key:
        if settings.production:
            raise RuntimeError("ZHENGJIAO_SECRET_KEY must be set in production")
        settings = _with_development_secret(settings)
    return settings


def _with_development_secret(settings: Settings) -> Settings:
    """Generate a signing key once and keep it in the data folder."""
    path = settings.data_dir / "secret.key"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    from dataclasses import replace

    return replace(settings, secret_key=path.read_text().strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
