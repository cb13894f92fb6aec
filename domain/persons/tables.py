"""The person table: one row per resident registered in a county."""
from __future__ import annotations

from datetime import date, datetime
from datetime import date as date_type

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from domain.persons.events import PersonEventKind
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


class PersonEvent(SQLModel, table=True):
    """A life event (domain/persons/events.py): recorded, withdrawn when wrong, never
    deleted or rewritten (the serving role may UPDATE only the withdrawal columns)."""

    __tablename__ = "person_event"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["person.tenant_id", "person.id"]),
        enum_check("kind", PersonEventKind, "person_event_kind_check"),
        CheckConstraint("(withdrawn_at IS NULL) = (withdrawn_by IS NULL)", name="person_event_withdrawal_check"),
        # One event of a kind in force per person; the recompute and the 断保 lists
        # probe (tenant, person) for events in force.
        Index(
            "person_event_in_force", "tenant_id", "person_id", "kind", unique=True,
            postgresql_where=text("withdrawn_at IS NULL"),
        ),
    )

    tenant_id: int = Field(sa_column=tenant_id_column(references_tenant=False))  # the person's key leads there (0020a)
    id: int | None = Field(default=None, sa_column=id_column())
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    date: date_type = Field(sa_column=Column(Date, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text))
    recorded_by: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime | None = Field(default=None, sa_column=created_at_column("recorded_at"))
    withdrawn_by: str | None = Field(default=None, sa_column=Column(Text))
    withdrawn_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class PersonChange(SQLModel, table=True):
    """Registration history: one row per field changed (name, phone, idNumber, unit),
    appended in the transaction of the change and never edited. ID numbers are stored
    whole (医保局 needs them); readers who see numbers masked get them masked."""

    __tablename__ = "person_change"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "person_id"], ["person.tenant_id", "person.id"]),
        Index("person_change_person", "tenant_id", "person_id", "id"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    id: int | None = Field(default=None, sa_column=id_column())
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    field: str = Field(sa_column=Column(Text, nullable=False))
    before: str | None = Field(default=None, sa_column=Column(Text))
    after: str | None = Field(default=None, sa_column=Column(Text))
    changed_by: str = Field(sa_column=Column(Text, nullable=False))
    changed_at: datetime | None = Field(default=None, sa_column=created_at_column("changed_at"))
    reason: str | None = Field(default=None, sa_column=Column(Text))
