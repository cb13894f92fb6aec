"""断保 and 漏保 read from the record: counts per unit, and the field lists."""
from __future__ import annotations

from sqlalchemy import text

from domain.coverage.rules import CoverGap
from domain.coverage.sql import gap_condition
from tenants.session import Db


async def gap_counts(db: Db, tenant_id: int, year: int, paths: list[str]) -> dict[str, dict[CoverGap, int]]:
    """Per unit path: how many persons of its subtree have each gap in `year`."""
    rows = await db.execute(
        text(
            f"""SELECT s.path,
                       count(*) FILTER (WHERE {gap_condition(CoverGap.LAPSED)}) AS lapsed,
                       count(*) FILTER (WHERE {gap_condition(CoverGap.NEVER_ENROLLED)}) AS never_enrolled
                  FROM unnest(CAST(:paths AS text[])) AS s(path)
                  JOIN person p ON p.tenant_id = :tenant AND p.unit_path ^@ s.path
                 GROUP BY s.path"""
        ),
        {"tenant": tenant_id, "year": year, "paths": paths},
    )
    found = {r.path: {CoverGap.LAPSED: r.lapsed, CoverGap.NEVER_ENROLLED: r.never_enrolled} for r in rows}
    empty = {CoverGap.LAPSED: 0, CoverGap.NEVER_ENROLLED: 0}
    return {path: found.get(path, empty) for path in paths}
