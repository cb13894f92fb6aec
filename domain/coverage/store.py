"""断保 and 漏保 read from the record: counts per unit, and the field lists."""
from __future__ import annotations

from sqlalchemy import text

from domain.coverage.rules import CoverGap
from domain.coverage.sql import GAP_JOINS, gap_condition, gap_flag
from tenants.session import Db

# Below this many registered persons a subtree is counted by look-ups per person; above
# it, by reading each table once (bench/coverage.py measured both shapes).
PROBE_BELOW = 50_000

_JOINED = """SELECT s.path,
                    count(*) FILTER (WHERE {lapsed}) AS lapsed,
                    count(*) FILTER (WHERE {never}) AS never_enrolled
               FROM unnest(CAST(:paths AS text[])) AS s(path)
               JOIN person p ON p.tenant_id = :tenant AND p.unit_path ^@ s.path
               {joins}
              GROUP BY s.path"""
# Every subtree in one statement, each an index range on unit_path: `^@` with a prefix
# known only at run time is not one, so the range is written out (paths are ASCII, and
# under the column's "C" collation nothing with the prefix sorts past prefix || U+FFFF).
_BY_ROW = f"""SELECT s.path, c.lapsed, c.never_enrolled
                FROM unnest(CAST(:paths AS text[])) AS s(path)
               CROSS JOIN LATERAL (
                     SELECT count(*) FILTER (WHERE {gap_condition(CoverGap.LAPSED)}) AS lapsed,
                            count(*) FILTER (WHERE {gap_condition(CoverGap.NEVER_ENROLLED)}) AS never_enrolled
                       FROM person p
                      WHERE p.tenant_id = :tenant AND p.unit_path >= s.path
                        AND p.unit_path < s.path || chr(65535) AND p.unit_path ^@ s.path) c"""
_JOINED = _JOINED.format(
    lapsed=gap_flag(CoverGap.LAPSED), never=gap_flag(CoverGap.NEVER_ENROLLED), joins=GAP_JOINS
)


async def _registered(db: Db, tenant_id: int, paths: list[str]) -> dict[str, int]:
    rows = await db.execute(
        text("""SELECT s.path, coalesce(sum(u.persons), 0) AS persons
                  FROM unnest(CAST(:paths AS text[])) AS s(path)
                  LEFT JOIN unit u ON u.tenant_id = :tenant AND u.path ^@ s.path
                 GROUP BY s.path"""),
        {"tenant": tenant_id, "paths": paths},
    )
    return {r.path: r.persons for r in rows}


async def gap_counts(db: Db, tenant_id: int, year: int, paths: list[str]) -> dict[str, dict[CoverGap, int]]:
    """Per unit path: how many persons of its subtree have each gap in `year`."""
    sizes = await _registered(db, tenant_id, paths)
    small = [p for p in paths if sizes.get(p, 0) < PROBE_BELOW]
    large = [p for p in paths if sizes.get(p, 0) >= PROBE_BELOW]
    params = {"tenant": tenant_id, "year": year}
    rows = (await db.execute(text(_BY_ROW), {**params, "paths": small})).all() if small else []
    if large:
        rows += (await db.execute(text(_JOINED), {**params, "paths": large})).all()
    found = {r.path: {CoverGap.LAPSED: r.lapsed, CoverGap.NEVER_ENROLLED: r.never_enrolled} for r in rows}
    empty = {CoverGap.LAPSED: 0, CoverGap.NEVER_ENROLLED: 0}
    return {path: found.get(path, empty) for path in paths}
