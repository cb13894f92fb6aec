"""Rules of progress (征缴进度), quotas and ranking, no I/O.

- Progress = enrolled (paid, enrolled by full subsidy, or a newborn exempt because a
  parent is insured in the city) / quota, per unit, rolled up
  the tree; a unit without a quota of its own is measured against the sum of the
  quotas below it (`rolled_targets`).
- Ranks are among siblings: higher rate first, equal rates share a rank ("并列"), and
  within a tie units are listed by code, so the order never wobbles between calls.
- Weekly figures (一周一排名) are the last snapshot of each week.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction

from tenants.problems import Problem
from tenants.units import UnitRow


@dataclass(frozen=True)
class Counts:
    unpaid: int = 0
    paid: int = 0
    subsidized: int = 0
    refunded: int = 0
    exempt: int = 0

    @property
    def enrolled(self) -> int:
        return self.paid + self.subsidized + self.exempt

    @property
    def persons(self) -> int:
        return self.unpaid + self.paid + self.subsidized + self.refunded + self.exempt


@dataclass(frozen=True)
class UnitProgress:
    unit: UnitRow
    target: int
    counts: Counts
    rank: int = 0
    siblings: int = 0
    measured_on: date | None = None  # the snapshot's day; None: live

    @property
    def enrolled(self) -> int:
        return self.counts.enrolled

    @property
    def rate(self) -> Fraction:
        return Fraction(self.enrolled, self.target) if self.target else Fraction(0)


def rank_key(target: int, enrolled: int) -> tuple[int, Fraction]:
    """Units with a target first, then by rate (exact: 1/3 and 2/6 tie)."""
    return (1 if target else 0, Fraction(enrolled, target) if target else Fraction(0))


def competition_ranks(items: list[tuple[str, int, int]]) -> dict[str, int]:
    """(code, target, enrolled) → rank 1, 2, 2, 4 …, ties sharing a rank."""
    ordered = sorted(items, key=lambda i: (tuple(-x for x in rank_key(i[1], i[2])), i[0]))
    ranks: dict[str, int] = {}
    previous = None
    for position, (code, target, enrolled) in enumerate(ordered, start=1):
        key = rank_key(target, enrolled)
        if key != previous:
            rank, previous = position, key
        ranks[code] = rank
    return ranks


def ranked(rows: list[UnitProgress]) -> list[UnitProgress]:
    """Siblings with their ranks, best first, ties by code."""
    ranks = competition_ranks([(r.unit.code, r.target, r.enrolled) for r in rows])
    done = [replace(r, rank=ranks[r.unit.code], siblings=len(rows)) for r in rows]
    return sorted(done, key=lambda r: (r.rank, r.unit.code))


def visible(rows: list[UnitProgress], scope_path: str) -> list[UnitProgress]:
    """What a scoped caller may see of a ranking: units inside its scope and the one
    unit above it on its way up (a township sees its own line among all townships,
    with its rank, not the others' figures)."""
    return [r for r in rows if r.unit.path.startswith(scope_path) or scope_path.startswith(r.unit.path)]


@dataclass(frozen=True)
class Point:
    day: date
    target: int
    counts: Counts
    rank: int | None
    siblings: int | None


def weekly(points: list[Point]) -> list[Point]:
    """The last snapshot of each ISO week (一周一排名)."""
    last: dict[tuple[int, int], Point] = {}
    for point in points:
        iso = point.day.isocalendar()
        last[(iso[0], iso[1])] = point
    return sorted(last.values(), key=lambda p: p.day)


MAX_QUOTAS_PER_CALL = 10_000


MAX_TARGET = 100_000_000


@dataclass(frozen=True)
class QuotaEntry:
    unit_id: int | None  # None: the caller named a unit that could not be read
    target: int


def check_entries(year: int, entries: list[QuotaEntry], replace: bool) -> list[Problem]:
    """Every problem of a request at once, each naming its index in `quotas`."""
    problems: list[Problem] = []
    if not 2000 <= year <= 2100:
        problems.append(Problem("INVALID_YEAR", f"year {year} is out of range", ["year"]))
    if not entries and not replace:
        problems.append(Problem("EMPTY", "at least one quota is required (or replace: true to clear the year)", ["quotas"]))
    if len(entries) > MAX_QUOTAS_PER_CALL:
        return problems + [Problem("TOO_MANY", f"at most {MAX_QUOTAS_PER_CALL} quotas per call", ["quotas"])]
    seen: set[int] = set()
    for index, entry in enumerate(entries):
        path = ["quotas", str(index)]
        if entry.unit_id is None:
            problems.append(Problem("NOT_FOUND", f"quota #{index + 1}: unit does not exist in this county", path + ["unit"]))
        elif entry.unit_id in seen:
            problems.append(Problem("DUPLICATE_UNIT", f"quota #{index + 1}: the unit appears twice", path + ["unit"]))
        else:
            seen.add(entry.unit_id)
        if not 0 <= entry.target <= MAX_TARGET:
            problems.append(Problem("INVALID_TARGET", f"quota #{index + 1}: target must be 0 to {MAX_TARGET:,}", path + ["target"]))
    return problems


def rolled_targets(quotas: dict[str, int], paths: Iterable[str]) -> dict[str, int]:
    """Target of each unit (by path): its own quota, else the sum of the topmost
    quotas inside its subtree (a township's own quota wins over its villages')."""
    ordered = sorted(quotas)  # in C order a subtree is one run, its root first
    result: dict[str, int] = {}
    for path in paths:
        if path in quotas:
            result[path] = quotas[path]
            continue
        total, top = 0, None
        for candidate in ordered:
            if not candidate.startswith(path):
                continue
            if top is not None and candidate.startswith(top):
                continue  # below a quota already counted
            total, top = total + quotas[candidate], candidate
        result[path] = total
    return result
