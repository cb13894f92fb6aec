"""`/livez`, `/readyz` and `/healthz`: what an orchestrator asks before it routes traffic.

- `/livez`: the process answers. Never touches the database, so a database outage does
  not get every app process restarted.
- `/readyz`: the database answers on the serving connection within `READY_TIMEOUT_S`
  *and* it is migrated to the head this build carries; 503 otherwise, with which of the
  two failed. A process behind its database (or ahead of it) takes no traffic.
"""
from __future__ import annotations

import asyncio
import logging
from functools import lru_cache

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from api.migrate import MIGRATIONS

log = logging.getLogger(__name__)

# Long enough for a busy pool to hand out a connection, short enough for a probe.
READY_TIMEOUT_S = 3.0


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The head revision(s) of the migrations shipped with this code."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


async def _database_revisions(engine) -> frozenset[str] | None:  # noqa: ANN001 (AsyncEngine)
    """The revisions the database is at; None when the serving role cannot read them
    (no alembic_version yet, or a database from before migration 0017b)."""
    async with engine.connect() as conn:
        try:
            rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) in ("42P01", "42501"):  # undefined table, no privilege
                return None
            raise
        return frozenset(row[0] for row in rows)


async def readiness(engine) -> tuple[bool, dict[str, object]]:  # noqa: ANN001
    heads = migration_heads()
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            current = await _database_revisions(engine)
    except (TimeoutError, SQLAlchemyError, OSError) as error:
        log.warning("not ready: database unreachable (%s)", type(error).__name__)
        return False, {"status": "unavailable", "database": "unreachable"}
    at_head = current == heads
    body: dict[str, object] = {
        "status": "ready" if at_head else "unavailable",
        "database": "ok",
        "migration": sorted(current) if current is not None else None,
        "head": sorted(heads),
    }
    return at_head, body


def health_routes(runtime) -> list[Route]:  # noqa: ANN001 (api.app.Runtime)
    async def livez(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        ready, body = await readiness(runtime.services.engine)
        return JSONResponse(body, status_code=200 if ready else 503)

    async def healthz(request: Request) -> JSONResponse:
        async with runtime.services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return JSONResponse({"status": "ok"})

    return [Route("/livez", livez), Route("/readyz", readyz), Route("/healthz", healthz)]
