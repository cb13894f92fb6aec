"""Tenants, their jurisdiction tree and departments.

`tenant` is a platform table (its id *is* the tenant id). Every other table carries
`tenant_id` first in its primary key, unique constraints and foreign keys.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
)
from sqlmodel import Field, SQLModel

from tenants.kinds import DepartmentCode, UnitKind, enum_check


def tenant_id_column(references_tenant: bool = True) -> Column:
    """`tenant_id`, first in the primary key. A hot table whose composite keys already
    lead to a tenant's row may skip the direct key to `tenant` (one check less per row)."""
    keys = [ForeignKey("tenant.id")] if references_tenant else []
    return Column("tenant_id", BigInteger, *keys, primary_key=True, nullable=False)


def id_column() -> Column:
    return Column("id", BigInteger, Identity(always=False), primary_key=True, nullable=False)


def created_at_column(name: str = "created_at") -> Column:
    return Column(name, DateTime(timezone=True), nullable=False, server_default=func.now())


class Tenant(SQLModel, table=True):
    __tablename__ = "tenant"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    code: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    time_zone: str = Field(default="Asia/Shanghai", sa_column=Column(Text, nullable=False, server_default="Asia/Shanghai"))
    # Bumped whenever a casbin grouping row of this tenant changes (users, category owners).
    authz_version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Moves with every save of a year policy (0017a): processes cache policies by it.
    policy_version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Moves with every change of a unit's place or name and of a quota, by triggers
    # (0020b): processes cache the children of a unit with their targets by it.
    tree_version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    client_mutation_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime | None = Field(default=None, sa_column=created_at_column())


class Unit(SQLModel, table=True):
    __tablename__ = "unit"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "parent_id"], ["unit.tenant_id", "unit.id"]),
        ForeignKeyConstraint(["tenant_id", "merged_into_id"], ["unit.tenant_id", "unit.id"], name="unit_merged_into_fkey"),
        CheckConstraint("retired OR merged_into_id IS NULL", name="unit_merged_retired_check"),
        UniqueConstraint("tenant_id", "code"),
        enum_check("kind", UnitKind, "unit_kind_check"),
        CheckConstraint("length(btrim(name)) > 0", name="unit_name_check"),
        Index("unit_tenant_path", "tenant_id", "path"),
        Index("unit_tenant_parent", "tenant_id", "parent_id", "code"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    id: int | None = Field(default=None, sa_column=id_column())
    parent_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    code: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    # Materialised path of unit ids, "/12/345/"; collation C so LIKE 'prefix%' uses the index.
    path: str = Field(sa_column=Column(Text(collation="C"), nullable=False))
    depth: int = Field(sa_column=Column(Integer, nullable=False))
    # Persons registered directly in this unit, moved with each registration: a
    # township's total is a sum over its few units, not a count of 60,000 rows.
    persons: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Day two: a merged or emptied division is retired, never deleted: old payments,
    # refunds, snapshots and the audit trail still name it (migration 0015c).
    retired: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="false"))
    retired_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    merged_into_id: int | None = Field(default=None, sa_column=Column(BigInteger))


class Department(SQLModel, table=True):
    __tablename__ = "department"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        enum_check("code", DepartmentCode, "department_code_check"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    id: int | None = Field(default=None, sa_column=id_column())
    code: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
