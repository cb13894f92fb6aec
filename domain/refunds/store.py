"""Refunds (退费) in the database: requested, decided, completed (rules in rules.py).

REQUESTED → APPROVED | REJECTED; APPROVED → COMPLETED when the money is paid back.
Approval is the decision that moves the books: a whole refund marks the payment
REFUNDED and ends the enrolment (REFUNDED, no benefits); a SUBSIDY_OVERPAID refund
gives back only the subsidy part and the person stays PAID — unless the subsidy is the
whole amount (八公山 特困 listed after paying): then everything paid went back, the
payment is REFUNDED (so a new payment is accepted should the listing end) and the year
is SUBSIDIZED from 1 January. Completion records how the money went back (`payback`):
cash a collector still holds undeclared leaves their cash book (domain/cash/store.py),
anything else goes back on its channel through the tax bureau.
Decisions and completions are dated by the business clock (reconciliation by period).
The payment row itself is never deleted and its amount never changes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from domain.enrollment.store import take_back
from domain.payments.rules import PaymentChannel, PaymentStatus
from domain.payments.store import PaymentRow
from domain.policy.rules import YearPolicy
from domain.refunds.rules import (
    WHOLE_PAYMENT,
    RefundPayback,
    RefundReason,
    RefundRequest,
    RefundStatus,
    check_reason,
    payback_for,
)
from tenants.pages import Page, newest_first
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.session import Db

REFUND_COLUMNS = (
    "r.id, r.payment_id, r.reason, r.amount, r.status, r.automatic, r.event_date, r.note, r.requested_by, "
    "r.requested_at, r.decided_by, r.decided_at, r.decision_note, r.completed_at, r.completion_ref, r.payback"
)


@dataclass(frozen=True)
class RefundRow:
    id: int
    payment_id: int
    reason: RefundReason
    amount: Decimal
    status: RefundStatus
    automatic: bool
    event_date: date | None
    note: str | None
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    completed_at: datetime | None
    completion_ref: str | None
    payback: RefundPayback | None


def _row(r) -> RefundRow:  # noqa: ANN001
    payback = RefundPayback(r[15]) if r[15] is not None else None
    return RefundRow(r[0], r[1], RefundReason(r[2]), *r[3:4], RefundStatus(r[4]), *r[5:15], payback)


async def refunds_of_payments(db: Db, tenant_id: int, payment_ids: list[int]) -> list[RefundRow]:
    rows = await db.execute(
        text(
            f"""SELECT {REFUND_COLUMNS} FROM refund r
                 WHERE r.tenant_id = :t AND r.payment_id = ANY(CAST(:ids AS bigint[])) ORDER BY r.id"""
        ),
        {"t": tenant_id, "ids": payment_ids},
    )
    return [_row(r) for r in rows]


async def refund_in_scope(db: Db, tenant_id: int, scope_path: str, refund_id: int, *, lock: bool = False) -> tuple[RefundRow, str] | None:
    """The refund and its payment's unit path, if the payment is in the caller's scope."""
    row = (
        await db.execute(
            text(
                f"""SELECT {REFUND_COLUMNS}, p.unit_path FROM refund r
                      JOIN payment p ON p.tenant_id = r.tenant_id AND p.id = r.payment_id
                     WHERE r.tenant_id = :t AND r.id = :id AND p.unit_path ^@ :scope
                     {'FOR UPDATE OF r' if lock else ''}"""
            ),
            {"t": tenant_id, "id": refund_id, "scope": scope_path},
        )
    ).first()
    return (_row(row[:-1]), row.unit_path) if row else None


_OPEN = (RefundStatus.REQUESTED, RefundStatus.APPROVED, RefundStatus.COMPLETED)
_DECIDED = (RefundStatus.APPROVED, RefundStatus.COMPLETED)


async def _overpaid_left(db: Db, tenant_id: int, payment_id: int, counted: tuple[RefundStatus, ...] = _OPEN) -> Decimal:
    """The subsidy part still unrefunded: paid as due, minus what is due now, minus the
    SUBSIDY_OVERPAID refunds in the `counted` statuses."""
    return await db.scalar(
        text(
            """
            SELECT p.due_at_payment - e.amount_due - coalesce((
                       SELECT sum(r.amount) FROM refund r
                        WHERE r.tenant_id = p.tenant_id AND r.payment_id = p.id AND r.reason = 'SUBSIDY_OVERPAID'
                          AND r.status = ANY(CAST(:counted AS text[]))), 0)
              FROM payment p
              JOIN enrollment e ON e.tenant_id = p.tenant_id AND e.person_id = p.person_id AND e.year = p.year
             WHERE p.tenant_id = :t AND p.id = :id
            """
        ),
        {"t": tenant_id, "id": payment_id, "counted": [str(s) for s in counted]},
    )


async def _taken_back(db: Db, tenant_id: int, payment_id: int) -> Decimal:
    """Money of this payment already given back or decided to be (APPROVED, COMPLETED)."""
    return await db.scalar(
        text(
            """SELECT coalesce(sum(amount), 0) FROM refund
                WHERE tenant_id = :t AND payment_id = :p AND status IN ('APPROVED', 'COMPLETED')"""
        ),
        {"t": tenant_id, "p": payment_id},
    )


async def _amount(db: Db, tenant_id: int, payment: PaymentRow, reason: str) -> Decimal:
    if reason == RefundReason.SUBSIDY_OVERPAID:
        left = await _overpaid_left(db, tenant_id, payment.id)
        if left <= 0:
            raise Rejected([Problem(ErrorCode.NOTHING_TO_REFUND, ["reason"])])
        return left
    return payment.amount - await _taken_back(db, tenant_id, payment.id)


async def request_refund(
    db: Db, tenant_id: int, payment: PaymentRow, policy: YearPolicy, request: RefundRequest, actor: str, today: date
) -> RefundRow:
    problems = check_reason(PaymentStatus(payment.status), request, policy, today)
    if problems:
        raise Rejected(problems)
    amount = await _amount(db, tenant_id, payment, request.reason)
    try:
        async with db.savepoint():
            row = (
                await db.execute(
                    text(
                        f"""
                        INSERT INTO refund AS r (tenant_id, payment_id, reason, amount, status, event_date, note, requested_by)
                        VALUES (:t, :p, :reason, :amount, 'REQUESTED', :event, :note, :by)
                        RETURNING {REFUND_COLUMNS}
                        """
                    ),
                    {"t": tenant_id, "p": payment.id, "reason": request.reason, "amount": amount,
                     "event": request.event_date, "note": request.note, "by": actor},
                )
            ).one()
    except IntegrityError as error:
        if "refund_one_whole" not in str(error.orig):
            raise
        raise Rejected([Problem(ErrorCode.REFUND_EXISTS, ["payment"])]) from None
    return _row(row)


async def _payment_for(db: Db, tenant_id: int, payment_id: int):  # noqa: ANN202
    return (
        await db.execute(
            text("SELECT id, person_id, year, amount, status FROM payment WHERE tenant_id = :t AND id = :id FOR UPDATE"),
            {"t": tenant_id, "id": payment_id},
        )
    ).one()


async def _mark_payment_refunded(db: Db, tenant_id: int, payment_id: int) -> None:
    await db.execute(
        text("UPDATE payment SET status = 'REFUNDED' WHERE tenant_id = :t AND id = :id"), {"t": tenant_id, "id": payment_id}
    )


async def _check_subsidy_part(db: Db, tenant_id: int, payment_id: int, refund: RefundRow) -> None:
    """A SUBSIDY_OVERPAID refund is approved only while its subsidy still stands: a list
    may have dropped the person since it was opened (特困 removed → 320 due again)."""
    left = await _overpaid_left(db, tenant_id, payment_id, _DECIDED)
    if refund.amount > left:
        raise Rejected(
            [Problem(ErrorCode.SUBSIDY_CHANGED, ["refund"], {"max": max(left, Decimal('0.00'))})]
        )


async def _apply_approval(db: Db, tenant_id: int, refund: RefundRow) -> None:
    payment = await _payment_for(db, tenant_id, refund.payment_id)
    taken = await _taken_back(db, tenant_id, payment.id) + refund.amount
    if taken > payment.amount:
        raise Rejected([Problem(ErrorCode.REFUND_EXCEEDS_PAYMENT, ["refund"])])
    if refund.reason == RefundReason.SUBSIDY_OVERPAID:
        await _check_subsidy_part(db, tenant_id, payment.id, refund)
        await take_back(db, tenant_id, payment.year, [(payment.person_id, refund.amount)], whole=False)
        if taken == payment.amount:
            # Every yuan went back (a full subsidy): the payment no longer holds the
            # person-year, and reconciliation counts it as refunded.
            await _mark_payment_refunded(db, tenant_id, payment.id)
        return
    await _mark_payment_refunded(db, tenant_id, payment.id)
    if refund.reason in WHOLE_PAYMENT and payment.status == PaymentStatus.ACCEPTED:
        await take_back(db, tenant_id, payment.year, [(payment.person_id, refund.amount)], whole=True)


async def decide_refund(
    db: Db, tenant_id: int, refund: RefundRow, approve: bool, note: str | None, actor: str, now: datetime
) -> RefundRow:
    """The tax bureau or 医保局 decides a REQUESTED refund (the caller has locked it)."""
    if refund.status != RefundStatus.REQUESTED:
        raise Rejected([Problem(ErrorCode.ALREADY_DECIDED, ["refund"], {"status": RefundStatus(refund.status)})])
    if approve:
        await _apply_approval(db, tenant_id, refund)
    return await _set_status(
        db, tenant_id, refund.id, RefundStatus.APPROVED if approve else RefundStatus.REJECTED,
        "decided_by = :by, decided_at = :now, decision_note = :note", {"by": actor, "note": note, "now": now},
    )


@dataclass(frozen=True)
class PaybackRoute:
    """How an approved refund's money goes back, and whose cash book it leaves."""

    payback: RefundPayback
    collector_id: int | None  # CASH_AGENT: the collector holding (or who held) the cash


