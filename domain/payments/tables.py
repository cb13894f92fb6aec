"""The tables of payments and of the channel files they came in.

Money rows are never deleted and their amounts never change: the serving role may
UPDATE only the status columns named in the migration (column-level grants), so a
correction is always a new row (a refund), never an edit.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    text,
)
from sqlmodel import Field, SQLModel

from domain.money import money_column
from domain.payments.rules import PaymentChannel, PaymentStatus, Timing
from tenants.kinds import enum_check
from tenants.models import created_at_column, id_column, tenant_id_column


class Payment(SQLModel, table=True):
    """One payment as it arrived: ACCEPTED, or DUPLICATE for a person-year already paid.
    REFUNDED once a whole-payment refund is completed."""

    __tablename__ = "payment"
    __table_args__ = (
        # No key to the person-year's enrolment: a payment is written only for the
        # enrolment row its transaction holds locked, and the server cannot delete
        # enrolments (migration 0010); a key check per row of a channel file cost 1 s.
        ForeignKeyConstraint(["tenant_id", "collector_id"], ["app_user.tenant_id", "app_user.id"]),
        ForeignKeyConstraint(["tenant_id", "remittance_id"], ["remittance.tenant_id", "remittance.id"]),
        # No key for import_id: it only says which file brought the row, and a key check
        # per row of a 100,000-row file re-locks the one import row 100,000 times.
        # Receipts and channel numbers: unique where present (a channel file has no
        # receipts, a cash payment no channel number: no index entries for the NULLs).
        Index(
            "payment_receipt_unique", "tenant_id", "receipt_no", unique=True,
            postgresql_where=text("receipt_no IS NOT NULL"),
        ),
        Index(
            "payment_external_unique", "tenant_id", "channel", "external_id", unique=True,
            postgresql_where=text("external_id IS NOT NULL"),
        ),
        enum_check("channel", PaymentChannel, "payment_channel_check"),
        enum_check("status", PaymentStatus, "payment_status_check"),
        enum_check("timing", Timing, "payment_timing_check"),
        CheckConstraint("amount > 0", name="payment_amount_check"),
        CheckConstraint(f"channel <> '{PaymentChannel.CASH_AGENT}' OR collector_id IS NOT NULL", name="payment_cash_collector_check"),
        # The lock that makes concurrent payments safe: one accepted payment per person-year.
        Index(
            "payment_one_accepted", "tenant_id", "person_id", "year", unique=True,
            postgresql_where=text(f"status = '{PaymentStatus.ACCEPTED}'"),
        ),
        Index("payment_person_year", "tenant_id", "person_id", "year"),
        Index("payment_unit_path", "tenant_id", "unit_path", "id"),
        Index(
            "payment_cash_unremitted", "tenant_id", "collector_id", "paid_at",
            postgresql_where=text(f"channel = '{PaymentChannel.CASH_AGENT}' AND remittance_id IS NULL"),
        ),
    )

    tenant_id: int = Field(sa_column=tenant_id_column(references_tenant=False))
    id: int | None = Field(default=None, sa_column=id_column())
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    year: int = Field(sa_column=Column(Integer, nullable=False))
    amount: Decimal = Field(sa_column=money_column())
    # The amount due when it was accepted: a subsidy granted later is refunded from it.
    due_at_payment: Decimal = Field(sa_column=money_column())
    channel: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    timing: str = Field(sa_column=Column(Text, nullable=False))
    paid_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    benefit_start: date | None = Field(default=None, sa_column=Column(Date))
    back_years: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    receipt_no: str | None = Field(default=None, sa_column=Column(Text))
    external_id: str | None = Field(default=None, sa_column=Column(Text))
    extension_proof: str | None = Field(default=None, sa_column=Column(Text))
    # Where the person lived when they paid: scope filters and township reconciliation.
    # A copy of the person's unit (persons do not move), so no key of its own.
    unit_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    unit_path: str = Field(sa_column=Column(Text(collation="C"), nullable=False))
    collector_id: int | None = Field(default=None, sa_column=Column(BigInteger))  # CASH_AGENT: who holds the cash
    remittance_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    import_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    recorded_by: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime | None = Field(default=None, sa_column=created_at_column("recorded_at"))


class PaymentImport(SQLModel, table=True):
    """One channel file imported by the tax bureau."""

    __tablename__ = "payment_import"

    tenant_id: int = Field(sa_column=tenant_id_column())
    id: int | None = Field(default=None, sa_column=id_column())
    year: int = Field(sa_column=Column(Integer, nullable=False))
    file_name: str = Field(sa_column=Column(Text, nullable=False))
    checksum: str = Field(sa_column=Column(Text, nullable=False))
    imported_by: str = Field(sa_column=Column(Text, nullable=False))
    imported_at: datetime | None = Field(default=None, sa_column=created_at_column("imported_at"))
    rows_total: int = Field(sa_column=Column(Integer, nullable=False))
    accepted: int = Field(sa_column=Column(Integer, nullable=False))
    duplicates: int = Field(sa_column=Column(Integer, nullable=False))
    already_imported: int = Field(sa_column=Column(Integer, nullable=False))
    rejected: int = Field(sa_column=Column(Integer, nullable=False))
