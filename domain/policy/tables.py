"""The tables of year policies: the policy row and its subsidy categories."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKeyConstraint,
    Integer,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from domain.money import money_column
from domain.policy.rules import LateRule, SubsidyMode, SubsidyRule
from tenants.kinds import enum_check
from tenants.models import created_at_column, tenant_id_column


class YearPolicyRow(SQLModel, table=True):
    """A county's policy for one benefit year (年度征缴方案)."""

    __tablename__ = "year_policy"
    __table_args__ = (
        CheckConstraint("standard > 0", name="year_policy_standard_check"),
        CheckConstraint("window_start <= window_end", name="year_policy_window_check"),
        CheckConstraint("call_in_bottom > 0", name="year_policy_call_in_check"),
        enum_check("late_rule", LateRule, "year_policy_late_rule_check"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    year: int = Field(sa_column=Column(Integer, primary_key=True))
    standard: Decimal = Field(sa_column=money_column())
    fiscal_subsidy: Decimal | None = Field(default=None, sa_column=money_column(nullable=True))
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
    remit_amount: Decimal = Field(sa_column=money_column(default="10000"))
    newborn_days: int = Field(default=90, sa_column=Column(Integer, nullable=False, server_default="90"))
    call_in_bottom: int | None = Field(default=None, sa_column=Column(Integer))  # migration 0013d
    updated_by: str | None = Field(default=None, sa_column=Column(Text))
    updated_at: datetime | None = Field(default=None, sa_column=created_at_column("updated_at"))


class SubsidyCategoryRow(SQLModel, table=True):
    """One subsidy category of a year policy; `amount` is the subsidy it gives, computed
    once from the rule (`category_amount` in domain/policy/rules.py) so SQL never re-derives it."""

    __tablename__ = "subsidy_category"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "year"], ["year_policy.tenant_id", "year_policy.year"], ondelete="CASCADE"),
        enum_check("rule", SubsidyRule, "subsidy_category_rule_check"),
        enum_check("mode", SubsidyMode, "subsidy_category_mode_check"),
        CheckConstraint("amount >= 0", name="subsidy_category_amount_check"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    year: int = Field(sa_column=Column(Integer, primary_key=True))
    code: str = Field(sa_column=Column(Text, primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    owner: str = Field(sa_column=Column(Text, nullable=False))  # DepartmentCode
    rule: str = Field(sa_column=Column(Text, nullable=False))
    value: Decimal | None = Field(default=None, sa_column=money_column(nullable=True))
    mode: str = Field(sa_column=Column(Text, nullable=False))
    min_age: int | None = Field(default=None, sa_column=Column(Integer))
    max_age: int | None = Field(default=None, sa_column=Column(Integer))
    funders: list | None = Field(default=None, sa_column=Column(JSONB))
    amount: Decimal = Field(sa_column=money_column())
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