async def payback_route(db: Db, tenant_id: int, refund: RefundRow) -> PaybackRoute:
    """Locks the payment: a declaration of the collector's cash (which locks its cash
    payments) and this completion then happen one after the other, never across."""
    row = (
        await db.execute(
            text(
                """SELECT channel, remittance_id IS NOT NULL AS declared, collector_id FROM payment
                    WHERE tenant_id = :t AND id = :id FOR UPDATE"""
            ),
            {"t": tenant_id, "id": refund.payment_id},
        )
    ).one()
    return PaybackRoute(payback_for(PaymentChannel(row.channel), row.declared), row.collector_id)


async def complete_refund(
    db: Db, tenant_id: int, refund: RefundRow, route: PaybackRoute, reference: str | None, actor: str, now: datetime
) -> RefundRow:
    """The money went back by `route` (the caller has locked the refund, and the
    payment with `payback_route`)."""
    if refund.status != RefundStatus.APPROVED:
        raise Rejected([Problem(ErrorCode.NOT_APPROVED, ["refund"], {"status": RefundStatus(refund.status)})])
    return await _set_status(
        db, tenant_id, refund.id, RefundStatus.COMPLETED,
        "completed_by = :by, completed_at = :now, completion_ref = :ref, payback = :payback",
        {"by": actor, "ref": reference, "now": now, "payback": route.payback},
    )


