"""Day two of the tree, the pure part: what a rename, a merge or a retirement may do.

Division codes change when divisions are merged (DOMAIN.md §2), so a code is an
attribute checked like at creation (tenants/tree.py), never part of a unit's path:
paths are made of ids, and a re-coded unit keeps its place and its subtree.
"""
from __future__ import annotations

from dataclasses import dataclass

from tenants.kinds import TOWNSHIP_LEVEL, VILLAGE_LEVEL, UnitKind
from tenants.problems import ErrorCode, Problem
from tenants.tree import FlatUnit, validate_units


@dataclass(frozen=True)
class UnitState:
    """A unit as read under its row lock."""

    id: int
    parent_id: int | None
    code: str
    name: str
    kind: UnitKind
    path: str
    depth: int
    retired: bool
    persons: int

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}"

    def summary(self) -> dict[str, object]:
        """What the audit trail keeps of it (before → after)."""
        return {"code": self.code, "name": self.name, "kind": str(self.kind), "path": self.path,
                "retired": self.retired, "persons": self.persons}


def merge_level(kind: UnitKind) -> str:
    """Units that may merge: villages with villages (行政村 and 社区 alike), townships
    with townships (乡, 镇, 街道, 管理局), schools with schools, special units with
    special units."""
    if kind in VILLAGE_LEVEL:
        return "VILLAGE"
    if kind in TOWNSHIP_LEVEL:
        return "TOWNSHIP"
    return str(kind)


def check_update(unit: UnitState, name: str | None, code: str | None, code_taken: bool) -> list[Problem]:
    """A new name and/or code, checked as addUnits checks them; fields `name`, `code`."""
    if name is None and code is None:
        return [Problem(ErrorCode.EMPTY, ["name"], variant="UNIT_CHANGE")]
    problems = []
    if unit.retired:
        problems.append(Problem(ErrorCode.UNIT_RETIRED, ["unit"], {"unit": unit.label}))
    new = FlatUnit(
        code=unit.code if code is None else code.strip(),
        name=unit.name if name is None else name.strip(),
        kind=unit.kind, parent_code=None, level=0, field_path=(),
    )
    taken = {new.code} if code_taken and code is not None else set()
    problems += validate_units([new], existing_codes=taken)
    return problems


def check_merge(source: UnitState, target: UnitState) -> list[Problem]:
    """Both units of this county (the caller found them), of one level, distinct, in
    service, and the target not inside the source's subtree."""
    if source.id == target.id:
        return [Problem(ErrorCode.MERGE_SAME_UNIT, ["into"], {"unit": source.label})]
    problems = []
    for field, unit in (("from", source), ("into", target)):
        if unit.retired:
            problems.append(Problem(ErrorCode.UNIT_RETIRED, [field], {"unit": unit.label}))
    if merge_level(source.kind) != merge_level(target.kind):
        problems.append(Problem(
            ErrorCode.MERGE_LEVEL_MISMATCH, ["into"],
            {"from": source.label, "into": target.label, "fromKind": source.kind, "intoKind": target.kind},
        ))
    elif target.path.startswith(source.path):
        problems.append(Problem(ErrorCode.MERGE_SAME_UNIT, ["into"], {"unit": source.label}, "INSIDE"))
    return problems


def check_retire(unit: UnitState, persons: int, children: int, open_quotas: list[int]) -> list[Problem]:
    """Only an empty unit retires by itself: no persons, no children in service, no
    quota of a year still open. Anything else is merged (`mergeUnits`)."""
    if unit.retired:
        return [Problem(ErrorCode.UNIT_RETIRED, ["unit"], {"unit": unit.label})]
    if persons or children or open_quotas:
        years = ", ".join(str(y) for y in open_quotas) or "-"
        return [Problem(
            ErrorCode.UNIT_NOT_EMPTY, ["unit"],
            {"unit": unit.label, "persons": persons, "children": children, "years": years},
        )]
    return []


@dataclass(frozen=True)
class QuotaMove:
    """A year's targets of a merge: the source's quota goes; the target's becomes
    `after` (None: nothing written, the quotas moved below it roll up by themselves)."""

    year: int
    source_before: int | None
    target_before: int | None
    after: int | None


def merged_quota(year: int, quotas: dict[str, int], rolled_source: int, rolled_target: int,
                 source_path: str, target_path: str) -> QuotaMove:
    """The target's new quota for an open year: what the two measured against before,
    summed. A unit without its own quota is measured against the quotas below it
    (`rolled_targets`); those move with the children of a township, so nothing needs
    writing when neither unit has a quota of its own."""
    source_own, target_own = quotas.get(source_path), quotas.get(target_path)
    if source_own is None and (target_own is None or not rolled_source):
        return QuotaMove(year, None, target_own, None)
    base = target_own if target_own is not None else rolled_target
    return QuotaMove(year, source_own, target_own, base + rolled_source)
