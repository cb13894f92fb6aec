"""At most a few batch jobs of one county at a time — list uploads, payment and history
imports, roster uploads, spreadsheet downloads — so one county's batch work cannot take
every database connection and starve the collectors of the others; and one at a time
per user, so one clerk's repeated clicks do not take all of the county's.

A slot is a transaction-scoped advisory lock in the database: it holds across worker
processes and hosts, and goes when the request's transaction ends, however it ends.
"""
from __future__ import annotations

from sqlalchemy import text

from tenants.problems import ErrorCode, Problem, Rejected
from tenants.session import Db

_LOCK_CLASS = 20170  # pg_advisory_xact_lock(class, key): the class of batch slots
_USER_CLASS = 20171  # … and of a user's one job
_PER_TENANT = 64  # keys per county (more than any slot count)

# The first free slot, locked; the scan stops at it (LIMIT 1), so one lock is taken.
_TAKE = text(
    """SELECT s FROM generate_series(0, :slots - 1) AS s
        WHERE pg_try_advisory_xact_lock(:class, CAST((:tenant * :per + s) % 2147483647 AS int))
        LIMIT 1"""
)


_TAKE_USER = text("SELECT pg_try_advisory_xact_lock(:class, hashtext(:tenant || '/' || :user))")


async def take_batch_slot(db: Db, tenant_id: int, slots: int, user: str, field: str = "file") -> None:
    """Take the user's one job and one of the county's `slots`, or refuse with TOO_BUSY
    (0 slots: no limit)."""
    if slots <= 0:
        return
    if not await db.scalar(_TAKE_USER, {"class": _USER_CLASS, "tenant": str(tenant_id), "user": user}):
        raise Rejected([Problem(ErrorCode.TOO_BUSY, [field], {"slots": 1}, "USER")])
    found = await db.scalar(_TAKE, {"slots": slots, "class": _LOCK_CLASS, "tenant": tenant_id, "per": _PER_TENANT})
    if found is None:
        raise Rejected([Problem(ErrorCode.TOO_BUSY, [field], {"slots": slots})])


def user_key_sql() -> str:
    """The advisory lock of a user's job, as SQL with :tenant and :user (for tests)."""
    return f"SELECT {_USER_CLASS}, hashtext(:tenant || '/' || :user)"


def slot_key(tenant_id: int, slot: int) -> tuple[int, int]:
    """The advisory lock of a slot (for operators and tests)."""
    return _LOCK_CLASS, (tenant_id * _PER_TENANT + slot) % 2147483647
