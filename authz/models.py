"""Accounts: platform operators (no tenant), county users (one role, one scope), and
the login counters (authz/throttle_store.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from authz.roles import Role
from authz.throttle_rules import Subject
from tenants.kinds import enum_check
from tenants.models import created_at_column, id_column, tenant_id_column


class PlatformOperator(SQLModel, table=True):
    __tablename__ = "platform_operator"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    username: str = Field(sa_column=Column(Text, nullable=False, unique=True))
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default="true"))
    created_at: datetime | None = Field(default=None, sa_column=created_at_column())


class UserAccount(SQLModel, table=True):
    __tablename__ = "app_user"
    __table_args__ = (
        UniqueConstraint("tenant_id", "username"),
        ForeignKeyConstraint(["tenant_id", "department_id"], ["department.tenant_id", "department.id"]),
        ForeignKeyConstraint(["tenant_id", "scope_unit_id"], ["unit.tenant_id", "unit.id"]),
        enum_check("role", Role, "app_user_role_check", extra="role <> 'PLATFORM_OPERATOR'"),
        CheckConstraint("role <> 'DEPARTMENT_STAFF' OR department_id IS NOT NULL", name="app_user_department_check"),
        CheckConstraint(
            "role NOT IN ('TOWNSHIP_STAFF', 'VILLAGE_COLLECTOR') OR scope_unit_id IS NOT NULL",
            name="app_user_scope_check",
        ),
        CheckConstraint("session_version >= 0", name="app_user_session_version_check"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    id: int | None = Field(default=None, sa_column=id_column())
    username: str = Field(sa_column=Column(Text, nullable=False))
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    role: str = Field(sa_column=Column(Text, nullable=False))
    department_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    scope_unit_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, server_default="true"))
    created_at: datetime | None = Field(default=None, sa_column=created_at_column())
    # Day two (migration 0015a). Tokens carry the session version they were issued
    # under; moving it (deactivation, a reset, a change of password) refuses them all.
    session_version: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    must_change_password: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    last_login_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class LoginThrottle(SQLModel, table=True):
    """Failed logins per account or client address, keyed by an HMAC (no usernames or
    addresses stored). A platform table: no county owns an address (migration 0011)."""

    __tablename__ = "login_throttle"
    __table_args__ = (
        enum_check("subject", Subject, "login_throttle_subject_check"),
        CheckConstraint("failures >= 0", name="login_throttle_failures_check"),
    )

    key: str = Field(sa_column=Column(Text, primary_key=True))
    subject: str = Field(sa_column=Column(Text, nullable=False))
    failures: int = Field(sa_column=Column(Integer, nullable=False))
    window_started: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_failure_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    locked_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
