"""Quotas (征缴任务): each unit's enrolment target for a benefit year.

The county sets them (`setQuotas`, or a whole table from a file with `zhengjiao quotas
apply`); the seeds' tables ship as data in examples/quotas/*.json. A unit without a
quota of its own is measured against the sum of the quotas below it (`rolled_targets`),
so a county may set townships only, or townships and some villages, or schools.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert

from domain.quota_models import Quota
from tenants.models import Unit
from tenants.problems import Problem, Rejected
from tenants.session import Db

MAX_QUOTAS_PER_CALL = 10_000
MAX_TARGET = 100_000_000
QUOTA_FILES = Path(__file__).resolve().parent.parent / "examples" / "quotas"


@dataclass(frozen=True)
class QuotaEntry:
    unit_id: int | None  # None: the caller named a unit that could not be read
    target: int


@dataclass(frozen=True)
class QuotaRow:
    unit_id: int
    code: str
    name: str
    path: str
    target: int


@dataclass(frozen=True)
class QuotaChange:
    before: dict[str, int]  # unit code → target, for units that had one
    after: dict[str, int]
    removed: dict[str, int]


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


async def _existing_units(db: Db, tenant_id: int, ids: list[int]) -> dict[int, str]:
    rows = await db.execute(select(Unit.id, Unit.code).where(Unit.tenant_id == tenant_id, Unit.id.in_(ids)))
    return {r.id: r.code for r in rows}


async def set_quotas(db: Db, tenant_id: int, year: int, entries: list[QuotaEntry], actor: str, replace: bool = False) -> QuotaChange:
    """Upsert the quotas given; with `replace`, drop the year's other quotas. Raises
    Rejected naming every bad entry, and then writes nothing."""
    problems = check_entries(year, entries, replace)
    ids = [e.unit_id for e in entries if e.unit_id is not None]
    codes = await _existing_units(db, tenant_id, ids) if ids else {}
    for index, entry in enumerate(entries):
        if entry.unit_id is not None and entry.unit_id not in codes:
            problems.append(
                Problem("NOT_FOUND", f"quota #{index + 1}: unit does not exist in this county", ["quotas", str(index), "unit"])
            )
    if problems:
        raise Rejected(problems)
    current = {r.unit_id: r for r in await quota_rows(db, tenant_id, year)}
    removed = {r.code: r.target for uid, r in current.items() if replace and uid not in codes}
    if removed:
        await db.execute(
            delete(Quota).where(Quota.tenant_id == tenant_id, Quota.year == year, Quota.unit_id.not_in(list(codes)))
        )
    if entries:
        statement = insert(Quota).values(
            [{"tenant_id": tenant_id, "year": year, "unit_id": e.unit_id, "target": e.target, "updated_by": actor} for e in entries]
        )
        await db.execute(
            statement.on_conflict_do_update(
                index_elements=["tenant_id", "year", "unit_id"],
                set_={"target": statement.excluded.target, "updated_by": actor, "updated_at": text("now()")},
            )
        )
    before = {codes[e.unit_id]: current[e.unit_id].target for e in entries if e.unit_id in current}
    after = {codes[e.unit_id]: e.target for e in entries}
    return QuotaChange(before=before, after=after, removed=removed)


async def quota_rows(db: Db, tenant_id: int, year: int, scope_path: str = "/") -> list[QuotaRow]:
    """The year's quotas inside a scope (a few hundred at most), ordered by unit code."""
    rows = await db.execute(
        text(
            """
            SELECT q.unit_id, u.code, u.name, u.path, q.target
              FROM quota q JOIN unit u ON u.tenant_id = q.tenant_id AND u.id = q.unit_id
             WHERE q.tenant_id = :tenant AND q.year = :year AND u.path ^@ :scope
             ORDER BY u.code
            """
        ),
        {"tenant": tenant_id, "year": year, "scope": scope_path},
    )
    return [QuotaRow(r.unit_id, r.code, r.name, r.path, r.target) for r in rows]


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


# ---------------------------------------------------------------------------
# Quota tables as files: examples/quotas/*.json


