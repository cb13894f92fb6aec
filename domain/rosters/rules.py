"""Rosters and their findings, no I/O.

A roster is another department's list of people: employee-insurance participants (with
the date they joined), deaths (公安/民政, with the date of death), people insured in
another region (the provincial platform, with the date since). A listed person who is
registered here is a finding, and the finding is the matching life event
(domain/persons/events.py): off the unpaid lists, out of the persons who must enrol for
every year whose window closes after the date, and the refund reason of the seven offered
for a year already paid (2 employee insurance, 3 death, 5 insured place changed).
"""
from __future__ import annotations

from datetime import date
from enum import StrEnum

from domain.persons.events import REFUND_REASON, PersonEventKind, affects_year
from domain.refunds.rules import RefundReason


class RosterKind(StrEnum):
    EMPLOYEE_INSURANCE = "EMPLOYEE_INSURANCE"  # 职工医保参保人员
    DECEASED = "DECEASED"  # 死亡人员（公安、民政）
    RESIDENT_ELSEWHERE = "RESIDENT_ELSEWHERE"  # 在外地参加居民医保（省级平台）


EVENT_OF: dict[RosterKind, PersonEventKind] = {
    RosterKind.EMPLOYEE_INSURANCE: PersonEventKind.JOINED_EMPLOYEE_INSURANCE,
    RosterKind.DECEASED: PersonEventKind.DECEASED,
    RosterKind.RESIDENT_ELSEWHERE: PersonEventKind.MOVED_OUT_OF_REGION,
}


def refund_offered(kind: RosterKind, event_date: date, window_end: date | None, paid: bool) -> RefundReason | None:
    """The refund reason offered for a finding's year: paid, and the event came before
    the year's window closed (no policy for the year: nothing to offer)."""
    if not paid or window_end is None or not affects_year(event_date, window_end):
        return None
    return REFUND_REASON[EVENT_OF[kind]]


ROSTER_ALIASES: dict[str, list[str]] = {
    "id_number": ["证件号码", "身份证号", "身份证号码", "公民身份号码", "证件号", "id number", "idnumber", "id_number"],
    "name": ["姓名", "name"],
    "event_date": [
        "日期", "参保日期", "参加职工医保日期", "职工医保参保日期", "开始日期", "起始日期", "死亡日期", "注销日期",
        "异地参保日期", "date", "start date", "event date", "event_date",
    ],
}
