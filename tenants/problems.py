"""Expected failures as data: the GraphQL layer turns them into `userErrors`."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    field: list[str] = field(default_factory=list)


class Rejected(Exception):
    """Raised inside a savepoint to undo every write of a mutation and report why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems
