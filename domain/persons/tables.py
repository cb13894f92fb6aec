"""The person table: one row per resident registered in a county."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKeyConstraint,
    Index,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from domain.persons.rules import Sex
from tenants.kinds import enum_check
from tenants.models import created_at_column, id_column, tenant_id_column


class Person(SQLModel, table=True):
    __tablename__ = "person"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id_number"),
        ForeignKeyConstraint(["tenant_id", "unit_id"], ["unit.tenant_id", "unit.id"]),
        enum_check("sex", Sex, "person_sex_check"),
        CheckConstraint("id_number ~ '^[0-9]{17}[0-9X]$'", name="person_id_number_check"),
        CheckConstraint("length(btrim(name)) > 0", name="person_name_check"),
        # Keyset pagination walks (unit_path, id); a subtree is a path prefix.
        Index("person_tenant_unit_path", "tenant_id", "unit_path", "id"),
        Index("person_tenant_name", "tenant_id", "name", postgresql_ops={"name": "text_pattern_ops"}),
    )

    tenant_id: int = Field(sa_column=tenant_id_column(references_tenant=False))
    id: int | None = Field(default=None, sa_column=id_column())
    id_number: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    birth_date: date = Field(sa_column=Column(Date, nullable=False))
    sex: str = Field(sa_column=Column(Text, nullable=False))
    unit_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Copy of the unit's path, so a township's persons are one index range.
    unit_path: str = Field(sa_column=Column(Text(collation="C"), nullable=False))
    phone: str | None = Field(default=None, sa_column=Column(Text))
    # The registration day (参保登记) in Asia/Shanghai, by the business clock: 内乡's late
    # newborns are covered from it. Bulk loaders that do not give it get today.
    registered_on: date = Field(
        sa_column=Column(Date, nullable=False, server_default=text("((now() AT TIME ZONE 'Asia/Shanghai'))::date"))
    )
    created_by: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = Field(default=None, sa_column=created_at_column())
