"""Cash (代收) and its remittance (上解) under the 双限 rule (DOMAIN.md §5).

Every CASH_AGENT payment sits in its collector's cash book until it is declared in a
remittance; the tax bureau confirms the remittance (缴费确认单). The 双限 rule: remit
within the policy's days (5) or once its amount (10,000 yuan) is held, whichever comes
first; `alerts` lists the collectors who hold cash longer or more than that.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text

from tenants.problems import Problem, Rejected
from tenants.session import Db


@dataclass(frozen=True)
class Collector:
    id: int
    username: str
    scope_path: str
    scope_unit_id: int | None


async def collector_in_scope(db: Db, tenant_id: int, scope_path: str, user_id: int) -> Collector | None:
    """A village collector whose village lies inside `scope_path`."""
    row = (
        await db.execute(
            text(
                """SELECT u.id, u.username, s.path, u.scope_unit_id FROM app_user u
                     JOIN unit s ON s.tenant_id = u.tenant_id AND s.id = u.scope_unit_id
                    WHERE u.tenant_id = :t AND u.id = :id AND u.role = 'VILLAGE_COLLECTOR' AND s.path ^@ :scope"""
            ),
            {"t": tenant_id, "id": user_id, "scope": scope_path},
        )
    ).first()
    return Collector(*row) if row else None


@dataclass(frozen=True)
class RemittanceRow:
    id: int
    collector_id: int
    unit_path: str
    payments: int
    total: Decimal
    status: str
    declared_by: str
    declared_at: datetime
    confirmed_by: str | None
    confirmed_at: datetime | None
    confirmation_no: str | None


_COLUMNS = (
    "id, collector_id, unit_path, payments, total, status, declared_by, declared_at, confirmed_by, confirmed_at, "
    "confirmation_no"
)


async def declare(db: Db, tenant_id: int, collector: Collector, up_to: datetime | None, actor: str) -> RemittanceRow:
    """Group the collector's undeclared cash (paid up to `up_to`) into one remittance.
    The cash rows are locked first: of two declarations at once, the second finds
    nothing left and is refused."""
    held = (
        await db.execute(
            text(
                """SELECT id, amount FROM payment
                    WHERE tenant_id = :t AND collector_id = :c AND channel = 'CASH_AGENT' AND remittance_id IS NULL
                      AND (CAST(:up_to AS timestamptz) IS NULL OR paid_at <= :up_to)
                    ORDER BY id FOR UPDATE"""
            ),
            {"t": tenant_id, "c": collector.id, "up_to": up_to},
        )
    ).all()
    if not held:
        raise Rejected([Problem("NOTHING_TO_REMIT", f"{collector.username} holds no undeclared cash", ["collector"])])
    total = sum((r.amount for r in held), Decimal("0.00"))
    row = (
        await db.execute(
            text(
                f"""INSERT INTO remittance (tenant_id, collector_id, unit_path, payments, total, status, declared_by)
                    VALUES (:t, :c, :path, :n, :total, 'DECLARED', :by) RETURNING {_COLUMNS}"""
            ),
            {"t": tenant_id, "c": collector.id, "path": collector.scope_path, "n": len(held), "total": total, "by": actor},
        )
    ).one()
    await db.execute(
        text("UPDATE payment SET remittance_id = :r WHERE tenant_id = :t AND id = ANY(CAST(:ids AS bigint[]))"),
        {"t": tenant_id, "r": row.id, "ids": [r.id for r in held]},
    )
    return RemittanceRow(*row)


async def remittance_in_scope(db: Db, tenant_id: int, scope_path: str, remittance_id: int, *, lock: bool = False) -> RemittanceRow | None:
    row = (
        await db.execute(
            text(
                f"""SELECT {_COLUMNS} FROM remittance WHERE tenant_id = :t AND id = :id AND unit_path ^@ :scope
                    {'FOR UPDATE' if lock else ''}"""
            ),
            {"t": tenant_id, "id": remittance_id, "scope": scope_path},
        )
    ).first()
    return RemittanceRow(*row) if row else None


async def confirm(db: Db, tenant_id: int, remittance: RemittanceRow, confirmation_no: str, actor: str) -> RemittanceRow:
    """The tax bureau received the money and issued its confirmation (缴费确认单)."""
    if remittance.status != "DECLARED":
        raise Rejected([Problem("ALREADY_CONFIRMED", f"remittance {remittance.id} is already confirmed", ["remittance"])])
    if not confirmation_no.strip():
        raise Rejected([Problem("CONFIRMATION_REQUIRED", "the confirmation number (缴费确认单号) is required", ["confirmationNo"])])
    row = (
        await db.execute(
            text(
                f"""UPDATE remittance SET status = 'CONFIRMED', confirmed_by = :by, confirmed_at = now(),
                           confirmation_no = :no
                     WHERE tenant_id = :t AND id = :id RETURNING {_COLUMNS}"""
            ),
            {"t": tenant_id, "id": remittance.id, "by": actor, "no": confirmation_no.strip()},
        )
    ).one()
    return RemittanceRow(*row)


async def list_remittances(
    db: Db, tenant_id: int, scope_path: str, status: str | None, collector_id: int | None, first: int, before_id: int | None
) -> tuple[list[RemittanceRow], bool, int]:
    where = "tenant_id = :t AND unit_path ^@ :scope"
    params: dict = {"t": tenant_id, "scope": scope_path, "status": status, "c": collector_id}
    if status is not None:
        where += " AND status = :status"
    if collector_id is not None:
        where += " AND collector_id = :c"
    page = where + (" AND id < :before" if before_id is not None else "")
    rows = (
        await db.execute(
            text(f"SELECT {_COLUMNS} FROM remittance WHERE {page} ORDER BY id DESC LIMIT :limit"),
            {**params, "before": before_id, "limit": first + 1},
        )
    ).all()
    total = await db.scalar(text(f"SELECT count(*) FROM remittance WHERE {where}"), params)
    return [RemittanceRow(*r) for r in rows[:first]], len(rows) > first, total


@dataclass(frozen=True)
class CashHeld:
    collector_id: int
    username: str
    unit_id: int | None
    payments: int
    amount: Decimal
    oldest_paid_at: datetime
    days_held: int
    overdue: bool  # held longer than the policy's days
    over_amount: bool  # more than the policy's amount


async def cash_held(
    db: Db, tenant_id: int, scope_path: str, year: int, now: datetime, only_alerts: bool
) -> list[CashHeld]:
    """Undeclared cash per collector in scope, for one benefit year, with the 双限 flags
    from that year's policy. Whole days held are counted in Shanghai."""
    rows = await db.execute(
        text(
            """
            WITH held AS (
                SELECT p.collector_id, count(*) AS payments, sum(p.amount) AS amount, min(p.paid_at) AS oldest
                  FROM payment p
                 WHERE p.tenant_id = :t AND p.year = :year AND p.channel = 'CASH_AGENT' AND p.remittance_id IS NULL
                   AND p.unit_path ^@ :scope
                 GROUP BY p.collector_id
            )
            SELECT h.collector_id, u.username, u.scope_unit_id, h.payments, h.amount, h.oldest,
                   (CAST(:now AS timestamptz) AT TIME ZONE 'Asia/Shanghai')::date
                     - (h.oldest AT TIME ZONE 'Asia/Shanghai')::date AS days_held,
                   y.remit_days, y.remit_amount
              FROM held h
              JOIN app_user u ON u.tenant_id = :t AND u.id = h.collector_id
              JOIN year_policy y ON y.tenant_id = :t AND y.year = :year
             ORDER BY h.oldest, h.collector_id
            """
        ),
        {"t": tenant_id, "year": year, "scope": scope_path, "now": now},
    )
    found = []
    for r in rows:
        overdue, over_amount = r.days_held > r.remit_days, r.amount > r.remit_amount
        if only_alerts and not (overdue or over_amount):
            continue
        found.append(
            CashHeld(r.collector_id, r.username, r.scope_unit_id, r.payments, r.amount, r.oldest, r.days_held, overdue, over_amount)
        )
    return found
