"""Rules of progress (征缴进度), quotas and ranking, no I/O.

- Progress = enrolled (paid, enrolled by full subsidy, or a newborn exempt because a
  parent is insured in the city) / quota, per unit, rolled up
  the tree; a unit without a quota of its own is measured against the sum of the
  quotas below it (`rolled_targets`).
- Ranks are among siblings: higher rate first, equal rates share a rank ("并列"), and
  within a tie units are listed by code, so the order never wobbles between calls.
- Weekly figures (一周一排名) are the last snapshot of each week.
- Called in (内乡 "排名后三名且未完成任务的…约谈"): the units in the bottom N of their
  siblings that are also below their quota (`called_in`).
- Enrolled as of a day (`enrolled_at`): what the record says about the end of a past
  day, for deadlines such as "96.5% by 12-31" (双牌), whether or not a snapshot was taken.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from itertools import islice
from typing import TypeVar
from zoneinfo import ZoneInfo

from domain.enrollment.rules import EnrollmentStatus, amount_due
from domain.policy.rules import YearPolicy
from domain.subsidy_lists.rules import ListChange
from tenants.problems import ErrorCode, Problem
from tenants.units import UnitRow

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Counts:
    unpaid: int = 0
    paid: int = 0
    subsidized: int = 0
    refunded: int = 0
    exempt: int = 0
    excused: int = 0  # a life event before the window closed: not required to enrol

    @property
    def enrolled(self) -> int:
        return self.paid + self.subsidized + self.exempt

    @property
    def persons(self) -> int:
        """The persons who must enrol (应保尽保): the excused are not among them."""
        return self.unpaid + self.paid + self.subsidized + self.refunded + self.exempt


@dataclass(frozen=True)
class UnitProgress:
    unit: UnitRow
    target: int
    counts: Counts
    rank: int = 0
    siblings: int = 0
    measured_on: date | None = None  # the snapshot's day; None: live
    called_in: bool = False  # bottom N of its siblings and below its quota (`called_in`)

    @property
    def enrolled(self) -> int:
        return self.counts.enrolled

    @property
    def rate(self) -> Fraction:
        return Fraction(self.enrolled, self.target) if self.target else Fraction(0)


def rank_key(target: int, enrolled: int) -> tuple[int, Fraction]:
    """Units with a target first, then by rate (exact: 1/3 and 2/6 tie)."""
    return (1 if target else 0, Fraction(enrolled, target) if target else Fraction(0))


# Below this product of the largest count and the largest target, enrolled / target as
# a float orders and ties siblings exactly as the fractions do (distinct rates differ by
# at least 1 / (t1 * t2), more than two steps of a double at that size).
_FLOAT_EXACT = 2**51


def _rank_keys(items: Sequence[tuple[int, int]]) -> list[tuple[int, float | Fraction]]:
    """`rank_key` of each (target, enrolled), as floats when they compare exactly
    (always, at a county's sizes): a Fraction costs a few microseconds per comparison."""
    if not items:
        return []
    largest = max(max(target, enrolled) for target, enrolled in items)
    if largest * largest >= _FLOAT_EXACT:
        return [rank_key(target, enrolled) for target, enrolled in items]
    return [(1, enrolled / target) if target else (0, 0.0) for target, enrolled in items]


def competition_ranks(items: list[tuple[str, int, int]]) -> dict[str, int]:
    """(code, target, enrolled) → rank 1, 2, 2, 4 …, ties sharing a rank."""
    keys = _rank_keys([(target, enrolled) for _, target, enrolled in items])
    keyed = sorted(zip(keys, (code for code, _, _ in items), strict=True), key=lambda k: ((-k[0][0], -k[0][1]), k[1]))
    ranks: dict[str, int] = {}
    previous = None
    for position, (key, code) in enumerate(keyed, start=1):
        if key != previous:
            rank, previous = position, key
        ranks[code] = rank
    return ranks


def ranked(rows: list[UnitProgress]) -> list[UnitProgress]:
    """Siblings with their ranks, best first, ties by code."""
    ranks = competition_ranks([(r.unit.code, r.target, r.enrolled) for r in rows])
    siblings = len(rows)
    done = [UnitProgress(r.unit, r.target, r.counts, ranks[r.unit.code], siblings, r.measured_on, r.called_in)
            for r in rows]
    return sorted(done, key=lambda r: (r.rank, r.unit.code))


def called_in(items: Sequence[tuple[K, int, int]], bottom: int | None) -> frozenset[K]:
    """Of siblings (key, target, enrolled), the keys called in: in the bottom `bottom`
    of the ranking AND below their target (内乡: "排名后三名且未完成任务的…约谈").

    - Only units with a target compete: a unit without a quota misses no task, and
      ranking it last must not push a laggard out of the bottom N.
    - Ties at the boundary are all in: a unit is in the bottom N when fewer than N
      competing siblings have a strictly lower rate (three units sharing the third-last
      place are all in), so no unit escapes by the order of its code.
    - A unit of the bottom N that reached its target is not called in, and its place is
      not passed on to the unit above it: the two conditions are read separately.
    - `bottom` None or 0: the policy has no such rule, nobody is called in.
    """
    if not bottom:
        return frozenset()
    competing = [(key, target, enrolled) for key, target, enrolled in items if target > 0]
    rates = [rate for _, rate in _rank_keys([(target, enrolled) for _, target, enrolled in competing])]
    ordered = sorted(rates)
    # bisect_left: how many competing siblings have a strictly lower rate
    return frozenset(key for (key, target, enrolled), rate in zip(competing, rates, strict=True)
                     if enrolled < target and bisect_left(ordered, rate) < bottom)


def flag_called_in(rows: list[UnitProgress], bottom: int | None) -> list[UnitProgress]:
    """A ranking of siblings with each row's `called_in` flag (`called_in`)."""
    flagged = called_in([(r.unit.id, r.target, r.enrolled) for r in rows], bottom)
    return [r if r.called_in == (r.unit.id in flagged) else replace(r, called_in=r.unit.id in flagged) for r in rows]


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
    called_in: bool = False


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
        problems.append(Problem(ErrorCode.INVALID_YEAR, ["year"], {"year": year}))
    if not entries and not replace:
        problems.append(Problem(ErrorCode.EMPTY, ["quotas"], variant="QUOTAS"))
    if len(entries) > MAX_QUOTAS_PER_CALL:
        return problems + [Problem(ErrorCode.TOO_MANY, ["quotas"], {"limit": MAX_QUOTAS_PER_CALL, "count": len(entries)}, "QUOTAS")]
    seen: set[int] = set()
    for index, entry in enumerate(entries):
        path = ["quotas", str(index)]
        if entry.unit_id is None:
            problems.append(Problem(ErrorCode.NOT_FOUND, path + ["unit"], {"index": index + 1}, "QUOTA_UNIT"))
        elif entry.unit_id in seen:
            problems.append(Problem(ErrorCode.DUPLICATE_UNIT, path + ["unit"], {"index": index + 1}))
        else:
            seen.add(entry.unit_id)
        if not 0 <= entry.target <= MAX_TARGET:
            problems.append(Problem(ErrorCode.INVALID_TARGET, path + ["target"], {"index": index + 1, "limit": MAX_TARGET}))
    return problems


def rolled_targets(quotas: dict[str, int], paths: Iterable[str]) -> dict[str, int]:
    """Target of each unit (by path): its own quota, else the sum of the topmost
    quotas inside its subtree (a township's own quota wins over its villages')."""
    ordered = sorted(quotas)  # in code-point order a subtree is one run, its root first
    result: dict[str, int] = {}
    for path in paths:
        if path in quotas:
            result[path] = quotas[path]
            continue
        total, top = 0, None
        for candidate in islice(ordered, bisect_left(ordered, path), None):
            if not candidate.startswith(path):
                break  # past the run
            if top is not None and candidate.startswith(top):
                continue  # below a quota already counted
            total, top = total + quotas[candidate], candidate
        result[path] = total
    return result


# --- Enrolled as of a day --------------------------------------------------------------
#
# A deadline such as "96.5% by 12-31" (双牌) is measured from the record, not from a
# snapshot: the record is the truth, a snapshot a cache of it taken that night. A person
# counts as enrolled at the end of day D (Beijing time) when
#
# - PAID by then: a payment that was ACCEPTED (never a DUPLICATE), paid before D ended,
#   and not refunded whole (its refund approved) before D ended; or
# - SUBSIDIZED by then: registered before D ended, the subsidy lists as their versions
#   uploaded before D ended left them (and the age-based categories) give a subsidy that
#   leaves nothing to collect (`amount_due` says SUBSIDIZED), and no whole refund of a
#   payment of theirs was approved before D ended (a refunded year stays REFUNDED, as
#   the live status does).
#
# What happened after D does not reach back: a refund approved on 01-05 leaves the
# person enrolled on 12-31, a list version of 01-05 that drops them too, and a payment
# stamped 12-31 23:59 that arrived in a channel file on 01-03 counts for 12-31 — that
# last case is where the record is more right than the snapshot of 12-31 was. The
# year's current policy (categories and amounts) is applied to every day.

BEIJING = ZoneInfo("Asia/Shanghai")


def day_end(day: date) -> datetime:
    """The first moment after `day` in Beijing time: 'by D' means before this."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=BEIJING)


@dataclass(frozen=True)
class PaymentRecord:
    """A payment of the person's year that was ACCEPTED (DUPLICATE payments never count)."""

    paid_at: datetime
    refunded_at: datetime | None = None  # when a whole refund of it was approved


@dataclass(frozen=True)
class ListEntryRecord:
    """A change one version of a category's list made to the person's ID number."""

    category: str
    version: int
    uploaded_at: datetime
    change: ListChange


@dataclass(frozen=True)
class PersonRecord:
    registered_at: datetime
    birth_date: date | None
    payments: tuple[PaymentRecord, ...] = ()
    entries: tuple[ListEntryRecord, ...] = ()
    released_at: datetime | None = None  # released to another county by a decision (重复参保)


def listed_at(entries: Iterable[ListEntryRecord], until: datetime) -> set[str]:
    """The categories whose list, as its last version uploaded before `until` left it,
    holds the person: per category the last change up to that version, unless REMOVED."""
    last: dict[str, ListEntryRecord] = {}
    for entry in entries:
        if entry.uploaded_at < until and (entry.category not in last or entry.version > last[entry.category].version):
            last[entry.category] = entry
    return {code for code, entry in last.items() if entry.change is not ListChange.REMOVED}


def enrolled_at(policy: YearPolicy, person: PersonRecord, until: datetime) -> bool:
    """Whether the record has the person enrolled (PAID or SUBSIDIZED) just before `until`
    (`day_end(D)` for "by D"). domain/progress/sql.py counts the same set-wise."""
    def refunded(p: PaymentRecord) -> bool:
        return p.refunded_at is not None and p.refunded_at < until

    if any(p.paid_at < until and not refunded(p) for p in person.payments):
        return True
    if person.registered_at >= until or any(refunded(p) for p in person.payments):
        return False
    if person.released_at is not None and person.released_at < until:
        return False  # a year not paid here ends with the release; a paid one with its refund
    due = amount_due(policy, listed_at(person.entries, until), person.birth_date)
    return due.status_if_unpaid is EnrollmentStatus.SUBSIDIZED
