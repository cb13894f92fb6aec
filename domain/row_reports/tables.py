"""The tables of row error reports: one row per report, one per rejected row."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKeyConstraint, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from domain.row_reports.rules import RowReportKind
from tenants.kinds import enum_check
from tenants.models import created_at_column, id_column, tenant_id_column


class RowReport(SQLModel, table=True):
    """The rejected rows of one upload (a dry run's too), as the file had them."""

    __tablename__ = "row_report"
    __table_args__ = (enum_check("kind", RowReportKind, "row_report_kind_check"),)

    tenant_id: int = Field(sa_column=tenant_id_column())
    id: int | None = Field(default=None, sa_column=id_column())
    kind: str = Field(sa_column=Column(Text, nullable=False))
    year: int = Field(sa_column=Column(Integer, nullable=False))
    category_code: str | None = Field(default=None, sa_column=Column(Text))  # a subsidy list's category
    batch_id: int | None = Field(default=None, sa_column=Column(BigInteger))  # null: a dry run or a refusal
    file_name: str = Field(sa_column=Column(Text, nullable=False))
    headers: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    id_column: int = Field(sa_column=Column(Integer, nullable=False))
    known_columns: list[int] = Field(sa_column=Column(JSONB, nullable=False))
    rows_rejected: int = Field(sa_column=Column(Integer, nullable=False))  # all of them, kept or not
    created_by: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=created_at_column())


class RowReportRow(SQLModel, table=True):
    __tablename__ = "row_report_row"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "report_id"], ["row_report.tenant_id", "row_report.id"], ondelete="CASCADE"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column(references_tenant=False))
    report_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    row_number: int = Field(sa_column=Column(Integer, primary_key=True, nullable=False))
    cells: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    column_name: str | None = Field(default=None, sa_column=Column(Text))
    code: str = Field(sa_column=Column(Text, nullable=False))
    variant: str | None = Field(default=None, sa_column=Column(Text))
    params: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    messages: dict[str, str] = Field(sa_column=Column(JSONB, nullable=False))  # locale → message
