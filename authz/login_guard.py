"""The login throttle: which attempts get a password check, and what a failure costs.

Per account and per client address: back-off after a few consecutive failures, a lock
after more within a window (`throttle_rules`). Refused attempts never reach argon2 and
are not counted. The caller answers every refusal with the one INVALID_CREDENTIALS, so
nobody learns from the answer that a lock exists. Locks and their ends go to the
county's audit log when the county is known, and to the log (no raw address) always.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from authz.throttle_rules import LoginLimits, Subject, refused
from authz.throttle_store import (
    clear,
    count_failure,
    end_lock,
    prune,
    read_counters,
    throttle_key,
)
from tenants import metrics
from tenants.audit import write_audit
from tenants.clock import Clock
from tenants.session import Db

log = logging.getLogger("zhengjiao.login")

_PRUNE_EVERY_SECONDS = 600


@dataclass(frozen=True)
class Attempt:
    """Who tries to log in, from where. `tenant_code` None: a platform operator."""

    tenant_code: str | None
    username: str
    address: str | None


@dataclass(frozen=True)
class Filing:
    """Where a lock event of this attempt is reported."""

    tenant_id: int | None
    user_id: int | None
    username: str
    correlation_id: str | None


class LoginGuard:
    def __init__(self, limits: LoginLimits, secret_key: str) -> None:
        self.limits = limits
        self._secret = secret_key
        self._next_prune = 0.0
        # Wall time, not the business clock a training environment may pin to a past
        # campaign; pinned only by tests.
        self.clock = Clock()

    def now(self) -> datetime:
        return self.clock.now()

    def keys(self, attempt: Attempt) -> dict[Subject, str]:
        if attempt.tenant_code is None:
            account = f"operator\x00{attempt.username}"
        else:
            account = f"county\x00{attempt.tenant_code.strip()}\x00{attempt.username}"
        keys = {Subject.ACCOUNT: throttle_key(self._secret, Subject.ACCOUNT, account)}
        if attempt.address:
            keys[Subject.ADDRESS] = throttle_key(self._secret, Subject.ADDRESS, attempt.address)
        return keys

    async def admit(self, db: Db, keys: dict[Subject, str], now: datetime, filing: Filing) -> bool:
        """May this attempt have its password checked? Ends (and reports) locks that are over."""
        counters = await read_counters(db, list(keys.values()))
        for subject, key in keys.items():
            counter = counters.get(key)
            if counter is None:
                continue
            if refused(counter, self.limits, now):
                return False
            if counter.locked_until is not None:
                ended = await end_lock(db, key, now)
                if ended is not None:
                    await _report(db, subject, "login.unlocked", ended, filing, key)
        return True

    async def failed(self, db: Db, keys: dict[Subject, str], now: datetime, filing: Filing) -> None:
        for subject, key in keys.items():
            failure = await count_failure(db, key, subject, self.limits, now)
            if failure.locked_now:
                metrics.login_locked(subject.value)
                await _report(db, subject, "login.locked", failure.locked_until, filing, key)
        await self._prune_now_and_then(db, now)

    async def succeeded(self, db: Db, keys: dict[Subject, str]) -> None:
        """A right password clears its account's count; its address's stays."""
        await clear(db, keys[Subject.ACCOUNT])

    async def _prune_now_and_then(self, db: Db, now: datetime) -> None:
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + _PRUNE_EVERY_SECONDS
        await prune(db, self.limits, now)


async def _report(db: Db, subject: Subject, operation: str, until: datetime | None, filing: Filing, key: str) -> None:
    until_text = until.isoformat() if until else None
    if subject is Subject.ADDRESS:
        # An address belongs to no county; the key's start tells its log lines apart.
        log.warning("%s: client address %s… until %s [%s]", operation, key[:12], until_text, filing.correlation_id)
        return
    log.warning(
        "%s: account %r of %s until %s [%s]",
        operation,
        filing.username,
        f"county {filing.tenant_id}" if filing.tenant_id else "no county",
        until_text,
        filing.correlation_id,
    )
    if filing.tenant_id is None:
        return  # operators and unknown counties: the log line is the record
    await write_audit(
        db,
        tenant_id=filing.tenant_id,
        actor="anonymous",
        operation=operation,
        outcome="ok",
        entity="user",
        entity_id=filing.user_id,
        after={"username": filing.username, "lockedUntil": until_text},
        correlation_id=filing.correlation_id,
    )
