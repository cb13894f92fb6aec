"""Retired units (day two): kept for history, refused as the target of anything new —
registrations, transfers, quotas, user scopes, new child units."""
from __future__ import annotations

from sqlalchemy import text

from tenants.problems import ErrorCode, Problem, Rejected
from tenants.session import Db


def label(code: str, name: str) -> str:
    """How messages name a unit: its code and its name."""
    return f"{code} {name}"


async def lock_for_registration(db: Db, tenant_id: int, unit_id: int, field: str = "unit") -> str:
    """A unit about to receive a person, FOR KEY SHARE: registrations neither wait on
    each other nor on the persons counter's UPDATE (two registrations of one number
    would deadlock under FOR SHARE), but a merge's FOR UPDATE waits for them and they
    for it. Its path as of now, or UNIT_RETIRED when it was merged or retired meanwhile."""
    row = (
        await db.execute(
            text("SELECT code, name, path, retired FROM unit WHERE tenant_id = :t AND id = :id FOR KEY SHARE"),
            {"t": tenant_id, "id": unit_id},
        )
    ).first()
    if row is None:
        raise Rejected([Problem(ErrorCode.NOT_FOUND, [field], variant="UNIT")])
    if row.retired:
        raise Rejected([Problem(ErrorCode.UNIT_RETIRED, [field], {"unit": label(row.code, row.name)})])
    return row.path


async def retired_problems(db: Db, tenant_id: int, fields: dict[int, list[str]]) -> list[Problem]:
    """UNIT_RETIRED for each named unit (id → its input field) that is retired: a
    retired unit takes no new persons, transfers, quotas or user scopes."""
    if not fields:
        return []
    rows = await db.execute(
        text("""SELECT id, code, name FROM unit
                 WHERE tenant_id = :t AND id = ANY(CAST(:ids AS bigint[])) AND retired"""),
        {"t": tenant_id, "ids": list(fields)},
    )
    return [Problem(ErrorCode.UNIT_RETIRED, fields[r.id], {"unit": label(r.code, r.name)}) for r in rows]
