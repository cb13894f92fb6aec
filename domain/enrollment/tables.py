"""The tables of enrolments: a person's year, the tallies per unit, earlier years on
record, newborns' exemptions."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlmodel import Field, SQLModel

from domain.enrollment.rules import EnrollmentStatus, ExemptionBasis
from domain.money import money_column
from domain.policy.rules import SubsidyMode
from tenants.kinds import enum_check
from tenants.models import created_at_column, id_column, tenant_id_column


class EnrollmentHistory(SQLModel, table=True):
    """Earlier years' enrolment, imported by 医保局: the breaks behind waiting periods."""

    __tablename__ = "enrollment_history"

    tenant_id: int = Field(sa_column=tenant_id_column())
    id_number: str = Field(sa_column=Column(Text, primary_key=True))
    year: int = Field(sa_column=Column(Integer, primary_key=True))
    enrolled: bool = Field(sa_column=Column(Boolean, nullable=False))
    source: str = Field(sa_column=Column(Text, nullable=False))
    imported_at: datetime | None = Field(default=None, sa_column=created_at_column("imported_at"))


class EnrollmentTally(SQLModel, table=True):
    """Enrolment counts per leaf unit and year, moved in the same statement as every
    status change, so progress never needs to count 600,000 rows."""

    __tablename__ = "enrollment_tally"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "unit_id"], ["unit.tenant_id", "unit.id"]),
        ForeignKeyConstraint(["tenant_id", "year"], ["year_policy.tenant_id", "year_policy.year"]),
        Index("enrollment_tally_path", "tenant_id", "year", "unit_path"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    year: int = Field(sa_column=Column(Integer, primary_key=True))
    unit_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    unit_path: str = Field(sa_column=Column(Text(collation="C"), nullable=False))
    unpaid: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    paid: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    subsidized: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    refunded: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    exempt: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    excused: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class Enrollment(SQLModel, table=True):
    """A person's year: what is due, what subsidy applies and why, what was paid."""

    __tablename__ = "enrollment"
    __table_args__ = (
        # No key to year_policy: enrolments are written only for policy years (the
        # recompute joins year_policy) and a key check costs a row lock per enrolment.
        ForeignKeyConstraint(["tenant_id", "person_id"], ["person.tenant_id", "person.id"]),
        enum_check("status", EnrollmentStatus, "enrollment_status_check"),
        enum_check("subsidy_mode", SubsidyMode, "enrollment_mode_check", nullable=True),
        Index("enrollment_tenant_year_status", "tenant_id", "year", "status"),
        # Room on each page for a changed row: HOT updates (migration 0009).
        {"postgresql_with": {"fillfactor": 80}},
    )

    tenant_id: int = Field(sa_column=tenant_id_column(references_tenant=False))
    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    year: int = Field(sa_column=Column(Integer, primary_key=True))
    status: str = Field(sa_column=Column(Text, nullable=False))
    # The status before the last write, returned by it: tallies move by (previous → status).
    previous_status: str | None = Field(default=None, sa_column=Column(Text))
    amount_due: Decimal = Field(sa_column=money_column())
    paid_amount: Decimal = Field(sa_column=money_column(default="0"))
    subsidy_category: str | None = Field(default=None, sa_column=Column(Text))
    subsidy_amount: Decimal = Field(sa_column=money_column(default="0"))
    subsidy_mode: str | None = Field(default=None, sa_column=Column(Text))
    reimbursement_due: Decimal = Field(sa_column=money_column(default="0"))
    benefit_start: date | None = Field(default=None, sa_column=Column(Date))
    computed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now()))


class NewbornExemption(SQLModel, table=True):
    """A newborn's birth year without paying, and why (内乡: a parent insured in the city).
    Declared at registration or later, withdrawn when wrong: never deleted or rewritten
    (the serving role may UPDATE only the withdrawal columns), one in force per person-year."""

    __tablename__ = "newborn_exemption"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["person.tenant_id", "person.id"]),
        ForeignKeyConstraint(["tenant_id", "year"], ["year_policy.tenant_id", "year_policy.year"]),
        enum_check("basis", ExemptionBasis, "newborn_exemption_basis_check"),
        CheckConstraint(
            f"basis <> '{ExemptionBasis.PARENT_ENROLLED}' OR parent_id_number IS NOT NULL",
            name="newborn_exemption_parent_check",
        ),
        CheckConstraint(
            f"basis <> '{ExemptionBasis.PARENT_COVER_DECLARED}' OR proof_reference IS NOT NULL",
            name="newborn_exemption_proof_check",
        ),
        CheckConstraint("(withdrawn_at IS NULL) = (withdrawn_by IS NULL)", name="newborn_exemption_withdrawal_check"),
        Index(
            "newborn_exemption_in_force", "tenant_id", "person_id", "year", unique=True,
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    id: int | None = Field(default=None, sa_column=id_column())
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    year: int = Field(sa_column=Column(Integer, nullable=False))  # the year of birth
    basis: str = Field(sa_column=Column(Text, nullable=False))
    parent_id_number: str | None = Field(default=None, sa_column=Column(Text))
    parent_person_id: int | None = Field(default=None, sa_column=Column(BigInteger))  # PARENT_ENROLLED: who was checked
    proof_reference: str | None = Field(default=None, sa_column=Column(Text))
    declared_by: str = Field(sa_column=Column(Text, nullable=False))
    declared_at: datetime | None = Field(default=None, sa_column=created_at_column("declared_at"))
    withdrawn_by: str | None = Field(default=None, sa_column=Column(Text))
    withdrawn_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    withdrawal_reason: str | None = Field(default=None, sa_column=Column(Text))
