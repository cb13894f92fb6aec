"""Newborns' exemptions in the database (内乡: "新生儿父或母参加我市基本医保的，新生儿出生
不用缴费即可享受当年城乡居民医保待遇").

A declaration (at registration or later) is checked (`rules.check_exemption_claim`, and
for PARENT_ENROLLED the parent's enrolment for the birth year in this county: the
enrolment rows, or the history imported by 医保局), written to `newborn_exemption`, and
moves the birth year's enrolment to EXEMPT with benefits from birth — tallies in the same
statement. A withdrawal marks the row withdrawn (never deleted) and gives the year back
to its subsidy or to UNPAID. The recompute keeps EXEMPT as it keeps PAID.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text

from domain.enrollment.rules import (
    CheckedClaim,
    EnrollmentStatus,
    ExemptionBasis,
    ExemptionClaim,
    check_exemption_claim,
)
from domain.enrollment.sql import ENROLLED_SQL
from domain.enrollment.store import recompute_persons, set_status
from domain.persons.idnumber import mask
from domain.policy.store import load_policy
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.session import Db


@dataclass(frozen=True)
class Newborn:
    """The child a declaration is for."""

    person_id: int
    id_number: str
    birth_date: date


@dataclass(frozen=True)
class ExemptionRow:
    id: int
    person_id: int
    year: int
    basis: str
    parent_id_number: str | None
    proof_reference: str | None
    declared_by: str
    declared_at: datetime
    withdrawn_by: str | None
    withdrawn_at: datetime | None
    withdrawal_reason: str | None


_COLUMNS = """id, person_id, year, basis, parent_id_number, proof_reference, declared_by, declared_at,
              withdrawn_by, withdrawn_at, withdrawal_reason"""


def _exemption(r) -> ExemptionRow:  # noqa: ANN001
    return ExemptionRow(*(getattr(r, name.strip()) for name in _COLUMNS.split(",")))


async def _locked_status(db: Db, tenant_id: int, person_id: int, year: int) -> EnrollmentStatus | None:
    # The year's enrolment row, locked as a payment locks it: a payment and a declaration
    # for one newborn at the same moment see each other.
    status = await db.scalar(
        text("SELECT status FROM enrollment WHERE tenant_id = :t AND person_id = :p AND year = :y FOR UPDATE"),
        {"t": tenant_id, "p": person_id, "y": year},
    )
    return EnrollmentStatus(status) if status is not None else None


@dataclass(frozen=True)
class _Parent:
    enrolled: bool
    person_id: int | None  # None: known only from the imported history


async def _parent(db: Db, tenant_id: int, parent_id_number: str, year: int) -> _Parent:
    """Whether the parent is enrolled here for `year`: an enrolment row that counts as
    enrolled, or the history imported by 医保局."""
    row = (
        await db.execute(
            text(
                f"""
                SELECT p.id,
                       EXISTS (SELECT 1 FROM enrollment e
                                WHERE e.tenant_id = :t AND e.person_id = p.id AND e.year = :y
                                  AND e.status IN {ENROLLED_SQL})
                       OR EXISTS (SELECT 1 FROM enrollment_history h
                                   WHERE h.tenant_id = :t AND h.id_number = :n AND h.year = :y AND h.enrolled)
                           AS enrolled
                  FROM (SELECT :n AS id_number) n
                  LEFT JOIN person p ON p.tenant_id = :t AND p.id_number = n.id_number
                """
            ),
            {"t": tenant_id, "n": parent_id_number, "y": year},
        )
    ).one()
    return _Parent(bool(row.enrolled), row.id)


async def declare_exemption(
    db: Db, tenant_id: int, child: Newborn, claim: ExemptionClaim, actor: str, field: list[str] | None = None
) -> ExemptionRow:
    """Declare a newborn exempt for its birth year. Raises Rejected with every problem
    found; `field` prefixes their field paths (registration: ["newborn"])."""
    prefix = field or []
    year = child.birth_date.year
    status = await _locked_status(db, tenant_id, child.person_id, year)
    policy = await load_policy(db, tenant_id, year) if status is not None else None
    problems, checked = check_exemption_claim(claim, child.id_number, child.birth_date, policy, status)
    parent_person_id = None
    if checked is not None and checked.basis is ExemptionBasis.PARENT_ENROLLED:
        assert checked.parent_id_number is not None  # required by the rule
        parent = await _parent(db, tenant_id, checked.parent_id_number, year)
        if not parent.enrolled:
            problems.append(_not_enrolled(checked.parent_id_number, year))
        parent_person_id = parent.person_id
    if problems or checked is None:
        raise Rejected([p.at(*prefix) for p in problems])
    row = await _insert(db, tenant_id, child, checked, parent_person_id, actor)
    await set_status(db, tenant_id, year, [child.person_id], EnrollmentStatus.EXEMPT, child.birth_date)
    return row


def _not_enrolled(parent_id_number: str, year: int) -> Problem:
    return Problem(ErrorCode.PARENT_NOT_ENROLLED, ["parentIdNumber"], {"parent": mask(parent_id_number), "year": year})


async def _insert(
    db: Db, tenant_id: int, child: Newborn, claim: CheckedClaim, parent_person_id: int | None, actor: str
) -> ExemptionRow:
    row = (
        await db.execute(
            text(
                f"""
                INSERT INTO newborn_exemption (tenant_id, person_id, year, basis, parent_id_number, parent_person_id,
                                               proof_reference, declared_by)
                VALUES (:t, :p, :y, :basis, :parent, :parent_person, :proof, :by)
                RETURNING {_COLUMNS}
                """
            ),
            {
                "t": tenant_id, "p": child.person_id, "y": child.birth_date.year, "basis": claim.basis.value,
                "parent": claim.parent_id_number, "parent_person": parent_person_id, "proof": claim.proof_reference,
                "by": actor,
            },
        )
    ).one()
    return _exemption(row)


async def withdraw_exemption(db: Db, tenant_id: int, child: Newborn, reason: str, actor: str) -> ExemptionRow:
    """Withdraw a wrong declaration: the year goes back to its subsidy, or to UNPAID."""
    year = child.birth_date.year
    reason = reason.strip()
    if not reason:
        raise Rejected([Problem(ErrorCode.REASON_REQUIRED, ["reason"])])
    await _locked_status(db, tenant_id, child.person_id, year)
    row = (
        await db.execute(
            text(
                f"""
                UPDATE newborn_exemption SET withdrawn_by = :by, withdrawn_at = now(), withdrawal_reason = :reason
                 WHERE tenant_id = :t AND person_id = :p AND year = :y AND withdrawn_at IS NULL
                RETURNING {_COLUMNS}
                """
            ),
            {"t": tenant_id, "p": child.person_id, "y": year, "by": actor, "reason": reason},
        )
    ).first()
    if row is None:
        raise Rejected([Problem(ErrorCode.NOT_EXEMPT, ["person"], {"year": year})])
    await set_status(db, tenant_id, year, [child.person_id], EnrollmentStatus.UNPAID, None)
    await recompute_persons(db, tenant_id, [child.person_id], [year])
    return _exemption(row)


async def exemption_in_force(db: Db, tenant_id: int, person_id: int, year: int) -> ExemptionRow | None:
    row = (
        await db.execute(
            text(
                f"""SELECT {_COLUMNS} FROM newborn_exemption
                     WHERE tenant_id = :t AND person_id = :p AND year = :y AND withdrawn_at IS NULL"""
            ),
            {"t": tenant_id, "p": person_id, "y": year},
        )
    ).first()
    return _exemption(row) if row else None


async def exemptions_in_force(db: Db, tenant_id: int, year: int, person_ids: list[int]) -> dict[int, ExemptionRow]:
    """The declarations in force of a page of persons for `year`, by person."""
    rows = await db.execute(
        text(
            f"""SELECT {_COLUMNS} FROM newborn_exemption
                 WHERE tenant_id = :t AND person_id = ANY(CAST(:ps AS bigint[])) AND year = :y AND withdrawn_at IS NULL"""
        ),
        {"t": tenant_id, "ps": person_ids, "y": year},
    )
    return {r.person_id: _exemption(r) for r in rows}
