"""The tables of subsidy lists: each upload (a version), its entries, the current members."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    ForeignKeyConstraint,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from domain.subsidy_lists.rules import ListChange
from tenants.kinds import enum_check
from tenants.models import created_at_column, id_column, tenant_id_column


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
    details): who was on which version follows from them (domain/subsidy_lists/store.py)."""

    __tablename__ = "subsidy_list_entry"
    # Keyed (tenant, ID number, batch): a number's entry in a batch and a person's
    # history both read it. No key to the batch: only an upload writes entries, right
    # after inserting its batch (migration 0009).
    __table_args__ = (
        enum_check("change", ListChange, "subsidy_list_entry_change_check"),
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
