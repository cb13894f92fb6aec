"""When a login is answered at all: back-off and lockout per account and per address.

Pure rules over one counter row (see `throttle_store`); no I/O. Failures count from the
first failure for `window_seconds`; after that the count starts again. A successful
login clears its account's counter (never its address's: one valid account must not
reset the count of a guessing address).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Subject(StrEnum):
    ACCOUNT = "account"
    ADDRESS = "address"


@dataclass(frozen=True)
class LoginLimits:
    slow_after: int = 5  # consecutive failures of an account before back-off
    lock_after: int = 10  # failures of an account within the window that lock it
    address_slow_after: int = 20
    address_lock_after: int = 50
    window_seconds: int = 900
    lock_seconds: int = 900
    backoff_seconds: float = 1.0  # the first wait; it doubles with each further failure
    backoff_max_seconds: float = 300.0

    def slow_after_for(self, subject: Subject) -> int:
        return self.slow_after if subject is Subject.ACCOUNT else self.address_slow_after

    def lock_after_for(self, subject: Subject) -> int:
        return self.lock_after if subject is Subject.ACCOUNT else self.address_lock_after


@dataclass(frozen=True)
class Counter:
    subject: Subject
    failures: int
    window_started: datetime | None
    last_failure_at: datetime | None
    locked_until: datetime | None


def locked(counter: Counter, now: datetime) -> bool:
    return counter.locked_until is not None and counter.locked_until > now


def lock_is_over(counter: Counter, now: datetime) -> bool:
    return counter.locked_until is not None and counter.locked_until <= now


def failures_in_window(counter: Counter, limits: LoginLimits, now: datetime) -> int:
    started = counter.window_started
    if started is None or now - started >= timedelta(seconds=limits.window_seconds):
        return 0
    return counter.failures


def backoff(failures: int, slow_after: int, limits: LoginLimits) -> timedelta:
    """0 below `slow_after` failures, then the first wait, doubling, up to the cap."""
    if failures < slow_after:
        return timedelta(0)
    exponent = min(failures - slow_after, 32)  # 2**32 s is past any cap
    return timedelta(seconds=min(limits.backoff_seconds * 2**exponent, limits.backoff_max_seconds))


def refused(counter: Counter, limits: LoginLimits, now: datetime) -> bool:
    """Answer this attempt with INVALID_CREDENTIALS before checking any password?"""
    if locked(counter, now):
        return True
    if lock_is_over(counter, now):
        return False  # the store clears it before this attempt is counted
    failures = failures_in_window(counter, limits, now)
    wait = backoff(failures, limits.slow_after_for(counter.subject), limits)
    return wait > timedelta(0) and counter.last_failure_at is not None and now < counter.last_failure_at + wait
