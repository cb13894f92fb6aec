"""The tables of rosters: one row per uploaded version, one per finding of a version."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Date, ForeignKeyConstraint, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from domain.rosters.rules import RosterKind
from tenants.kinds import enum_check
from tenants.models import created_at_column, id_column, tenant_id_column


class RosterBatch(SQLModel, table=True):
    """One version of a department's roster for a year; the newest version of a kind and
    year is in force, the earlier ones stay as history."""

    __tablename__ = "roster_batch"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "year", "version"),
        enum_check("kind", RosterKind, "roster_batch_kind_check"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    id: int | None = Field(default=None, sa_column=id_column())
    kind: str = Field(sa_column=Column(Text, nullable=False))
    year: int = Field(sa_column=Column(Integer, nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    file_name: str = Field(sa_column=Column(Text, nullable=False))
    checksum: str = Field(sa_column=Column(Text, nullable=False))
    rows_total: int = Field(sa_column=Column(Integer, nullable=False))
    rows_accepted: int = Field(sa_column=Column(Integer, nullable=False))
    rows_rejected: int = Field(sa_column=Column(Integer, nullable=False))
    matched: int = Field(sa_column=Column(Integer, nullable=False))
    uploaded_by: str = Field(sa_column=Column(Text, nullable=False))
    uploaded_at: datetime | None = Field(default=None, sa_column=created_at_column("uploaded_at"))


class RosterFinding(SQLModel, table=True):
    """A listed person registered here, in one version. `event_id`: the life event the
    finding recorded (null when the same kind of event was already in force, recorded by
    hand or by an earlier version); a later version that no longer lists the person
    withdraws it. (No key to person_event: events are never deleted, and 100,000 key
    checks cost a 200,000-row roster a second.)"""

    __tablename__ = "roster_finding"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "batch_id"], ["roster_batch.tenant_id", "roster_batch.id"]),
        ForeignKeyConstraint(["tenant_id", "person_id"], ["person.tenant_id", "person.id"]),
        UniqueConstraint("tenant_id", "batch_id", "person_id"),
        enum_check("kind", RosterKind, "roster_finding_kind_check"),
        # The lists and the 断保 probes ask "is this person found in force?"
        Index("roster_finding_person", "tenant_id", "person_id"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column(references_tenant=False))
    id: int | None = Field(default=None, sa_column=id_column())
    batch_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    year: int = Field(sa_column=Column(Integer, nullable=False))
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    event_date: date = Field(sa_column=Column(Date, nullable=False))
    event_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    row_number: int = Field(sa_column=Column(Integer, nullable=False))
