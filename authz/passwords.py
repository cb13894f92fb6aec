"""argon2id password hashing. Cost comes from settings (tests turn it down)."""
from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Verified against when the username is unknown, so both failures cost the same time.
_DUMMY_PASSWORD = "not-a-real-password"


@lru_cache(maxsize=4)
def hasher(time_cost: int = 3, memory_kib: int = 65_536) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


class Passwords:
    def __init__(self, time_cost: int = 3, memory_kib: int = 65_536) -> None:
        self._hasher = hasher(time_cost, memory_kib)
        self._dummy_hash = self._hasher.hash(_DUMMY_PASSWORD)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash or self._dummy_hash, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False


MIN_PASSWORD_LENGTH = 10


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"password must have at least {MIN_PASSWORD_LENGTH} characters"
    if password.isdigit() or password.isalpha():
        return "password must mix letters with digits or symbols"
    return None
