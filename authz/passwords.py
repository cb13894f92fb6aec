"""argon2id password hashing. Cost comes from settings (tests turn it down).

argon2 holds a CPU for tens of milliseconds by design, so the server never runs it on
the event loop: `hash_async` and `verify_async` queue it on a small thread pool of its
own (argon2-cffi releases the GIL while hashing). Its size bounds how many CPUs logins
can take at once; the other requests keep the event loop. `hash` and `verify` stay for
synchronous callers.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from authz.password_rules import password_problem  # noqa: F401 (api/demo.py imports it from here)

# Verified against when the username is unknown, so both failures cost the same time.
_DUMMY_PASSWORD = "not-a-real-password"


@lru_cache(maxsize=4)
def hasher(time_cost: int = 3, memory_kib: int = 65_536) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


class Passwords:
    def __init__(self, time_cost: int = 3, memory_kib: int = 65_536, threads: int = 2) -> None:
        self._hasher = hasher(time_cost, memory_kib)
        self._dummy_hash = self._hasher.hash(_DUMMY_PASSWORD)
        self._pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="argon2")
        # Logins take a turn before their request takes a database connection, so a
        # crowd of them queues here and not in the connection pool (`schema/login_gate.py`).
        self._turns = asyncio.Semaphore(2 * max(1, threads))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash or self._dummy_hash, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    async def hash_async(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.hash, password)

    async def verify_async(self, stored_hash: str | None, password: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.verify, stored_hash, password)

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait until fewer logins than twice the argon2 threads are under way."""
        async with self._turns:
            yield

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
