"""Expected failures as data: the GraphQL layer turns them into `userErrors`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

R = TypeVar("R")


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


class RejectedWithReport(Rejected, Generic[R]):
    """A refusal that still answers: every write is undone, but `report` (what the body
    found, e.g. an upload's counts and row errors) goes back with the userErrors, so the
    caller can fix the input without a second, dry, run."""

    def __init__(self, problems: list[Problem], report: R) -> None:
        super().__init__(problems)
        self.report = report
