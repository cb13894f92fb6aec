"""The login counters in PostgreSQL (`login_throttle`), shared by every server process.

A row is keyed by an HMAC of what it counts (an account or a client address) under the
application secret: the table holds no username and no IP address. Counting is one
INSERT … ON CONFLICT DO UPDATE, so concurrent failures each count exactly once and
exactly one of them sees the lock begin.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text

from authz.throttle_rules import Counter, LoginLimits, Subject
from tenants.session import Db


def throttle_key(secret: str, subject: Subject, value: str) -> str:
    message = f"login-throttle\x00{subject.value}\x00{value}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


_READ = text(
    "SELECT key, subject, failures, window_started, last_failure_at, locked_until"
    " FROM login_throttle WHERE key = ANY(:keys)"
)


async def read_counters(db: Db, keys: list[str]) -> dict[str, Counter]:
    rows = (await db.execute(_READ, {"keys": keys})).all()
    return {
        r.key: Counter(Subject(r.subject), r.failures, r.window_started, r.last_failure_at, r.locked_until) for r in rows
    }


# A DELETE waiting on another's row lock re-checks its condition, so of two attempts
# that find the same lock over, one removes it (and reports it) and the other finds none.
_END_LOCK = text("DELETE FROM login_throttle WHERE key = :key AND locked_until <= :now RETURNING locked_until")


async def end_lock(db: Db, key: str, now: datetime) -> datetime | None:
    """Forget a counter whose lock is over; returns when it ended, or None if none was."""
    return await db.scalar(_END_LOCK, {"key": key, "now": now})


# The window restarts when its first failure is `window_seconds` old; the lock starts
# at the failure that makes the count reach the threshold, and only there.
_NEW_WINDOW = "(t.window_started IS NULL OR t.window_started <= :window_floor)"
_COUNTED = f"CASE WHEN {_NEW_WINDOW} THEN 1 ELSE t.failures + 1 END"
_FAIL = text(
    f"""
INSERT INTO login_throttle AS t (key, subject, failures, window_started, last_failure_at, locked_until)
VALUES (:key, :subject, 1, :now, :now, :first_lock)
ON CONFLICT (key) DO UPDATE SET
    failures = {_COUNTED},
    window_started = CASE WHEN {_NEW_WINDOW} THEN :now ELSE t.window_started END,
    last_failure_at = :now,
    locked_until = CASE WHEN {_COUNTED} = :lock_after THEN :lock_end ELSE t.locked_until END
RETURNING t.failures, t.locked_until, t.failures = :lock_after AS locked_now
"""
)


@dataclass(frozen=True)
class Failure:
    failures: int
    locked_until: datetime | None
    locked_now: bool  # this failure started the lock


async def count_failure(db: Db, key: str, subject: Subject, limits: LoginLimits, now: datetime) -> Failure:
    lock_after = limits.lock_after_for(subject)
    lock_end = now + timedelta(seconds=limits.lock_seconds)
    row = (
        await db.execute(
            _FAIL,
            {
                "key": key,
                "subject": subject.value,
                "now": now,
                "window_floor": now - timedelta(seconds=limits.window_seconds),
                "lock_after": lock_after,
                "lock_end": lock_end,
                "first_lock": lock_end if lock_after <= 1 else None,
            },
        )
    ).one()
    return Failure(row.failures, row.locked_until, row.locked_now)


async def clear(db: Db, key: str) -> None:
    await db.execute(text("DELETE FROM login_throttle WHERE key = :key"), {"key": key})


async def prune(db: Db, limits: LoginLimits, now: datetime) -> int:
    """Forget counters whose window is over and that hold no lock. Locked rows stay until
    an attempt finds the lock over, so every lock's end is reported."""
    floor = now - timedelta(seconds=limits.window_seconds)
    result = await db.execute(
        text("DELETE FROM login_throttle WHERE locked_until IS NULL AND last_failure_at < :floor"), {"floor": floor}
    )
    return result.rowcount
