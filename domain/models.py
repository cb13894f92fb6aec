"""Tables of the premium-collection domain."""
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
    Numeric,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from tenants.models import created_at_column, id_column, tenant_id_column


class Person(SQLModel, table=True):
    __tablename__ = "person"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id_number"),
        ForeignKeyConstraint(["tenant_id", "unit_id"], ["unit.tenant_id", "unit.id"]),
        CheckConstraint("sex IN ('M', 'F')", name="person_sex_check"),
        CheckConstraint("id_number ~ '^[0-9]{17}[0-9X]$'", name="person_id_number_check"),
        CheckConstraint("length(btrim(name)) > 0", name="person_name_check"),
        # Keyset pagination walks (unit_path, id); a subtree is a path prefix.
        Index("person_tenant_unit_path", "tenant_id", "unit_path", "id"),
        Index("person_tenant_name", "tenant_id", "name", postgresql_ops={"name": "text_pattern_ops"}),
    )

    tenant_id: int = Field(sa_column=tenant_id_column(references_tenant=False))
    id: int | None = Field(default=None, sa_column=id_column())
    id_number: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    birth_date: date = Field(sa_column=Column(Date, nullable=False))
    sex: str = Field(sa_column=Column(Text, nullable=False))
    unit_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Copy of the unit's path, so a township's persons are one index range.
    unit_path: str = Field(sa_column=Column(Text(collation="C"), nullable=False))
    phone: str | None = Field(default=None, sa_column=Column(Text))
    created_by: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = Field(default=None, sa_column=created_at_column())


def money(nullable: bool = False, default: str | None = None) -> Column:
    return Column(Numeric(12, 2), nullable=nullable, server_default=default)


class YearPolicyRow(SQLModel, table=True):
    """A county's policy for one benefit year (年度征缴方案)."""

    __tablename__ = "year_policy"
    __table_args__ = (
        CheckConstraint("standard > 0", name="year_policy_standard_check"),
        CheckConstraint("window_start <= window_end", name="year_policy_window_check"),
        CheckConstraint("late_rule IN ('REFUSED', 'FULL_COST_WAIT')", name="year_policy_late_rule_check"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    year: int = Field(sa_column=Column(Integer, primary_key=True))
    standard: Decimal = Field(sa_column=money())
    fiscal_subsidy: Decimal | None = Field(default=None, sa_column=money(nullable=True))
    window_start: date = Field(sa_column=Column(Date, nullable=False))
    window_end: date = Field(sa_column=Column(Date, nullable=False))
    extension_end: date | None = Field(default=None, sa_column=Column(Date))
    extension_needs_proof: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="false"))
    list_cutoff: date | None = Field(default=None, sa_column=Column(Date))
    age_reference_date: date = Field(sa_column=Column(Date, nullable=False))
    late_rule: str = Field(sa_column=Column(Text, nullable=False, server_default="REFUSED"))
    late_wait_days: int = Field(default=30, sa_column=Column(Integer, nullable=False, server_default="30"))
    refund_claim_deadline: date | None = Field(default=None, sa_column=Column(Date))
    remit_days: int = Field(default=5, sa_column=Column(Integer, nullable=False, server_default="5"))
    remit_amount: Decimal = Field(sa_column=money(default="10000"))
    newborn_days: int = Field(default=90, sa_column=Column(Integer, nullable=False, server_default="90"))
    updated_by: str | None = Field(default=None, sa_column=Column(Text))
    updated_at: datetime | None = Field(default=None, sa_column=created_at_column("updated_at"))


