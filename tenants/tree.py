"""The jurisdiction tree: validating new units and writing them with materialised paths.

Paths are made of unit ids ("/12/345/"), so a renamed or re-coded division keeps its
place; a subtree is every row whose path starts with the ancestor's path.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from tenants.kinds import LEAF_KINDS, UnitKind
from tenants.names import name_problem
from tenants.problems import ErrorCode, Problem
from tenants.session import Db

MAX_UNITS_PER_CALL = 20_000
MAX_NAME_LENGTH = 100


def starts_with(column: Any, prefix: Any) -> Any:
    """`column ^@ prefix`: a subtree (or name) prefix match. Unlike LIKE, PostgreSQL
    may use it on a btree index under row-level security (LIKE is not leakproof,
    so the planner keeps it behind the policy and scans the whole county)."""
    return column.op("^@")(prefix)
UNIT_CODE = re.compile(r"^[0-9A-Za-z_-]{1,32}$")


@dataclass
class UnitSpec:
    code: str
    name: str
    kind: UnitKind
    children: list[UnitSpec] = field(default_factory=list)


@dataclass(frozen=True)
class FlatUnit:
    code: str
    name: str
    kind: UnitKind
    parent_code: str | None
    level: int  # 0 = directly under the anchor
    field_path: tuple[str, ...]


def flatten(specs: list[UnitSpec], root_field: str = "units") -> list[FlatUnit]:
    flat: list[FlatUnit] = []

    def walk(nodes: list[UnitSpec], parent: str | None, level: int, prefix: tuple[str, ...]) -> None:
        for index, node in enumerate(nodes):
            here = prefix + (str(index),)
            flat.append(FlatUnit(node.code.strip(), node.name.strip(), node.kind, parent, level, here))
            walk(node.children or [], node.code.strip(), level + 1, here + ("children",))

    walk(specs, None, 0, (root_field,))
    return flat


def _label(unit: FlatUnit) -> str:
    return " ".join(part for part in (unit.code, unit.name) if part) or "-"


def validate_units(
    flat: list[FlatUnit], *, existing_codes: set[str] = frozenset(), anchor_kind: UnitKind | None = None
) -> list[Problem]:
    """Every problem of a batch of new units, each naming the unit and its field path."""
    problems: list[Problem] = []
    if not flat:
        return [Problem(ErrorCode.EMPTY, ["units"], variant="UNITS")]
    if len(flat) > MAX_UNITS_PER_CALL:
        return [Problem(ErrorCode.TOO_MANY, ["units"], {"limit": MAX_UNITS_PER_CALL, "count": len(flat)}, "UNITS")]
    if anchor_kind is not None and anchor_kind in LEAF_KINDS:
        problems.append(Problem(ErrorCode.INVALID_PARENT, ["parent"], {"kind": anchor_kind}, "ANCHOR"))
    seen: dict[str, FlatUnit] = {}
    kinds = {u.code: u.kind for u in flat}
    names = {u.code: u.name for u in flat}
    for unit in flat:
        path = list(unit.field_path)
        label = {"unit": _label(unit)}
        if not UNIT_CODE.match(unit.code):
            problems.append(Problem(ErrorCode.INVALID_CODE, path + ["code"], label, "UNIT"))
        if not unit.name:
            problems.append(Problem(ErrorCode.EMPTY_NAME, path + ["name"], label, "UNIT"))
        elif fault := name_problem(unit.name, MAX_NAME_LENGTH):
            problems.append(Problem(ErrorCode.INVALID_NAME, path + ["name"], {**label, **fault.params}, fault.variant))
        if unit.code in seen:
            problems.append(Problem(ErrorCode.DUPLICATE_CODE, path + ["code"], label, "IN_REQUEST"))
        elif unit.code in existing_codes:
            problems.append(Problem(ErrorCode.DUPLICATE_CODE, path + ["code"], label))
        seen.setdefault(unit.code, unit)
        parent_kind = kinds.get(unit.parent_code) if unit.parent_code else anchor_kind
        if unit.parent_code and parent_kind in LEAF_KINDS:
            parent = {"parent": names[unit.parent_code] or unit.parent_code, "kind": parent_kind}
            problems.append(Problem(ErrorCode.INVALID_PARENT, path, {**label, **parent}))
    return problems


@dataclass(frozen=True)
class Anchor:
    """Where new units hang: the county root (id None) or an existing unit."""

    id: int | None
    code: str | None
    path: str
    depth: int
    kind: UnitKind | None


ROOT = Anchor(id=None, code=None, path="/", depth=0, kind=None)

_INSERT_LEVEL = text(
    """
    WITH input AS (
        SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]), CAST(:kinds AS text[]),
                             CAST(:parents AS text[]))
               AS t(code, name, kind, parent_code)
    ), numbered AS (
        SELECT nextval(pg_get_serial_sequence('unit', 'id')) AS id, input.* FROM input
    )
    INSERT INTO unit (tenant_id, id, parent_id, code, name, kind, path, depth)
    SELECT :tenant, n.id, p.id, n.code, n.name, n.kind,
           coalesce(p.path, :anchor_path) || n.id || '/', coalesce(p.depth, :anchor_depth) + 1
      FROM numbered n
      LEFT JOIN unit p ON p.tenant_id = :tenant AND p.code = n.parent_code
    RETURNING id
    """
)


async def insert_units(db: Db, tenant_id: int, flat: list[FlatUnit], anchor: Anchor = ROOT) -> list[int]:
    """Insert level by level (a parent must exist before its children); return ids in input order."""
    ids: list[int] = []
    for level in sorted({u.level for u in flat}):
        batch = [u for u in flat if u.level == level]
        result = await db.execute(
            _INSERT_LEVEL,
            {
                "tenant": tenant_id,
                "codes": [u.code for u in batch],
                "names": [u.name for u in batch],
                "kinds": [u.kind.value for u in batch],
                "parents": [u.parent_code or anchor.code for u in batch],
                "anchor_path": anchor.path,
                "anchor_depth": anchor.depth,
            },
        )
        ids.extend(row[0] for row in result)
    return ids


async def existing_codes(db: Db, tenant_id: int, codes: list[str]) -> set[str]:
    rows = await db.execute(
        text("SELECT code FROM unit WHERE tenant_id = :tenant AND code = ANY(CAST(:codes AS text[]))"),
        {"tenant": tenant_id, "codes": codes},
    )
    return {row[0] for row in rows}


async def find_anchor(db: Db, tenant_id: int, unit_id: int) -> Anchor | None:
    row = (
        await db.execute(
            text("SELECT id, code, path, depth, kind FROM unit WHERE tenant_id = :tenant AND id = :id"),
            {"tenant": tenant_id, "id": unit_id},
        )
    ).mappings().first()
    if row is None:
        return None
    return Anchor(row["id"], row["code"], row["path"], row["depth"], UnitKind(row["kind"]))
