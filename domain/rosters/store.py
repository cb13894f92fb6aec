"""Findings and versions of rosters, read: pages of the findings in force, batches by id."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text

from domain.enrollment.rules import EnrollmentStatus
from domain.refunds.rules import RefundReason
from domain.rosters.rules import RosterKind, refund_offered
from tenants.pages import Page, newest_first
from tenants.session import Db


@dataclass(frozen=True)
class FindingRow:
    id: int
    kind: RosterKind
    year: int
    person_id: int
    unit_path: str
    event_date: date
    paid: bool
    refund_offered: RefundReason | None


@dataclass(frozen=True)
class BatchRow:
    id: int
    kind: RosterKind
    year: int
    version: int
    file_name: str
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    matched: int
    uploaded_by: str
    uploaded_at: datetime


# The findings of the newest version of each kind, for a year, in a subtree; not those
# whose life event was withdrawn by hand since (the clerk found the department wrong
# about this person: nothing left to act on). A finding that recorded no event (one of
# the kind was in force already) stays.
_IN_FORCE = """
  FROM roster_finding f
  JOIN person p ON p.tenant_id = f.tenant_id AND p.id = f.person_id
  LEFT JOIN enrollment e ON e.tenant_id = f.tenant_id AND e.person_id = f.person_id AND e.year = f.year
  LEFT JOIN year_policy y ON y.tenant_id = f.tenant_id AND y.year = f.year
  LEFT JOIN person_event ev ON ev.tenant_id = f.tenant_id AND ev.id = f.event_id
 WHERE f.tenant_id = :t AND f.year = :year AND p.unit_path ^@ :path
   AND (CAST(:kind AS text) IS NULL OR f.kind = :kind)
   AND f.batch_id IN (SELECT DISTINCT ON (kind) id FROM roster_batch
                       WHERE tenant_id = :t AND year = :year ORDER BY kind, version DESC)
   AND (f.event_id IS NULL OR ev.withdrawn_at IS NULL)
"""


def _finding(r) -> FindingRow:  # noqa: ANN001
    kind = RosterKind(r.kind)
    paid = r.status == EnrollmentStatus.PAID.value
    return FindingRow(r.id, kind, r.year, r.person_id, r.unit_path, r.event_date, paid,
                      refund_offered(kind, r.event_date, r.window_end, paid))


async def findings(
    db: Db, tenant_id: int, year: int, kind: RosterKind | None, path: str, first: int, after: tuple[str, int] | None,
) -> Page[FindingRow]:
    """Keyset page ordered by (village path, finding): a village's persons together."""
    params = {"t": tenant_id, "year": year, "kind": kind.value if kind else None, "path": path}
    rows = (await db.execute(
        text(f"""SELECT f.id, f.kind, f.year, f.person_id, p.unit_path, f.event_date, e.status, y.window_end
                 {_IN_FORCE}
                 AND (CAST(:after_path AS text) IS NULL OR (p.unit_path, f.id) > (CAST(:after_path AS text), :after_id))
                 ORDER BY p.unit_path, f.id LIMIT :limit"""),
        {**params, "after_path": after[0] if after else None, "after_id": after[1] if after else 0, "limit": first + 1},
    )).all()

    async def total() -> int:
        return await db.scalar(text(f"SELECT count(*) {_IN_FORCE}"), params)

    return Page([_finding(r) for r in rows[:first]], len(rows) > first, total)


async def all_findings(db: Db, tenant_id: int, year: int, path: str, limit: int) -> list[FindingRow]:
    """Every finding in force of a subtree, for a download."""
    return (await findings(db, tenant_id, year, None, path, limit, None)).rows


_BATCH_COLUMNS = ("b.id, b.kind, b.year, b.version, b.file_name, b.rows_total, b.rows_accepted, b.rows_rejected, "
                  "b.matched, b.uploaded_by, b.uploaded_at")


def _batch(r) -> BatchRow:  # noqa: ANN001
    return BatchRow(r.id, RosterKind(r.kind), r.year, r.version, r.file_name, r.rows_total, r.rows_accepted,
                    r.rows_rejected, r.matched, r.uploaded_by, r.uploaded_at)


async def batches_by_ids(db: Db, tenant_id: int, ids: list[int]) -> dict[int, BatchRow]:
    rows = await db.execute(
        text(f"SELECT {_BATCH_COLUMNS} FROM roster_batch b WHERE b.tenant_id = :t AND b.id = ANY(CAST(:ids AS bigint[]))"),
        {"t": tenant_id, "ids": ids},
    )
    return {r.id: _batch(r) for r in rows}


async def list_batches(
    db: Db, tenant_id: int, year: int, kind: RosterKind | None, first: int, before_id: int | None
) -> Page[BatchRow]:
    """A year's roster versions, newest first: the history of what each department sent."""
    where = "b.tenant_id = :t AND b.year = :y AND (CAST(:k AS text) IS NULL OR b.kind = :k)"
    return await newest_first(
        db, columns=_BATCH_COLUMNS, source="roster_batch b", where=where,
        params={"t": tenant_id, "y": year, "k": kind.value if kind else None}, id_column="b.id",
        first=first, before_id=before_id, row=_batch,
    )


async def finding_by_id(db: Db, tenant_id: int, finding_id: int, path: str) -> FindingRow | None:
    row = (await db.execute(
        text("""SELECT f.id, f.kind, f.year, f.person_id, p.unit_path, f.event_date, e.status, y.window_end
                  FROM roster_finding f
                  JOIN person p ON p.tenant_id = f.tenant_id AND p.id = f.person_id
                  LEFT JOIN enrollment e ON e.tenant_id = f.tenant_id AND e.person_id = f.person_id AND e.year = f.year
                  LEFT JOIN year_policy y ON y.tenant_id = f.tenant_id AND y.year = f.year
                 WHERE f.tenant_id = :t AND f.id = :id AND p.unit_path ^@ :path"""),
        {"t": tenant_id, "id": finding_id, "path": path},
    )).first()
    return _finding(row) if row else None
