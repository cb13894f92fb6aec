"""The refund table: one row per refund, never deleted."""
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
    Text,
    text,
)
from sqlmodel import Field, SQLModel

from domain.money import money_column
from domain.refunds.rules import RefundPayback, RefundReason, RefundStatus
from tenants.kinds import enum_check
from tenants.models import created_at_column, id_column, tenant_id_column


class Refund(SQLModel, table=True):
    """REQUESTED → APPROVED | REJECTED; APPROVED → COMPLETED, paid back on the original
    channel or from the collector's cash book (`payback`, set on completion)."""

    __tablename__ = "refund"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "payment_id"], ["payment.tenant_id", "payment.id"]),
        enum_check("reason", RefundReason, "refund_reason_check"),
        enum_check("status", RefundStatus, "refund_status_check"),
        CheckConstraint("amount > 0", name="refund_amount_check"),
        enum_check("payback", RefundPayback, "refund_payback_check", nullable=True),
        CheckConstraint(f"(status = '{RefundStatus.COMPLETED}') = (payback IS NOT NULL)", name="refund_payback_completed_check"),
        # A payment is refunded whole at most once (partial SUBSIDY_OVERPAID refunds may repeat).
        Index(
            "refund_one_whole", "tenant_id", "payment_id", unique=True,
            postgresql_where=text(f"reason <> '{RefundReason.SUBSIDY_OVERPAID}' AND status <> '{RefundStatus.REJECTED}'"),
        ),
        Index("refund_payment", "tenant_id", "payment_id"),
        Index("refund_status", "tenant_id", "status", "id"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    id: int | None = Field(default=None, sa_column=id_column())
    payment_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    amount: Decimal = Field(sa_column=money_column())
    status: str = Field(sa_column=Column(Text, nullable=False, server_default=RefundStatus.REQUESTED))
    automatic: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="false"))
    event_date: date | None = Field(default=None, sa_column=Column(Date))
    note: str | None = Field(default=None, sa_column=Column(Text))
    requested_by: str = Field(sa_column=Column(Text, nullable=False))
    requested_at: datetime | None = Field(default=None, sa_column=created_at_column("requested_at"))
    decided_by: str | None = Field(default=None, sa_column=Column(Text))
    decided_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    decision_note: str | None = Field(default=None, sa_column=Column(Text))
    completed_by: str | None = Field(default=None, sa_column=Column(Text))
    completed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    completion_ref: str | None = Field(default=None, sa_column=Column(Text))
    payback: str | None = Field(default=None, sa_column=Column(Text))