class SubsidyCategoryRow(SQLModel, table=True):
    """One subsidy category of a year policy; `amount` is the subsidy it gives, computed
    once from the rule (domain/subsidies.py) so SQL never re-derives it."""

    __tablename__ = "subsidy_category"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "year"], ["year_policy.tenant_id", "year_policy.year"], ondelete="CASCADE"),
        CheckConstraint("rule IN ('FULL', 'PERCENT', 'FIXED')", name="subsidy_category_rule_check"),
        CheckConstraint("mode IN ('AUTO_ENROLL', 'DEDUCT', 'REIMBURSE')", name="subsidy_category_mode_check"),
        CheckConstraint("amount >= 0", name="subsidy_category_amount_check"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    year: int = Field(sa_column=Column(Integer, primary_key=True))
    code: str = Field(sa_column=Column(Text, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    owner: str = Field(sa_column=Column(Text, nullable=False))  # DepartmentCode
    rule: str = Field(sa_column=Column(Text, nullable=False))
    value: Decimal | None = Field(default=None, sa_column=money(nullable=True))
    mode: str = Field(sa_column=Column(Text, nullable=False))
    min_age: int | None = Field(default=None, sa_column=Column(Integer))
    max_age: int | None = Field(default=None, sa_column=Column(Integer))
    funders: list | None = Field(default=None, sa_column=Column(JSONB))
    amount: Decimal = Field(sa_column=money())
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class SubsidyBatch(SQLModel, table=True):
    """One upload of a department's list: version N+1 of (year, category)."""

    __tablename__ = "subsidy_batch"
    __table_args__ = (
        UniqueConstraint("tenant_id", "year", "category_code", "version"),
        ForeignKeyConstraint(
            ["tenant_id", "year", "category_code"],
            ["subsidy_category.tenant_id", "subsidy_category.year", "subsidy_category.code"],
        ),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    id: int | None = Field(default=None, sa_column=id_column())
    year: int = Field(sa_column=Column(Integer, nullable=False))
    category_code: str = Field(sa_column=Column(Text, nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    file_name: str = Field(sa_column=Column(Text, nullable=False))
    checksum: str = Field(sa_column=Column(Text, nullable=False))  # sha256 of the file
    uploaded_by: str = Field(sa_column=Column(Text, nullable=False))
    uploaded_at: datetime | None = Field(default=None, sa_column=created_at_column("uploaded_at"))
    rows_total: int = Field(sa_column=Column(Integer, nullable=False))
    rows_accepted: int = Field(sa_column=Column(Integer, nullable=False))
    rows_rejected: int = Field(sa_column=Column(Integer, nullable=False))
    added: int = Field(sa_column=Column(Integer, nullable=False))
    removed: int = Field(sa_column=Column(Integer, nullable=False))
    pending: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class SubsidyListEntry(SQLModel, table=True):
    """The changes each batch made to its list (ADDED, REMOVED, or KEPT with other
    details): who was on which version follows from them (domain/subsidy_history.py)."""

    __tablename__ = "subsidy_list_entry"
    # Keyed (tenant, ID number, batch): a number's entry in a batch and a person's
    # history both read it. No key to the batch: only an upload writes entries, right
    # after inserting its batch (migration 0009).
    __table_args__ = (
        CheckConstraint("change IN ('ADDED', 'KEPT', 'REMOVED')", name="subsidy_list_entry_change_check"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column(references_tenant=False))
    id_number: str = Field(sa_column=Column(Text, primary_key=True))
    batch_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    row_number: int | None = Field(default=None, sa_column=Column(Integer))
    recognized_on: date | None = Field(default=None, sa_column=Column(Date))
    note: str | None = Field(default=None, sa_column=Column(Text))
    change: str = Field(sa_column=Column(Text, nullable=False))


class SubsidyMembership(SQLModel, table=True):
    """Who is on each category's current list. Keyed by ID number, not person, so a
    listed person not yet registered (pending) takes effect the moment they are."""

    __tablename__ = "subsidy_membership"
    # Keyed (tenant, year, ID number, category): a person's lists in a year are one
    # range. No key to the category: only an upload writes members, holding the
    # category row locked, and a category with lists cannot be dropped (migration 0009).

    tenant_id: int = Field(sa_column=tenant_id_column(references_tenant=False))
    year: int = Field(sa_column=Column(Integer, primary_key=True))
    id_number: str = Field(sa_column=Column(Text, primary_key=True))
    category_code: str = Field(sa_column=Column(Text, primary_key=True))
    batch_id: int = Field(sa_column=Column(BigInteger, nullable=False))


class Enrollment(SQLModel, table=True):
    """A person's year: what is due, what subsidy applies and why, what was paid."""

    __tablename__ = "enrollment"
    __table_args__ = (
        # No key to year_policy: enrolments are written only for policy years (the
        # recompute joins year_policy) and a key check costs a row lock per enrolment.
        ForeignKeyConstraint(["tenant_id", "person_id"], ["person.tenant_id", "person.id"]),
        CheckConstraint("status IN ('UNPAID', 'PAID', 'SUBSIDIZED', 'REFUNDED')", name="enrollment_status_check"),
        CheckConstraint("subsidy_mode IS NULL OR subsidy_mode IN ('AUTO_ENROLL', 'DEDUCT', 'REIMBURSE')", name="enrollment_mode_check"),
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
    amount_due: Decimal = Field(sa_column=money())
    paid_amount: Decimal = Field(sa_column=money(default="0"))
    subsidy_category: str | None = Field(default=None, sa_column=Column(Text))
    subsidy_amount: Decimal = Field(sa_column=money(default="0"))
    subsidy_mode: str | None = Field(default=None, sa_column=Column(Text))
    reimbursement_due: Decimal = Field(sa_column=money(default="0"))
    benefit_start: date | None = Field(default=None, sa_column=Column(Date))
    computed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now()))
