"""What a process keeps in memory, bounded: the oldest entry makes room for a new one.

Each user checks an entry against a version read from the database before trusting it
(domain/policy/store.py `PolicyCache`, domain/progress/store.py `ChildrenCache`); this
only bounds how many entries a process holds."""
from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Kept(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        if len(self._entries) >= self.size and key not in self._entries:
            self._entries.pop(next(iter(self._entries)))  # the oldest
        self._entries[key] = value
