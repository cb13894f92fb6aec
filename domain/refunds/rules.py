"""Refunds (退费): the seven reasons of the 八公山 document and their rules, no I/O.

1. DUPLICATE_PAYMENT — paid more than once, enrolled once (only a DUPLICATE payment);
2. JOINED_EMPLOYEE_INSURANCE, 3. DECEASED, 4. DUPLICATE_ENROLLMENT, 6. GAVE_UP — the
   event happened before the window closed (its date is required);
5. MOVED_REGION — the insured place changed (跨统筹区);
7. SUBSIDY_OVERPAID — a subsidised person paid the full standard: the subsidy part back.

A refund is REQUESTED, then APPROVED or REJECTED; an approved one is COMPLETED when the
money went back: on the payment's own channel through the tax bureau, or — cash still in
the collector's hands, not yet declared — from the collector's cash book (八公山 九、退费办理:
"对已缴入税务账户但尚未入库的，由缴费人向社区申请，社区…将收取的他人现金交给该申请人").
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from domain.payments.rules import PaymentChannel, PaymentStatus
from domain.policy.rules import YearPolicy
from tenants.problems import ErrorCode, Problem


class RefundReason(StrEnum):
    DUPLICATE_PAYMENT = "DUPLICATE_PAYMENT"
    JOINED_EMPLOYEE_INSURANCE = "JOINED_EMPLOYEE_INSURANCE"
    DECEASED = "DECEASED"
    DUPLICATE_ENROLLMENT = "DUPLICATE_ENROLLMENT"
    MOVED_REGION = "MOVED_REGION"
    GAVE_UP = "GAVE_UP"
    SUBSIDY_OVERPAID = "SUBSIDY_OVERPAID"


class RefundStatus(StrEnum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    COMPLETED = "COMPLETED"


class RefundPayback(StrEnum):
    """How a completed refund went back to the payer."""

    CHANNEL = "CHANNEL"  # on the payment's own channel, by the tax bureau (remitted money)
    CASH_BOOK = "CASH_BOOK"  # handed back by the collector from undeclared cash (the cash book drops)


def payback_for(channel: PaymentChannel, declared: bool) -> RefundPayback:
    """Cash a collector still holds undeclared goes back from their hands; everything
    else (online channels, cash declared or confirmed) has reached the tax bureau."""
    if channel == PaymentChannel.CASH_AGENT and not declared:
        return RefundPayback.CASH_BOOK
    return RefundPayback.CHANNEL


# Refund the whole payment; these four must have happened before the window closed.
BEFORE_WINDOW_CLOSED = frozenset({
    RefundReason.JOINED_EMPLOYEE_INSURANCE, RefundReason.DECEASED, RefundReason.DUPLICATE_ENROLLMENT, RefundReason.GAVE_UP,
})
WHOLE_PAYMENT = BEFORE_WINDOW_CLOSED | {RefundReason.MOVED_REGION}


@dataclass(frozen=True)
class RefundRequest:
    reason: RefundReason
    note: str | None = None
    event_date: date | None = None


def check_reason(payment_status: PaymentStatus, request: RefundRequest, policy: YearPolicy, today: date) -> list[Problem]:
    """The rules of a reason against the payment's status, the policy and the day."""
    reason = request.reason
    problems: list[Problem] = []
    duplicate = payment_status == PaymentStatus.DUPLICATE
    if reason == RefundReason.DUPLICATE_PAYMENT and not duplicate:
        problems.append(Problem(ErrorCode.NOT_A_DUPLICATE, ["reason"]))
    elif reason != RefundReason.DUPLICATE_PAYMENT and duplicate:
        problems.append(Problem(ErrorCode.USE_DUPLICATE_PAYMENT, ["reason"]))
    if payment_status == PaymentStatus.REFUNDED:
        problems.append(Problem(ErrorCode.ALREADY_REFUNDED, ["payment"]))
    if reason in BEFORE_WINDOW_CLOSED:
        if request.event_date is None:
            problems.append(Problem(ErrorCode.EVENT_DATE_REQUIRED, ["eventDate"], {"reason": reason}))
        elif request.event_date > policy.window_end:
            problems.append(
                Problem(ErrorCode.EVENT_AFTER_WINDOW, ["eventDate"], {"reason": reason, "windowEnd": policy.window_end})
            )
    if request.event_date is not None and request.event_date > today:
        problems.append(Problem(ErrorCode.EVENT_IN_FUTURE, ["eventDate"]))
    deadline = policy.refund_claim_deadline
    if deadline is not None and today > deadline:
        problems.append(Problem(ErrorCode.CLAIM_DEADLINE_PASSED, ["payment"], {"year": policy.year, "deadline": deadline}))
    return problems
