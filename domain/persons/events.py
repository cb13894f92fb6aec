"""Life events of a person (死亡, 参加职工医保, 迁出统筹区, 应征入伍) and what follows
from them, no I/O.

应保尽保 counts the living residents who must enrol in the resident scheme. A person who
died, joined employee insurance, moved out of the pooling region or enlisted (the army
covers its soldiers' medical care) before a year's collection window closed is not one
of them for that year: the year is EXCUSED (off the unpaid lists, out of the persons who
must enrol) instead of UNPAID, and money already paid for it may be refunded for the
matching reason of the seven (domain/refunds/rules.py). A fully subsidised year stays as
its subsidy enrolled it: the department's next list version removes the person.
"""
from __future__ import annotations

from datetime import date
from enum import StrEnum

from domain.refunds.rules import RefundReason
from tenants.problems import ErrorCode, Problem


class PersonEventKind(StrEnum):
    DECEASED = "DECEASED"
    JOINED_EMPLOYEE_INSURANCE = "JOINED_EMPLOYEE_INSURANCE"
    MOVED_OUT_OF_REGION = "MOVED_OUT_OF_REGION"
    ENLISTED = "ENLISTED"


# The refund reason (八公山's seven) that gives back a year paid before the event:
# 3 died, 2 joined employee insurance, 5 the insured place changed (跨统筹区) — an
# enlisted soldier leaves the resident scheme for the army's cover, the same change of
# insured place.
REFUND_REASON: dict[PersonEventKind, RefundReason] = {
    PersonEventKind.DECEASED: RefundReason.DECEASED,
    PersonEventKind.JOINED_EMPLOYEE_INSURANCE: RefundReason.JOINED_EMPLOYEE_INSURANCE,
    PersonEventKind.MOVED_OUT_OF_REGION: RefundReason.MOVED_REGION,
    PersonEventKind.ENLISTED: RefundReason.MOVED_REGION,
}


def affects_year(event_date: date, window_end: date) -> bool:
    """An event counts for a benefit year when it happened before that year's window
    closed (on its last day included)."""
    return event_date <= window_end


def check_event_date(on: date, today: date, birth: date) -> list[Problem]:
    """A life event happened: not after today (Beijing), not before the birth."""
    if on > today:
        return [Problem(ErrorCode.EVENT_IN_FUTURE, ["date"])]
    if on < birth:
        return [Problem(ErrorCode.EVENT_BEFORE_BIRTH, ["date"])]
    return []
