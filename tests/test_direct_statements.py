"""Plain `text()` statements run straight on psycopg (tenants/session.py `Db._direct`):
the same rows, counts and errors as through SQLAlchemy, seen by the engine's statement
listeners, and SQLAlchemy's way whenever a statement needs its processing."""
from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event, exc, text

from api.owner import owner_engine
from tenants.session import DIRECT_TEXT, Db, _direct_sql

SETUP = """
CREATE TEMP TABLE direct_probe (id int PRIMARY KEY, amount numeric(12, 2), day date, tags text[], note text)
ON COMMIT DROP;
INSERT INTO direct_probe VALUES (1, 320.00, '2026-09-01', '{a,b}', 'x'), (2, 0, NULL, '{}', NULL),
                                (3, 400.50, '2027-01-01', NULL, '百分之百 %')
"""

# (statement, parameters, how to read the result)
READS = [
    ("SELECT * FROM direct_probe WHERE id = ANY(:ids) ORDER BY id", {"ids": [1, 2, 3]}, "mappings"),
    ("SELECT amount, day FROM direct_probe WHERE id = :id", {"id": 3}, "one"),
    ("SELECT count(*) FROM direct_probe WHERE amount > :floor", {"floor": Decimal("100")}, "scalar"),
    ("SELECT CAST(:n AS int) + 1 AS next, '100%' AS pct, note, id::text AS label FROM direct_probe WHERE id = :id", {"n": 41, "id": 3}, "first"),
    ("SELECT id FROM direct_probe WHERE day < :day", {"day": date(2027, 1, 1)}, "scalars"),
    ("UPDATE direct_probe SET note = :note WHERE id <= :id", {"note": "y", "id": 2}, "rowcount"),
    ("SELECT id, note FROM direct_probe WHERE note IS NULL", {"id": 0}, "all"),
]


def _read(result, how: str):  # noqa: ANN001, ANN202
    if how == "mappings":
        return [dict(row) for row in result.mappings().all()]
    if how == "one":
        row = result.one()
        return (tuple(row), row.amount, row.day)
    if how == "scalar":
        return result.scalar()
    if how == "first":
        row = result.first()
        return (row.next, row.pct, row.note, row._mapping["next"])
    if how == "scalars":
        return list(result.scalars())
    if how == "rowcount":
        return result.rowcount
    return [tuple(row) for row in result.all()]


class _Undo(Exception):
    pass


async def _undone(db: Db, sql: str, params: dict, how: str):  # noqa: ANN202
    """The statement's answer, its writes rolled back (both ways start from one state)."""
    answer = None
    try:
        async with db.savepoint():
            answer = _read(await db.execute(text(sql), params), how)
            raise _Undo
    except _Undo:
        return answer


