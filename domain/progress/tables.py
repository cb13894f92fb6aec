"""Tables of quotas (征缴任务), daily progress snapshots and the assessment rules.

Progress itself is never stored per request: it is summed from `enrollment_tally`,
which moves in the same statement as every enrolment. Snapshots freeze that sum once a
day, so trends and weekly rankings can be read back later ("reached by 12-31" is counted
from the record itself: domain/progress/sql.py).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from tenants.models import created_at_column, tenant_id_column


class Quota(SQLModel, table=True):
    """A unit's enrolment target for a benefit year. Any unit may carry one; a unit
    without its own quota is measured against the sum of its children's."""

    __tablename__ = "quota"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "unit_id"], ["unit.tenant_id", "unit.id"]),
        CheckConstraint("target >= 0", name="quota_target_check"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="quota_year_check"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    year: int = Field(sa_column=Column(Integer, primary_key=True))
    unit_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    target: int = Field(sa_column=Column(Integer, nullable=False))
    updated_by: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime | None = Field(default=None, sa_column=created_at_column("updated_at"))


class ProgressSnapshot(SQLModel, table=True):
    """One unit's progress on one day (its whole subtree), with its rank among its
    siblings that day. Taken again the same day, the later figures replace the earlier."""

    __tablename__ = "progress_snapshot"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "unit_id"], ["unit.tenant_id", "unit.id"]),
        Index("progress_snapshot_unit_day", "tenant_id", "year", "unit_id", "day"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    year: int = Field(sa_column=Column(Integer, primary_key=True))
    day: date = Field(sa_column=Column(Date, primary_key=True))
    unit_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    parent_id: int | None = Field(default=None, sa_column=Column(BigInteger))  # siblings share it
    target: int = Field(sa_column=Column(Integer, nullable=False))
    unpaid: int = Field(sa_column=Column(Integer, nullable=False))
    paid: int = Field(sa_column=Column(Integer, nullable=False))
    subsidized: int = Field(sa_column=Column(Integer, nullable=False))
    refunded: int = Field(sa_column=Column(Integer, nullable=False))
    exempt: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    excused: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    rank: int = Field(sa_column=Column(Integer, nullable=False))
    siblings: int = Field(sa_column=Column(Integer, nullable=False))  # ranked among this many
    taken_at: datetime | None = Field(default=None, sa_column=created_at_column("taken_at"))


class AssessmentRulesRow(SQLModel, table=True):
    """The reward and penalty rules of a year policy (考核), as the policy file writes
    them (domain/progress/files.py `rules_to_dict`). Goes with its policy."""

    __tablename__ = "assessment_rules"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "year"], ["year_policy.tenant_id", "year_policy.year"], ondelete="CASCADE"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    year: int = Field(sa_column=Column(Integer, primary_key=True))
    rules: dict = Field(sa_column=Column(JSONB, nullable=False))
    updated_by: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime | None = Field(default=None, sa_column=created_at_column("updated_at"))
