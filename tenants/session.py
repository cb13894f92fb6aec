"""The tenant-bound transaction every request runs in.

A request opens one transaction on the serving role and binds it to a county with
`set_config('app.tenant_id', …, true)`: transaction-local, so a pooled connection can
never carry one county's setting into another county's request. Row-level security
reads that setting; with none set, every tenant table is empty.

A request's transaction runs on a psycopg connection of the pool (`request_db`): plain
`text()` statements go straight to psycopg, SQLAlchemy is opened on the same connection
for the statements that need it, and the transaction ends on psycopg. The CLI, the
owner's jobs and the tests use `Db` over a SQLAlchemy connection (`tenant_transaction`).
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
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


# The psycopg connection a request already holds: the serving engine's connection
# creator hands it to SQLAlchemy (api/app.py `_engine`) instead of taking another.
HELD: ContextVar[Any] = ContextVar("held_connection", default=None)


class _Listened:
    """What the engine's statement listeners get as the connection of a direct
    statement: its `info`, kept from before the statement to after it (metrics)."""

    __slots__ = ("info",)

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}


class Db:
    """One request's connection. GraphQL resolves sibling fields concurrently, and a
    connection runs one statement at a time, so statements queue on a lock.

    `Db(conn)` works over a SQLAlchemy connection (the CLI, downloads, tests);
    `Db(driver=…, engine=…)` over a psycopg connection of the pool (`request_db`), with
    a SQLAlchemy connection opened on that same connection only when a statement needs
    SQLAlchemy. Plain `text()` statements go straight to psycopg (`_direct`):
    SQLAlchemy's execution layer costs about 90 µs of CPU a statement more, and opening
    its connection, beginning and committing through it another 350 µs a request."""

    def __init__(self, conn: AsyncConnection | None = None, *, driver: Any = None, engine: AsyncEngine | None = None) -> None:
        self._sa = conn
        self._driver = driver  # the psycopg connection, once known
        engine = engine if engine is not None else (conn.engine if conn is not None else None)
        assert engine is not None
        self._engine = engine
        # Not on a traced engine: OpenTelemetry's spans come from SQLAlchemy's execution.
        self.direct_text = engine.sync_engine.get_execution_options().get(DIRECT_TEXT, True)
        self.tenant_id: int | None = None
        self._lock = asyncio.Lock()
        self._savepoints = 0
        self.keep_changes = False  # request_db: commit when the request leaves

    async def bind_tenant(self, tenant_id: int | None) -> None:
        self.tenant_id = tenant_id
        await self.execute(_BIND, {"tenant": "" if tenant_id is None else str(tenant_id)})

    async def execute(self, statement: Any, params: Any = None) -> Result:
        # (with parameters only: psycopg then sends one statement, as SQLAlchemy does; a
        # text of several statements, without, goes SQLAlchemy's way)
        sql = _direct_sql(statement) if self.direct_text and isinstance(params, dict) and params else None
        async with self._lock:
            if sql is None:
                return await (await self._sqlalchemy()).execute(statement, params)
            return await self._direct(sql, params)

    async def _sqlalchemy(self) -> AsyncConnection:
        if self._sa is None:
            await initialized(self._engine)
            token = HELD.set(self._driver)
            try:
                self._sa = await self._engine.connect()
            finally:
                HELD.reset(token)
        return self._sa

    async def _psycopg(self) -> Any:
        if self._driver is None:
            assert self._sa is not None
            self._driver = (await self._sa.get_raw_connection()).driver_connection
        return self._driver

    async def _direct(self, sql: str, params: dict[str, Any] | None) -> Result:
        """One statement on the psycopg connection, seen by the engine's statement
        listeners (metrics, tests' counters) and failing as SQLAlchemy would."""
        raw = await self._psycopg()
        engine = self._engine.sync_engine
        listened = _Listened() if engine._has_events else None
        if listened is not None:
            for before in engine.dispatch.before_cursor_execute:
                before(listened, None, sql, params, None, False)
        try:
            cursor = await raw.execute(sql, params)
            columns = cursor.description
            rows = await cursor.fetchall() if columns else []
        except psycopg.Error as error:
            raise exc.DBAPIError.instance(sql, params, error, psycopg.Error, hide_parameters=True) from error
        if listened is not None:
            for after in engine.dispatch.after_cursor_execute:
                after(listened, None, sql, params, None, False)
        return DirectResult([column.name for column in columns or ()], rows, cursor.rowcount)

    async def scalar(self, statement: Any, params: Any = None) -> Any:
        return (await self.execute(statement, params)).scalar()

    @asynccontextmanager
    async def savepoint(self, release: bool = True) -> AsyncIterator[None]:
        """A nested transaction: roll back one mutation's writes, keep the request's.
        `release=False` leaves it open on success (the commit releases it: one round trip
        less), for a savepoint taken once per mutation, not in a loop."""
        self._savepoints += 1
        name = f"zj_{self._savepoints}"
        async with self._lock:
            await self._direct(f"SAVEPOINT {name}", None)
        bound = self.tenant_id
        try:
            yield
        except BaseException:
            async with self._lock:
                await self._direct(f"ROLLBACK TO SAVEPOINT {name}", None)
            # PostgreSQL reverts set_config made inside the savepoint; mirror it.
            self.tenant_id = bound
            raise
        else:
            if release:
                async with self._lock:
                    await self._direct(f"RELEASE SAVEPOINT {name}", None)

    @asynccontextmanager
    async def driver(self) -> AsyncIterator[Any]:
        """The psycopg connection itself, for COPY. Holds the lock while in use."""
        async with self._lock:
            yield await self._psycopg()

    async def _end(self, commit: bool) -> None:
        """Commit (or roll back) on psycopg, where every statement of the request ran
        (SQLAlchemy's too), then close SQLAlchemy's connection if one was opened: its
        close gives the connection back to the pool (its rollback finds nothing to undo)."""
        async with self._lock:
            raw = await self._psycopg()
            try:
                await (raw.commit() if commit else raw.rollback())
            finally:
                if self._sa is not None:
                    await self._sa.close()


async def initialized(engine: AsyncEngine) -> None:
    """SQLAlchemy's first connection of an engine reads the server's version and then
    ROLLS BACK that connection: never a request's, whose work would be undone. So an
    engine meets its first connection on one of its own (api/app.py does this at start)."""
    if engine.dialect.server_version_info is None:
        async with engine.connect():
            pass


@asynccontextmanager
async def request_db(pool: Any, engine: AsyncEngine) -> AsyncIterator[Db]:
    """A connection of `pool` as a `Db`, for one request's transaction: committed on
    leaving if the body set `keep_changes`, else rolled back; back to the pool either way."""
    raw = await pool.getconn()
    db = Db(driver=raw, engine=engine)
    try:
        yield db
    finally:
        try:
            await db._end(db.keep_changes)
        finally:
            if db._sa is None:
                await pool.putconn(raw)


@asynccontextmanager
async def tenant_transaction(engine: AsyncEngine, tenant_id: int | None) -> AsyncIterator[Db]:
    async with engine.begin() as conn:
        db = Db(conn)
        await db.bind_tenant(tenant_id)
        yield db
