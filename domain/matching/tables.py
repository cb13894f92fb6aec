"""Tables of duplicate enrolment matching.

- `match_key`: the platform's fingerprint key (HMAC pads), written by `zhengjiao migrate`
  from ZHENGJIAO_MATCH_SECRET; the serving role has no grant on it.
- `enrolment_fingerprint`: per county, benefit year and enrolled person, the keyed
  fingerprint of the ID number (never the number) and since when. Kept by triggers on
  `enrollment`, in the transaction that changes the enrolment. No grant to the serving
  role at all: counties learn about each other only through the definer functions of
  migration 0016a (`match_elsewhere`, `match_resolve_case`).
- `duplicate_case`: one county's side of a person enrolled in two counties; the serving
  role may only read it (row-level security), written by the definer functions.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Column, DateTime, ForeignKeyConstraint, Index, Integer, LargeBinary, Text
from sqlalchemy.dialects.postgresql import UUID
from sqlmodel import Field, SQLModel

from domain.matching.rules import DuplicateCaseStatus
from tenants.kinds import enum_check
from tenants.models import created_at_column, id_column, tenant_id_column


class MatchKey(SQLModel, table=True):
    __tablename__ = "match_key"

    id: bool = Field(default=True, sa_column=Column(Boolean, primary_key=True))
    ipad: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    opad: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class EnrolmentFingerprint(SQLModel, table=True):
    __tablename__ = "enrolment_fingerprint"
    __table_args__ = (Index("enrolment_fingerprint_match", "fingerprint", postgresql_using="hash"),)

    tenant_id: int = Field(sa_column=tenant_id_column(references_tenant=False))
    year: int = Field(sa_column=Column(Integer, primary_key=True, nullable=False))
    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, nullable=False))
    fingerprint: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    since: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    at_school: bool = Field(sa_column=Column(Boolean, nullable=False))


class DuplicateCase(SQLModel, table=True):
    __tablename__ = "duplicate_case"
    __table_args__ = (
        enum_check("status", DuplicateCaseStatus, "duplicate_case_status_check"),
        ForeignKeyConstraint(["tenant_id", "person_id"], ["person.tenant_id", "person.id"]),
        Index("duplicate_case_list", "tenant_id", "year", "status", "id"),
        Index(
            "duplicate_case_one_open", "tenant_id", "year", "person_id", "other_tenant_id",
            unique=True, postgresql_where="status = 'OPEN'",
        ),
        Index("duplicate_case_pair", "pair_id"),
        # "released for the year?" asked person by person (domain/matching/sql.py)
        Index("duplicate_case_released", "tenant_id", "person_id", "year", postgresql_where="status = 'RELEASED'"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    id: int | None = Field(default=None, sa_column=id_column())
    year: int = Field(sa_column=Column(Integer, nullable=False))
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    pair_id: str = Field(sa_column=Column(UUID(as_uuid=False), nullable=False))  # the other county's side shares it
    other_tenant_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    since: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    at_school: bool = Field(sa_column=Column(Boolean, nullable=False))
    other_since: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    other_at_school: bool = Field(sa_column=Column(Boolean, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False, server_default="OPEN"))
    resolved_here: bool | None = Field(default=None, sa_column=Column(Boolean))
    note: str | None = Field(default=None, sa_column=Column(Text))
    resolved_by: str | None = Field(default=None, sa_column=Column(Text))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    created_at: datetime | None = Field(default=None, sa_column=created_at_column())