def _run(urls, settings, work):  # noqa: ANN001, ANN202
    async def main():  # noqa: ANN202
        engine = owner_engine(urls, settings)
        try:
            async with engine.connect() as conn:
                await conn.begin()
                db = Db(conn)
                await db.execute(text(SETUP))
                return await work(db, engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def test_direct_statements_read_and_write_as_sqlalchemy_does(settings, urls) -> None:
    async def work(db: Db, engine):  # noqa: ANN001, ANN202
        seen = []
        for sql, params, how in READS:
            answers = []
            for direct in (True, False):
                db.direct_text = direct
                answers.append(await _undone(db, sql, params, how))
            seen.append((sql, answers))
        return seen

    for sql, (direct, through_sqlalchemy) in _run(urls, settings, work):
        assert direct == through_sqlalchemy, sql
        assert _direct_sql(text(sql)) is not None, sql  # the statement did take the direct way


def test_a_database_error_is_sqlalchemys_error(settings, urls) -> None:
    async def work(db: Db, engine):  # noqa: ANN001, ANN202
        caught = []
        for direct in (True, False):
            db.direct_text = direct
            with pytest.raises(exc.IntegrityError) as error:
                async with db.savepoint():
                    await db.execute(text("INSERT INTO direct_probe (id) VALUES (:id)"), {"id": 1})
            caught.append((type(error.value), error.value.orig.sqlstate, error.value.hide_parameters))
        return caught

    direct, through_sqlalchemy = _run(urls, settings, work)
    assert direct[:2] == through_sqlalchemy[:2] == (exc.IntegrityError, "23505")
    assert direct[2] is True  # no ID number of a failed statement reaches a log


def test_statements_that_need_sqlalchemy_go_its_way_and_every_statement_is_seen(settings, urls) -> None:
    preset = text("SELECT id FROM direct_probe WHERE id = :id").bindparams(id=2)
    several = "ANALYZE direct_probe; SELECT 1"
    assert _direct_sql(preset) is None

    async def work(db: Db, engine):  # noqa: ANN001, ANN202
        statements: list[str] = []

        def count(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
            statements.append(statement)

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            found = (await db.execute(preset)).scalar()
            await db.execute(text(several))
            await db.execute(text("SELECT id FROM direct_probe WHERE id = :id"), {"id": 3})
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        return found, statements

    found, statements = _run(urls, settings, work)
    assert found == 2
    assert statements[-1] == "SELECT id FROM direct_probe WHERE id = %(id)s"  # the direct one, counted
    assert len(statements) == 3


def test_a_traced_engine_sends_everything_through_sqlalchemy(settings, urls) -> None:
    async def main() -> tuple[bool, bool]:
        plain, traced = owner_engine(urls, settings), owner_engine(urls, settings)
        traced.update_execution_options(**{DIRECT_TEXT: False})
        try:
            async with plain.connect() as a, traced.connect() as b:
                return Db(a).direct_text, Db(b).direct_text
        finally:
            await plain.dispose()
            await traced.dispose()

    assert asyncio.run(main()) == (True, False)


def test_sqlalchemy_opened_late_on_a_new_engine_keeps_the_requests_work(settings, urls) -> None:
    """An engine's first SQLAlchemy connection rolls its connection back after reading
    the server's version: opened on a request's connection, it would undo the request."""
    from psycopg_pool import AsyncConnectionPool
    from sqlalchemy import select

    from api.app import _connection_kwargs, _engine
    from tenants.models import Tenant
    from tenants.session import request_db

    async def main() -> tuple[object, object]:
        pool = AsyncConnectionPool(
            urls.app, min_size=1, max_size=2, kwargs=_connection_kwargs(settings), close_returns=True, open=False
        )
        await pool.open(wait=True)
        engine = _engine(pool)  # new: SQLAlchemy has not met the server through it yet
        try:
            async with request_db(pool, engine) as db:
                await db.bind_tenant(424242)  # straight on psycopg
                await db.execute(select(Tenant.id).where(Tenant.id == 0))  # SQLAlchemy's first connection
                after = await db.scalar(text("SELECT current_setting('app.tenant_id', true) AS t"), {"unused": 0})
            for _ in range(5):  # SQLAlchemy opened again and again on the one pooled connection
                async with request_db(pool, engine) as db:
                    await db.execute(select(Tenant.id).where(Tenant.id == 0))
                    handlers = len((await db._psycopg())._notice_handlers)
            assert handlers == 1  # its notice logger once, not once per request
            return after, engine.dialect.server_version_info
        finally:
            await engine.dispose()
            await pool.close()

    bound, version = asyncio.run(main())
    assert bound == "424242"
    assert version is not None


def test_a_savepoint_left_open_keeps_its_writes_and_a_later_one_still_rolls_back(settings, urls) -> None:
    """`savepoint(release=False)`, a mutation's (the commit releases it): its writes stay,
    and a savepoint taken after it still undoes only its own."""
    async def work(db: Db, engine):  # noqa: ANN001, ANN202
        async with db.savepoint(release=False):
            await db.execute(text("INSERT INTO direct_probe (id) VALUES (:id)"), {"id": 71})
        try:
            async with db.savepoint(release=False):
                await db.execute(text("INSERT INTO direct_probe (id) VALUES (:id)"), {"id": 72})
                raise _Undo
        except _Undo:
            pass
        async with db.savepoint():
            await db.execute(text("INSERT INTO direct_probe (id) VALUES (:id)"), {"id": 73})
        rows = await db.execute(text("SELECT id FROM direct_probe WHERE id > 70 ORDER BY id"))
        return [r.id for r in rows]

    assert _run(urls, settings, work) == [71, 73]
