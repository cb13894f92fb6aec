"""Duplicate enrolment cases in the database: read a county's own side, resolve one.

Fingerprints and cases are written by triggers on `enrollment` (migration 0016a), in
the transaction that enrols or un-enrols a person; this module only reads the caller's
side (row-level security on `duplicate_case`) and calls the definer functions.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text

from domain.matching.rules import DuplicateCaseStatus, Facts, ReopenRefusal, Situation, Suggestion, suggest
from domain.refunds.rules import RefundReason, RefundStatus
from tenants.pages import newest_first
from tenants.session import Db

CASE_COLUMNS = (
    "c.id, c.year, c.person_id, c.other_tenant_id, t.code AS other_code, t.name AS other_name, c.since, "
    "c.at_school, c.other_since, c.other_at_school, c.status, c.resolved_here, c.note, c.resolved_at, "
    "p.name AS person_name, p.unit_path, "
    # employee insurance comes first: known here from a life event in force, recorded by
    # hand or by an employee-insurance roster (domain/rosters)
    "EXISTS (SELECT 1 FROM person_event ev WHERE ev.tenant_id = c.tenant_id AND ev.person_id = c.person_id"
    " AND ev.kind = 'JOINED_EMPLOYEE_INSURANCE' AND ev.withdrawn_at IS NULL) AS employee_insured"
)
_SOURCE = (
    "duplicate_case c JOIN person p ON p.tenant_id = c.tenant_id AND p.id = c.person_id"
    " JOIN tenant t ON t.id = c.other_tenant_id"
)


@dataclass(frozen=True)
class CaseRow:
    id: int
    year: int
    person_id: int
    other_tenant_id: int
    other_code: str
    other_name: str
    since: datetime
    at_school: bool
    other_since: datetime
    other_at_school: bool
    status: str
    resolved_here: bool | None
    note: str | None
    resolved_at: datetime | None
    person_name: str
    unit_path: str
    employee_insured: bool

    @property
    def suggestion(self) -> Suggestion | None:
        return suggest(
            Situation(Facts(self.since, self.at_school), Facts(self.other_since, self.other_at_school),
                      employee_insured=self.employee_insured)
        )


def _row(r) -> CaseRow:  # noqa: ANN001
    return CaseRow(*r)


async def list_cases(
    db: Db, tenant_id: int, path: str, year: int, status: DuplicateCaseStatus | None, first: int, before_id: int | None
):  # noqa: ANN201
    where = "c.tenant_id = :t AND c.year = :year AND p.unit_path ^@ :path"
    params: dict = {"t": tenant_id, "year": year, "path": path}
    if status is not None:
        where += " AND c.status = :status"
        params["status"] = status.value
    return await newest_first(
        db, columns=CASE_COLUMNS, source=_SOURCE, where=where, params=params, id_column="c.id",
        first=first, before_id=before_id, row=_row,
    )


async def case_in_scope(db: Db, tenant_id: int, path: str, case_id: int) -> CaseRow | None:
    row = (
        await db.execute(
            text(f"SELECT {CASE_COLUMNS} FROM {_SOURCE} WHERE c.tenant_id = :t AND c.id = :id AND p.unit_path ^@ :path"),
            {"t": tenant_id, "id": case_id, "path": path},
        )
    ).first()
    return _row(row) if row else None


async def opened_now(db: Db, tenant_id: int, year: int, person_ids: list[int] | None = None) -> list[CaseRow]:
    """The cases this transaction opened (the triggers stamp them with its `now()`):
    persons just enrolled here who are enrolled elsewhere too."""
    rows = await db.execute(
        text(
            f"""SELECT {CASE_COLUMNS} FROM {_SOURCE}
                 WHERE c.tenant_id = :t AND c.year = :year AND c.status = 'OPEN' AND c.created_at = now()
                   AND (CAST(:ids AS bigint[]) IS NULL OR c.person_id = ANY(CAST(:ids AS bigint[])))
                 ORDER BY c.id"""
        ),
        {"t": tenant_id, "year": year, "ids": person_ids},
    )
    return [_row(r) for r in rows]


@dataclass(frozen=True)
class Elsewhere:
    person_id: int
    other_tenant_code: str
    other_tenant_name: str
    other_since: datetime


async def enrolled_elsewhere(db: Db, year: int, person_ids: list[int] | None = None) -> list[Elsewhere]:
    """Which of the bound county's enrolled persons of `year` another county enrols too
    (the definer function `match_elsewhere`: the county's own persons only)."""
    rows = await db.execute(text("SELECT * FROM match_elsewhere(:year, CAST(:ids AS bigint[]))"), {"year": year, "ids": person_ids})
    return [Elsewhere(*r) for r in rows]


async def resolve_case(db: Db, case_id: int, keep: bool, note: str | None, actor: str) -> str:
    """Close the bound county's case and the other county's side: 'RESOLVED', or the
    status it already had, or 'NOT_FOUND'."""
    return await db.scalar(
        text("SELECT match_resolve_case(:id, :keep, :note, :by)"), {"id": case_id, "keep": keep, "note": note, "by": actor}
    )


async def reopen_case(db: Db, case_id: int, note: str | None, actor: str) -> ReopenRefusal | None:
    """Undo the bound county's decision on both sides (`match_reopen_case`, migration
    0019c): None when reopened, else why not."""
    answer = await db.scalar(
        text("SELECT match_reopen_case(:id, :note, :by)"), {"id": case_id, "note": note, "by": actor}
    )
    return None if answer == "REOPENED" else ReopenRefusal(answer)


async def release_refund_status(db: Db, tenant_id: int, person_id: int, year: int) -> str | None:
    """The status of the person-year's DUPLICATE_ENROLLMENT refund that still stands (not
    rejected), the newest first; None when there is none."""
    return await db.scalar(
        text(
            f"""SELECT r.status FROM refund r JOIN payment pay ON pay.tenant_id = r.tenant_id AND pay.id = r.payment_id
                 WHERE r.tenant_id = :t AND pay.person_id = :p AND pay.year = :y
                   AND r.reason = '{RefundReason.DUPLICATE_ENROLLMENT}' AND r.status <> '{RefundStatus.REJECTED}'
                 ORDER BY r.id DESC LIMIT 1"""
        ),
        {"t": tenant_id, "p": person_id, "y": year},
    )


async def accepted_payment_id(db: Db, tenant_id: int, person_id: int, year: int) -> int | None:
    return await db.scalar(
        text("SELECT id FROM payment WHERE tenant_id = :t AND person_id = :p AND year = :y AND status = 'ACCEPTED'"),
        {"t": tenant_id, "p": person_id, "y": year},
    )
