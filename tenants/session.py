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
from functools import lru_cache
from typing import Any

import psycopg
from sqlalchemy import exc, text
from sqlalchemy.dialects.postgresql.psycopg import PGDialectAsync_psycopg
from sqlalchemy.engine import Result
from sqlalchemy.engine.result import IteratorResult, SimpleResultMetaData
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.types import NullType

_BIND = text("SELECT set_config('app.tenant_id', :tenant, true)")
# An engine's execution option: False sends every statement through SQLAlchemy.
DIRECT_TEXT = "zhengjiao_direct_text"
_DIALECT = PGDialectAsync_psycopg()


class DirectResult(IteratorResult):
    """A text statement's rows as SQLAlchemy hands them out (`Row`, `.mappings()`,
    `.one()`, `.scalar()` …), plus the cursor's `rowcount`."""

    def __init__(self, keys: list[str], rows: list[tuple], rowcount: int) -> None:
        super().__init__(SimpleResultMetaData(keys), iter(rows))
        self.rowcount = rowcount


@lru_cache(maxsize=4096)
def _psycopg_sql(source: str) -> str | None:
    """A plain `text()` statement (`:name` parameters, no types, no lists to expand) in
    psycopg's `%(name)s` form; None for one that needs SQLAlchemy's processing."""
    compiled = text(source).compile(dialect=_DIALECT)
    if compiled.positiontup is not None or any(
        bind.expanding or not isinstance(bind.type, NullType) for bind in compiled.binds.values()
    ):
        return None
    return str(compiled)


def _direct_sql(statement: Any) -> str | None:
    if not isinstance(statement, TextClause) or statement._execution_options or not all(
        _plain(bind) for bind in statement._bindparams.values()
    ):
        return None  # typed, preset or expanding parameters, options: SQLAlchemy's path
    return _psycopg_sql(statement.text)


def _plain(bind: Any) -> bool:
    return bind.value is None and bind.callable is None and not bind.expanding and isinstance(bind.type, NullType)


class Db:
    """One request's connection. GraphQL resolves sibling fields concurrently, and a
    connection runs one statement at a time, so statements queue on a lock."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        # Plain `text()` statements go straight to psycopg (`_direct`): SQLAlchemy's
        # execution layer costs about 90 µs of CPU a statement more, and a payment runs
        # fourteen. Not on a traced engine: OpenTelemetry's spans come from SQLAlchemy's.
        sync = conn.sync_connection
        self.direct_text = sync is None or sync.get_execution_options().get(DIRECT_TEXT, True)
        self.tenant_id: int | None = None
        self._lock = asyncio.Lock()
        self._driver: Any = None  # the psycopg connection under `conn`, once asked for

    async def bind_tenant(self, tenant_id: int | None) -> None:
        self.tenant_id = tenant_id
        await self.execute(_BIND, {"tenant": "" if tenant_id is None else str(tenant_id)})

    async def execute(self, statement: Any, params: Any = None) -> Result:
        # (with parameters only: psycopg then sends one statement, as SQLAlchemy does; a
        # text of several statements, without, goes SQLAlchemy's way)
        sql = _direct_sql(statement) if self.direct_text and isinstance(params, dict) and params else None
        async with self._lock:
            if sql is None:
                return await self.conn.execute(statement, params)
            return await self._direct(sql, params)

    async def _direct(self, sql: str, params: dict[str, Any]) -> Result:
        """One statement on the driver's connection, seen by the engine's statement
        listeners (metrics, tests' counters) and failing as SQLAlchemy would."""
        sync = self.conn.sync_connection
        assert sync is not None
        if self._driver is None:
            self._driver = (await self.conn.get_raw_connection()).driver_connection
        raw = self._driver
        listened = sync._has_events or sync.engine._has_events
        if listened:
            for before in sync.dispatch.before_cursor_execute:
                before(sync, None, sql, params, None, False)
        try:
            cursor = await raw.execute(sql, params)
            columns = cursor.description
            rows = await cursor.fetchall() if columns else []
        except psycopg.Error as error:
            raise exc.DBAPIError.instance(sql, params, error, psycopg.Error, hide_parameters=True) from error
        if listened:
            for after in sync.dispatch.after_cursor_execute:
                after(sync, None, sql, params, None, False)
        return DirectResult([column.name for column in columns or ()], rows, cursor.rowcount)

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
