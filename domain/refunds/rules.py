""""""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.payments.store import PaymentRow
from domain.policy.rules import YearPolicy
from tenants.problems import Problem

DUPLICATE_PAYMENT = "DUPLICATE_PAYMENT"


SUBSIDY_OVERPAID = "SUBSIDY_OVERPAID"


# Refund the whole payment; these four must have happened before the window closed.
BEFORE_WINDOW_CLOSED = frozenset({"JOINED_EMPLOYEE_INSURANCE", "DECEASED", "DUPLICATE_ENROLLMENT", "GAVE_UP"})


WHOLE_PAYMENT = BEFORE_WINDOW_CLOSED | {"MOVED_REGION"}


@dataclass(frozen=True)
class RefundRequest:
    reason: str
    note: str | None = None
    event_date: date | None = None


def check_reason(payment: PaymentRow, request: RefundRequest, policy: YearPolicy, today: date) -> list[Problem]:
    """The rules of a reason against the payment, the policy and the day (pure)."""
    reason = request.reason
    problems: list[Problem] = []
    if reason == DUPLICATE_PAYMENT and payment.status != "DUPLICATE":
        problems.append(Problem("NOT_A_DUPLICATE", "DUPLICATE_PAYMENT refunds only a payment stored as DUPLICATE", ["reason"]))
    elif reason != DUPLICATE_PAYMENT and payment.status == "DUPLICATE":
        problems.append(Problem("USE_DUPLICATE_PAYMENT", "a duplicate payment is refunded with reason DUPLICATE_PAYMENT", ["reason"]))
    if payment.status == "REFUNDED":
        problems.append(Problem("ALREADY_REFUNDED", "this payment has been refunded", ["payment"]))
    if reason in BEFORE_WINDOW_CLOSED:
        if request.event_date is None:
            problems.append(Problem("EVENT_DATE_REQUIRED", f"{reason} needs the date it happened (eventDate)", ["eventDate"]))
        elif request.event_date > policy.window_end:
            problems.append(
                Problem(
                    "EVENT_AFTER_WINDOW",
                    f"{reason} is refunded only when it happened before the window closed ({policy.window_end})",
                    ["eventDate"],
                )
            )
    if request.event_date is not None and request.event_date > today:
        problems.append(Problem("EVENT_IN_FUTURE", "eventDate is in the future", ["eventDate"]))
    deadline = policy.refund_claim_deadline
    if deadline is not None and today > deadline:
        problems.append(Problem("CLAIM_DEADLINE_PASSED", f"refunds for {policy.year} could be claimed until {deadline}", ["payment"]))
    return problems
