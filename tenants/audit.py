"""The append-only audit trail and idempotency receipts.

Every mutation writes one `audit_log` row inside its own request transaction, so the
record and the change commit or vanish together. The serving role may INSERT and
SELECT here, never UPDATE or DELETE (granted in the migration).
"""
from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Index, Text, insert, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from tenants.kinds import enum_check
from tenants.models import created_at_column, id_column, tenant_id_column
from tenants.session import Db


class Outcome(StrEnum):
    OK = "ok"
    REJECTED = "rejected"


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        enum_check("outcome", Outcome, "audit_outcome_check"),
        Index("audit_log_tenant_at", "tenant_id", "created_at"),
    )

    tenant_id: int = Field(sa_column=tenant_id_column())
    id: int | None = Field(default=None, sa_column=id_column())
    created_at: datetime | None = Field(default=None, sa_column=created_at_column())
    actor: str = Field(sa_column=Column(Text, nullable=False))  # "u:12", "op:1"
    operation: str = Field(sa_column=Column(Text, nullable=False))
    entity: str | None = Field(default=None, sa_column=Column(Text))
    entity_id: str | None = Field(default=None, sa_column=Column(Text))
    before: dict | None = Field(default=None, sa_column=Column(JSONB))
    after: dict | None = Field(default=None, sa_column=Column(JSONB))
    outcome: str = Field(sa_column=Column(Text, nullable=False))
    correlation_id: str | None = Field(default=None, sa_column=Column(Text))


class MutationReceipt(SQLModel, table=True):
    """(actor, clientMutationId) → the entity a mutation produced, for safe retries."""

    __tablename__ = "mutation_receipt"

    tenant_id: int = Field(sa_column=tenant_id_column())
    actor: str = Field(sa_column=Column(Text, primary_key=True))
    client_mutation_id: str = Field(sa_column=Column(Text, primary_key=True))
    operation: str = Field(sa_column=Column(Text, nullable=False))
    entity_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_at: datetime | None = Field(default=None, sa_column=created_at_column())


def _json_text(value: Any) -> str | None:
    return json.dumps(value, default=str) if value is not None else None


# Every mutation writes one: a plain statement, straight on psycopg (tenants/session.py).
_INSERT = text(
    """INSERT INTO audit_log (tenant_id, actor, operation, entity, entity_id, before, after, outcome, correlation_id)
       VALUES (:tenant, :actor, :operation, :entity, :entity_id, CAST(:before AS jsonb), CAST(:after AS jsonb),
               :outcome, :correlation_id)"""
)


async def write_audit(
    db: Db,
    *,
    tenant_id: int,
    actor: str,
    operation: str,
    outcome: str,
    entity: str | None = None,
    entity_id: str | int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    correlation_id: str | None = None,
) -> None:
    await db.execute(
        _INSERT,
        {
            "tenant": tenant_id, "actor": actor, "operation": operation, "entity": entity,
            "entity_id": None if entity_id is None else str(entity_id),
            "before": _json_text(before), "after": _json_text(after), "outcome": outcome,
            "correlation_id": correlation_id,
        },
    )


async def find_receipt(db: Db, tenant_id: int, actor: str, client_mutation_id: str, operation: str) -> int | None:
    row = (
        await db.execute(
            select(MutationReceipt.entity_id).where(
                MutationReceipt.tenant_id == tenant_id,
                MutationReceipt.actor == actor,
                MutationReceipt.client_mutation_id == client_mutation_id,
                MutationReceipt.operation == operation,
            )
        )
    ).first()
    return None if row is None else row[0]


async def store_receipt(
    db: Db, tenant_id: int, actor: str, client_mutation_id: str, operation: str, entity_id: int | None
) -> None:
    await db.execute(
        insert(MutationReceipt).values(
            tenant_id=tenant_id,
            actor=actor,
            client_mutation_id=client_mutation_id,
            operation=operation,
            entity_id=entity_id,
        )
    )
