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
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from domain.money import money_column
from domain.policy.rules import LateRule, NewbornLateRule, SubsidyMode, SubsidyRule
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
        enum_check("newborn_late_rule", NewbornLateRule, "year_policy_newborn_late_rule_check"),
        # The newborn period is given in days or in months, never both (domain/policy/rules.py).
        CheckConstraint("num_nonnulls(newborn_days, newborn_months) = 1", name="year_policy_newborn_period_check"),
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
    # [{channels, recordedBy, from, until}] as in the policy files (domain/policy/files.py);
    # [] opens every channel. Checked on the way in (validate_policy), read back by pydantic.
    channel_rules: list = Field(
        default_factory=list, sa_column=Column(JSONB, nullable=False, server_default=text("'[]'::jsonb"))
    )
    newborn_days: int | None = Field(default=90, sa_column=Column(Integer, server_default="90"))
    newborn_months: int | None = Field(default=None, sa_column=Column(Integer))
    newborn_late_rule: str = Field(sa_column=Column(Text, nullable=False, server_default="GENERAL"))
    newborn_parent_exemption: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    subsidized_grace_months: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
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
