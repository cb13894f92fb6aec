"""The tables of cash: collectors' remittances, reimbursements paid out."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
)
from sqlmodel import Field, SQLModel

from domain.cash.rules import RemittanceStatus
from domain.money import money_column
from tenants.kinds import enum_check
from tenants.models import created_at_column, id_column, tenant_id_column


class Remittance(SQLModel, table=True):
    """A collector's cash handed over (上解): DECLARED by the collector or township,
    CONFIRMED by the tax bureau (缴费确认单)."""

    __tablename__ = "remittance"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "collector_id"], ["app_user.tenant_id", "app_user.id"]),
        enum_check("status", RemittanceStatus, "remittance_status_check"),
        Index("remittance_collector", "tenant_id", "collector_id", "id"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    id: int | None = Field(default=None, sa_column=id_column())
    collector_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    unit_path: str = Field(sa_column=Column(Text(collation="C"), nullable=False))  # the collector's scope
    payments: int = Field(sa_column=Column(Integer, nullable=False))
    total: Decimal = Field(sa_column=money_column())
    status: str = Field(sa_column=Column(Text, nullable=False, server_default=RemittanceStatus.DECLARED))
    declared_by: str = Field(sa_column=Column(Text, nullable=False))
    declared_at: datetime | None = Field(default=None, sa_column=created_at_column("declared_at"))
    confirmed_by: str | None = Field(default=None, sa_column=Column(Text))
    confirmed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    confirmation_no: str | None = Field(default=None, sa_column=Column(Text))


class ReimbursementPayout(SQLModel, table=True):
    """A REIMBURSE subsidy paid back to the person (先缴后补; 双牌: the 一卡通 card)."""

    __tablename__ = "reimbursement_payout"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["person.tenant_id", "person.id"]),
        ForeignKeyConstraint(["tenant_id", "year"], ["year_policy.tenant_id", "year_policy.year"]),
        CheckConstraint("amount > 0", name="reimbursement_amount_check"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    year: int = Field(sa_column=Column(Integer, primary_key=True))
    amount: Decimal = Field(sa_column=money_column())
    method: str = Field(sa_column=Column(Text, nullable=False))  # e.g. 一卡通
    reference: str | None = Field(default=None, sa_column=Column(Text))
    paid_by: str = Field(sa_column=Column(Text, nullable=False))
    paid_at: datetime | None = Field(default=None, sa_column=created_at_column("paid_at"))
