"""Payments (缴费) in the database: recording one, safe under concurrency, and reading them.

The person-year's enrolment row is locked first (`FOR UPDATE`), so of two collectors
paying for one person at once, one waits for the other: the first payment is
ACCEPTED, the second is stored as DUPLICATE with a DUPLICATE_PAYMENT refund opened
for it. Money that arrived is never refused for being a duplicate: it is recorded and
given back. A partial unique index (one ACCEPTED payment per person-year) backs the
lock up in the database itself. Lists are pages in the caller's scope, newest first.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import text

from domain.enrollment.rules import EnrollmentStatus
from domain.enrollment.sql import ENROLLED_SQL
from domain.enrollment.store import mark_paid
from domain.payments import rules as payments_rules
from domain.payments.rules import (
    NewPayment,
    PaymentChannel,
    PaymentStatus,
    RecorderKind,
    Timing,
    TimingRefused,
    channel_refusal,
    check_new_payment,
    shanghai_day,
)
from domain.persons.store import PersonRow
from domain.policy.rules import YearPolicy
from tenants.pages import Page, newest_first
from tenants.problems import ErrorCode, Problem, Rejected
from tenants.session import Db


@dataclass(frozen=True)
class PaymentQuery:
    tenant_id: int
    path: str  # the caller's scope, or a unit's subtree inside it
    year: int | None = None
    channel: str | None = None
    status: str | None = None
    person_id: int | None = None


def _where(query: PaymentQuery) -> tuple[str, dict]:
    clauses = ["tenant_id = :tenant", "unit_path ^@ :path"]
    params: dict = {"tenant": query.tenant_id, "path": query.path}
    for column in ("year", "channel", "status", "person_id"):
        value = getattr(query, column)
        if value is not None:
            clauses.append(f"{column} = :{column}")
            params[column] = value
    return " AND ".join(clauses), params


async def list_payments(db: Db, query: PaymentQuery, first: int, before_id: int | None) -> Page:
    where, params = _where(query)
    return await newest_first(
        db, columns=PAYMENT_COLUMNS, source="payment", where=where, params=params, id_column="id",
        first=first, before_id=before_id, row=payment_row,
    )


@dataclass(frozen=True)
class Recorder:
    subject: str  # "u:12"
    user_id: int | None  # the collector who holds cash for CASH_AGENT payments
    kind: RecorderKind  # what the policy's channel rules see


@dataclass(frozen=True)
class PaymentRow:
    id: int
    person_id: int
    year: int
    amount: Decimal
    channel: str
    status: str
    timing: str
    paid_at: datetime
    benefit_start: date | None
    receipt_no: str | None
    external_id: str | None
    unit_id: int
    unit_path: str
    collector_id: int | None
    remittance_id: int | None
    recorded_by: str
    recorded_at: datetime


PAYMENT_COLUMNS = (
    "id, person_id, year, amount, channel, status, timing, paid_at, benefit_start, receipt_no, external_id, "
    "unit_id, unit_path, collector_id, remittance_id, recorded_by, recorded_at"
)


# The statements of every payment, made once (a `text()` parses its parameters each
# time it is made).
# The person's earlier years — imported history (医保局) and the years this system
# collected, enrolled if either source says so — read with the enrolment's lock: one
# round trip. (Earlier years are not what a concurrent payment changes.)
_LOCK_ENROLLMENT = text(
    f"""
    SELECT e.status, e.amount_due, e.subsidy_category,
           (SELECT jsonb_object_agg(h.year, h.enrolled) FROM (
                SELECT year, bool_or(enrolled) AS enrolled FROM (
                    SELECT year, enrolled FROM enrollment_history
                     WHERE tenant_id = :t AND id_number = :n AND year < :y
                    UNION ALL
                    SELECT year, status IN {ENROLLED_SQL} FROM enrollment
                     WHERE tenant_id = :t AND person_id = :p AND year < :y
                ) earlier GROUP BY year) h) AS history
      FROM enrollment e
     WHERE e.tenant_id = :t AND e.person_id = :p AND e.year = :y
       FOR UPDATE OF e
    """
)
_ACCEPTED = text("SELECT 1 FROM payment WHERE tenant_id = :t AND person_id = :p AND year = :y AND status = 'ACCEPTED'")
_INSERT = text(
    f"""
    INSERT INTO payment (tenant_id, person_id, year, amount, due_at_payment, channel, status, timing,
                         paid_at, benefit_start, back_years, receipt_no, external_id, extension_proof,
                         unit_id, unit_path, collector_id, recorded_by)
    VALUES (:t, :person, :year, :amount, :due, :channel, :status, :timing, :paid_at, :start, :back,
            :receipt, :external, :proof, :unit, :path, :collector, :by)
    ON CONFLICT DO NOTHING
    RETURNING {PAYMENT_COLUMNS}
    """
)


def payment_row(r) -> PaymentRow:  # noqa: ANN001
    return PaymentRow(*(getattr(r, name.strip()) for name in PAYMENT_COLUMNS.split(",")))


@dataclass(frozen=True)
class Recorded:
    payment: PaymentRow
    refund_id: int | None = None  # the DUPLICATE_PAYMENT refund opened for a duplicate
    replayed: bool = False  # the same externalId again: the payment recorded before
    person: PersonRow | None = None  # as locked for the payment (None for a replay)


async def payment_by_external_id(db: Db, tenant_id: int, channel: str, external_id: str) -> PaymentRow | None:
    row = (
        await db.execute(
            text(f"SELECT {PAYMENT_COLUMNS} FROM payment WHERE tenant_id = :t AND channel = :c AND external_id = :x"),
            {"t": tenant_id, "c": channel, "x": external_id},
        )
    ).first()
    return payment_row(row) if row else None


async def payments_by_ids(db: Db, tenant_id: int, scope_path: str, ids: list[int]) -> dict[int, PaymentRow]:
    rows = await db.execute(
        text(
            f"""SELECT {PAYMENT_COLUMNS} FROM payment
                 WHERE tenant_id = :t AND id = ANY(CAST(:ids AS bigint[])) AND unit_path ^@ :scope"""
        ),
        {"t": tenant_id, "ids": ids, "scope": scope_path},
    )
    return {r.id: payment_row(r) for r in rows}


async def _lock_enrollment(db: Db, tenant_id: int, person: PersonRow, year: int):  # noqa: ANN202
    return (
        await db.execute(
            _LOCK_ENROLLMENT, {"t": tenant_id, "p": person.id, "n": person.id_number, "y": year},
        )
    ).first()


def _earlier_years(enrollment) -> dict[int, bool]:  # noqa: ANN001
    return {int(year): enrolled for year, enrolled in (enrollment.history or {}).items()}


async def _accepted_exists(db: Db, tenant_id: int, person_id: int, year: int) -> bool:
    return bool(
        await db.scalar(
            _ACCEPTED, {"t": tenant_id, "p": person_id, "y": year},
        )
    )


def _replay(existing: PaymentRow, person: PersonRow, new: NewPayment) -> Recorded:
    same = (existing.person_id, existing.year, existing.amount) == (person.id, new.year, new.amount)
    if not same:
        raise Rejected(
            [Problem(ErrorCode.EXTERNAL_ID_CONFLICT, ["externalId"], {"externalId": new.external_id})]
        )
    return Recorded(existing, replayed=True)


@dataclass(frozen=True)
class _Accepted:
    timing: Timing
    benefit_start: date
    due: Decimal


async def _judge(db: Db, tenant_id: int, person: PersonRow, policy: YearPolicy, new: NewPayment, enrollment) -> _Accepted:  # noqa: ANN001
    """The rules for a first payment: window, amount, benefit start."""
    if enrollment.status == EnrollmentStatus.EXEMPT:
        raise Rejected([exempt_problem(new.year)])
    amount_due: Decimal = enrollment.amount_due
    paid_on = shanghai_day(new.paid_at)
    subsidized = enrollment.subsidy_category is not None
    try:
        timing = payments_rules.classify(policy, paid_on, person.birth_date, bool(new.extension_proof), subsidized=subsidized)
    except TimingRefused as refused:
        raise Rejected([refused.problem]) from None
    if amount_due == 0 and timing is not Timing.LATE:
        raise Rejected([Problem(ErrorCode.NOTHING_DUE, ["idNumber"])])
    breaks = payments_rules.break_years(new.year, _earlier_years(enrollment))
    if new.back_years > breaks:
        raise Rejected(
            [Problem(ErrorCode.INVALID_BACK_YEARS, ["backYears"], {"backYears": new.back_years, "breaks": breaks})]
        )
    expected = payments_rules.expected_amount(policy, timing, amount_due, new.back_years)
    if new.amount != expected:
        raise Rejected([Problem(ErrorCode.AMOUNT_MISMATCH, ["amount"], {"expected": expected, "amount": new.amount})])
    start = payments_rules.benefit_start(
        policy, timing, paid_on, person.birth_date, breaks, new.back_years, registered_on=person.registered_on
    )
    return _Accepted(timing, start.day, amount_due)


async def _insert(
    db: Db, tenant_id: int, person: PersonRow, new: NewPayment, recorder: Recorder, status: str,
    timing: Timing, benefit_start: date | None, due: Decimal,
) -> PaymentRow:
    params: Mapping[str, object] = {
        "t": tenant_id, "person": person.id, "year": new.year, "amount": new.amount, "due": due,
        "channel": new.channel, "status": status, "timing": timing.value, "paid_at": new.paid_at,
        "start": benefit_start, "back": new.back_years, "receipt": new.receipt_no, "external": new.external_id,
        "proof": new.extension_proof, "unit": person.unit_id, "path": person.unit_path,
        "collector": recorder.user_id if new.channel == PaymentChannel.CASH_AGENT else None, "by": recorder.subject,
    }
    # DO NOTHING instead of catching the error: no savepoint on the hot path. A conflict
    # is a receipt or channel number taken (by this county's earlier or concurrent payment).
    row = (
        await db.execute(
            _INSERT, params,
        )
    ).first()
    if row is None:
        raise Rejected([await _conflict(db, tenant_id, new)])
    return payment_row(row)


async def _conflict(db: Db, tenant_id: int, new: NewPayment) -> Problem:
    """Which unique key a refused insert hit."""
    if new.receipt_no and await db.scalar(
        text("SELECT 1 FROM payment WHERE tenant_id = :t AND receipt_no = :r"), {"t": tenant_id, "r": new.receipt_no}
    ):
        return Problem(ErrorCode.RECEIPT_NO_USED, ["receiptNo"], {"receiptNo": new.receipt_no})
    if new.external_id and await payment_by_external_id(db, tenant_id, new.channel, new.external_id):
        return Problem(ErrorCode.EXTERNAL_ID_CONFLICT, ["externalId"], {"externalId": new.external_id})
    # One ACCEPTED payment per person-year is guaranteed by the enrolment lock; reaching
    # this index means that lock was bypassed: fail loudly, never silently drop money.
    raise RuntimeError("payment insert conflicted on the one-accepted-payment key")


async def open_duplicate_refund(db: Db, tenant_id: int, payment: PaymentRow) -> int:
    return await db.scalar(
        text(
            """
            INSERT INTO refund (tenant_id, payment_id, reason, amount, status, automatic, requested_by, note)
            VALUES (:t, :p, 'DUPLICATE_PAYMENT', :amount, 'REQUESTED', true, 'system',
                    'opened when the person-year was found already paid')
            RETURNING id
            """
        ),
        {"t": tenant_id, "p": payment.id, "amount": payment.amount},
    )


async def record_payment(
    db: Db, tenant_id: int, person: PersonRow, policy: YearPolicy, new: NewPayment, recorder: Recorder, now: datetime
) -> Recorded:
    """Record one payment for a person-year (see the module docstring). Raises Rejected.

    `person` as read FOR SHARE in this transaction (`person_by_id_number(…, for_share=
    True)`): locked before the enrolment (tenants/unit_changes.py orders its locks so),
    and as it is now if a merge of their village moved them meanwhile."""
    problems = check_new_payment(new, now)
    if problems:
        raise Rejected(problems)
    enrollment = await _lock_enrollment(db, tenant_id, person, new.year)
    if enrollment is None:
        raise Rejected([Problem(ErrorCode.NO_POLICY, ["year"], {"year": new.year})])
    if new.external_id:
        existing = await payment_by_external_id(db, tenant_id, new.channel, new.external_id)
        if existing is not None:
            return _replay(existing, person, new)
    # Before duplicates: a closed channel is refused even for a person-year already paid
    # (the collector should not have taken the money), as in a channel file.
    closed = channel_refusal(policy, PaymentChannel(new.channel), recorder.kind, shanghai_day(new.paid_at))
    if closed is not None:
        raise Rejected([closed])
    if await _accepted_exists(db, tenant_id, person.id, new.year):
        timing = _timing_for_duplicate(policy, new, person, enrollment.subsidy_category is not None)
        payment = await _insert(db, tenant_id, person, new, recorder, PaymentStatus.DUPLICATE, timing, None, Decimal(0))
        return Recorded(payment, refund_id=await open_duplicate_refund(db, tenant_id, payment), person=person)
    accepted = await _judge(db, tenant_id, person, policy, new, enrollment)
    payment = await _insert(
        db, tenant_id, person, new, recorder, PaymentStatus.ACCEPTED, accepted.timing, accepted.benefit_start, accepted.due
    )
    await mark_paid(db, tenant_id, new.year, [(person.id, new.amount, accepted.benefit_start)])
    return Recorded(payment, person=person)


def exempt_problem(year: int) -> Problem:
    return Problem(ErrorCode.NEWBORN_EXEMPT, ["idNumber"], {"year": year})


def _timing_for_duplicate(policy: YearPolicy, new: NewPayment, person: PersonRow, subsidized: bool) -> Timing:
    # A duplicate is kept whenever it arrived; its timing is only informative.
    try:
        return payments_rules.classify(policy, shanghai_day(new.paid_at), person.birth_date, True, subsidized=subsidized)
    except TimingRefused:
        return Timing.LATE
