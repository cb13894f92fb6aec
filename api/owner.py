"""Owner-side sessions for the CLI (operators, demo, policies): same services, owner role.

The owner is subject to row-level security too (FORCE), so it binds a tenant like
any request does.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from api.console import UnknownTenant, complain, report_problems
from api.database import DatabaseUrls, connection_options, to_sqlalchemy
from api.settings import Settings
from tenants.problems import Rejected
from tenants.session import Db, tenant_transaction


def owner_engine(urls: DatabaseUrls, settings: Settings) -> AsyncEngine:
    return create_async_engine(
        to_sqlalchemy(urls.owner), poolclass=NullPool, connect_args={"options": connection_options(settings)}
    )


@contextlib.asynccontextmanager
async def owner_transaction(urls: DatabaseUrls, settings: Settings, tenant_id: int | None = None) -> AsyncIterator[Db]:
    engine = owner_engine(urls, settings)
    try:
        async with tenant_transaction(engine, tenant_id) as db:
            yield db
    finally:
        await engine.dispose()


def run_command(work: Coroutine[Any, Any, Any]) -> tuple[int, Any]:
    """Run a CLI command's coroutine: (0, its result), or (2, None) after printing why it
    was refused (an unknown county, or the problems of a rejected change)."""
    try:
        return 0, asyncio.run(work)
    except UnknownTenant as unknown:
        complain("cli.unknown_tenant", code=unknown.code)
    except Rejected as rejected:
        report_problems(rejected.problems)
    return 2, None
