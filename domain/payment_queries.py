"""Reading payments: pages in the caller's scope, newest first."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from domain.payments import PAYMENT_COLUMNS, PaymentRow, payment_row
from tenants.session import Db


@dataclass(frozen=True)
class PaymentQuery:
    tenant_id: int
    path: str  # the caller's scope, or a unit's subtree inside it
    year: int | None = None
    channel: str | None = None
    status: str | None = None
    person_id: int | None = None


@dataclass(frozen=True)
class PaymentPage:
    rows: list[PaymentRow]
    has_next: bool
    total: int


def _where(query: PaymentQuery) -> tuple[str, dict]:
    clauses = ["tenant_id = :tenant", "unit_path ^@ :path"]
    params: dict = {"tenant": query.tenant_id, "path": query.path}
    for column in ("year", "channel", "status", "person_id"):
        value = getattr(query, column)
        if value is not None:
            clauses.append(f"{column} = :{column}")
            params[column] = value
    return " AND ".join(clauses), params


async def list_payments(db: Db, query: PaymentQuery, first: int, before_id: int | None) -> PaymentPage:
    where, params = _where(query)
    page_where = where + (" AND id < :before" if before_id is not None else "")
    rows = (
        await db.execute(
            text(f"SELECT {PAYMENT_COLUMNS} FROM payment WHERE {page_where} ORDER BY id DESC LIMIT :limit"),
            {**params, "before": before_id, "limit": first + 1},
        )
    ).all()
    total = await db.scalar(text(f"SELECT count(*) FROM payment WHERE {where}"), params)
    return PaymentPage([payment_row(r) for r in rows[:first]], len(rows) > first, total)