async def _set_status(db: Db, tenant_id: int, refund_id: int, status: str, extra: str, params: dict) -> RefundRow:
    row = (
        await db.execute(
            text(
                f"""UPDATE refund AS r SET status = :status, {extra}
                     WHERE r.tenant_id = :t AND r.id = :id RETURNING {REFUND_COLUMNS}"""
            ),
            {"t": tenant_id, "id": refund_id, "status": status, **params},
        )
    ).one()
    return _row(row)


@dataclass(frozen=True)
class RefundQuery:
    tenant_id: int
    path: str
    status: str | None = None
    reason: str | None = None
    year: int | None = None


async def list_refunds(db: Db, query: RefundQuery, first: int, before_id: int | None) -> Page[RefundRow]:
    clauses = ["r.tenant_id = :t", "p.unit_path ^@ :path"]
    params: dict = {"t": query.tenant_id, "path": query.path}
    for column, value in (("r.status", query.status), ("r.reason", query.reason), ("p.year", query.year)):
        if value is not None:
            key = column.split(".")[1]
            clauses.append(f"{column} = :{key}")
            params[key] = value
    where = " AND ".join(clauses)
    source = "refund r JOIN payment p ON p.tenant_id = r.tenant_id AND p.id = r.payment_id"
    return await newest_first(
        db, columns=REFUND_COLUMNS, source=source, where=where, params=params, id_column="r.id",
        first=first, before_id=before_id, row=_row,
    )