class QuotaFormatError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass(frozen=True)
class TableEntry:
    code: str
    name: str | None
    target: int


@dataclass(frozen=True)
class QuotaTable:
    year: int
    entries: tuple[TableEntry, ...]
    total: int | None = None  # as printed in the document: checked against the sum

    @property
    def sum(self) -> int:
        return sum(e.target for e in self.entries)


_TABLE_KEYS = {"tenant", "source", "notes", "year", "total", "quotas"}
_ENTRY_KEYS = {"unit", "name", "target"}


def quota_table_from_dict(d: Any) -> QuotaTable:
    if not isinstance(d, dict):
        raise QuotaFormatError("(file)", "expected an object")
    for key in d:
        if key not in _TABLE_KEYS:
            raise QuotaFormatError(key, "unknown key")
    year = _integer(d, "year", "")
    entries = d.get("quotas")
    if not isinstance(entries, list) or not entries:
        raise QuotaFormatError("quotas", "expected a non-empty list")
    table = QuotaTable(
        year=year,
        entries=tuple(_entry(e, f"quotas[{i}].") for i, e in enumerate(entries)),
        total=None if d.get("total") is None else _integer(d, "total", ""),
    )
    if table.total is not None and table.total != table.sum:
        raise QuotaFormatError("total", f"the quotas add up to {table.sum}, not {table.total}")
    codes = [e.code for e in table.entries]
    if len(set(codes)) != len(codes):
        raise QuotaFormatError("quotas", "a unit code appears twice")
    return table


def _entry(e: Any, prefix: str) -> TableEntry:
    if not isinstance(e, dict):
        raise QuotaFormatError(prefix.rstrip("."), "expected an object")
    for key in e:
        if key not in _ENTRY_KEYS:
            raise QuotaFormatError(f"{prefix}{key}", "unknown key")
    code = e.get("unit")
    if not isinstance(code, str) or not code.strip():
        raise QuotaFormatError(f"{prefix}unit", "expected a unit code")
    name = e.get("name")
    target = _integer(e, "target", prefix)
    if target < 0:
        raise QuotaFormatError(f"{prefix}target", "must be 0 or more")
    return TableEntry(code=code.strip(), name=name if isinstance(name, str) else None, target=target)


def _integer(d: dict, key: str, prefix: str) -> int:
    value = d.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise QuotaFormatError(f"{prefix}{key}", f"expected an integer, got {type(value).__name__}")
    return value


def read_quota_file(path: str | Path) -> QuotaTable:
    return quota_table_from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


async def apply_quota_table(db: Db, tenant_id: int, table: QuotaTable, actor: str, year: int | None = None) -> QuotaChange:
    """The whole table replaces the year's quotas; unknown unit codes are refused by name."""
    rows = await db.execute(
        select(Unit.code, Unit.id).where(Unit.tenant_id == tenant_id, Unit.code.in_([e.code for e in table.entries]))
    )
    ids = {r.code: r.id for r in rows}
    missing = [
        Problem("NOT_FOUND", f"unit {e.code}{f' ({e.name})' if e.name else ''} does not exist in this county", ["quotas", str(i), "unit"])
        for i, e in enumerate(table.entries)
        if e.code not in ids
    ]
    if missing:
        raise Rejected(missing)
    entries = [QuotaEntry(ids[e.code], e.target) for e in table.entries]
    return await set_quotas(db, tenant_id, year or table.year, entries, actor, replace=True)


DEMO_QUOTA_FILE = "neixiang-2023.json"
# The demo's running campaign (2027) has no published table: it reuses 2023's.
DEMO_QUOTA_YEARS = (2023, 2027)


async def load_demo_quotas(db: Db, tenant_id: int) -> None:
    """内乡县's 2023 quota table (seeds/003) for the demo county, for 2023 and for the
    running 2027 campaign. Called by `zhengjiao demo` inside its owner transaction."""
    table = read_quota_file(QUOTA_FILES / DEMO_QUOTA_FILE)
    for year in DEMO_QUOTA_YEARS:
        await apply_quota_table(db, tenant_id, table, "demo", year=year)
