"""Cash (现金) in the collectors' hands until it reaches the treasury, and the periods
money is reconciled by; no I/O.

A collector declares what they hold (申报, a remittance); the tax bureau confirms it
(缴费确认单). The 双限 rule (内乡, 灞桥) says when cash must be handed over: within the
policy's `remitDays` (5) or once `remitAmount` (10,000 yuan) is held, whichever comes
first. Cash refunded before it was declared leaves the collector's hands, not the
treasury's (八公山 九、退费办理): it drops out of the cash book and is never declared.

Reconciliation runs by period (灞桥: "按月开展收入核对", "按日…汇总上划"): a period is a
run of whole Beijing calendar days, so the days of a month partition the month and the
months the year, and the figures of the parts add up exactly to the whole.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tenants.problems import ErrorCode, Problem

SHANGHAI = ZoneInfo("Asia/Shanghai")


class RemittanceStatus(StrEnum):
    DECLARED = "DECLARED"  # by the collector or their township
    CONFIRMED = "CONFIRMED"  # by the tax bureau


@dataclass(frozen=True)
class Period:
    """Beijing calendar days `since` .. `until`, both included; None: open on that side."""

    since: date | None = None
    until: date | None = None

    def start(self) -> datetime | None:
        """The first moment of the period (midnight in Beijing), included."""
        return _midnight(self.since) if self.since is not None else None

    def end(self) -> datetime | None:
        """The first moment after the period (midnight after `until`), excluded."""
        return _midnight(self.until + timedelta(days=1)) if self.until is not None else None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), SHANGHAI)


def check_period(period: Period) -> list[Problem]:
    if period.since is not None and period.until is not None and period.since > period.until:
        return [Problem(ErrorCode.INVALID_PERIOD, ["from"], {"since": period.since, "until": period.until})]
    return []
