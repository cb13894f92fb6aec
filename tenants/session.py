"""The tenant-bound transaction every request runs in.

A request opens one transaction on the serving role and binds it to a county with
`set_config('app.tenant_id', …, true)`: transaction-local, so a pooled connection can
never carry one county's setting into another county's request. Row-level security
reads that setting; with none set, every tenant table is empty.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_BIND = text("SELECT set_config('app.tenant_id', :tenant, true)")


class Db:
    """One request's connection. GraphQL resolves sibling fields concurrently, and a
    connection runs one statement at a time, so statements queue on a lock."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.tenant_id: int | None = None
        self._lock = asyncio.Lock()

    async def bind_tenant(self, tenant_id: int | None) -> None:
        self.tenant_id = tenant_id
        await self.execute(_BIND, {"tenant": "" if tenant_id is None else str(tenant_id)})

    async def execute(self, statement: Any, params: Any = None) -> Result:
        async with self._lock:
            return await self.conn.execute(statement, params)

    async def scalar(self, statement: Any, params: Any = None) -> Any:
        return (await self.execute(statement, params)).scalar()

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested transaction: roll back one mutation's writes, keep the request's."""
        async with self._lock:
            nested = await self.conn.begin_nested()
        bound = self.tenant_id
        try:
            yield
        except BaseException:
            async with self._lock:
                await nested.rollback()
            # PostgreSQL reverts set_config made inside the savepoint; mirror it.
            self.tenant_id = bound
            raise
        else:
            async with self._lock:
                if nested.is_active:
                    await nested.commit()

    @asynccontextmanager
    async def driver(self) -> AsyncIterator[Any]:
        """The psycopg connection itself, for COPY. Holds the lock while in use."""
        async with self._lock:
            raw = await self.conn.get_raw_connection()
            yield raw.driver_connection


@asynccontextmanager
async def tenant_transaction(engine: AsyncEngine, tenant_id: int | None) -> AsyncIterator[Db]:
    async with engine.begin() as conn:
        db = Db(conn)
        await db.bind_tenant(tenant_id)
        yield db
