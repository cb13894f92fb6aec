"""Payments (缴费): their names, what input is acceptable, when a payment counts and from
which day benefits start (DOMAIN.md §4, §5, §9).

Pure rules over a `YearPolicy`: no database, no clock. domain/payments/sql.py is the
set-wise twin of the timing and benefit rules (payment files), proven equal by
tests/test_benefit_sql.py.

- Paid inside the collection window → benefits from 1 January of the benefit year.
- A person with a subsidy category, in the policy's grace months after the window
  (枣庄 "政府资助人员可延长1个月") → as inside the window.
- Paid in the extension (八公山: migrant workers with proof) → from the day after payment.
- Newborns enrolled within the policy's newborn period (内乡 90 days; 八公山 3 calendar
  months: born 01-31 → until 04-30) → from birth.
- Newborns enrolled after it, where the policy has a late newborn rule → from the day
  after payment (八公山) or from the day the newborn was registered (内乡); without one
  they are paid for like anyone else.
- Late, where the policy allows it (枣庄: standard + fiscal subsidy) → after a wait (30 days).
- From benefit year 2025 (国办发〔2024〕38号), outside the central period or after a
  break: a fixed 3-month waiting period, plus 1 month per further year of break; each
  back year paid removes one variable month; a break of 4+ years keeps at least 6.
  Newborns within their period are exempt; late newborns are outside the central period.
- Channels by who records and when (DOMAIN.md §9): a policy's channel rules open the
  channels they name to some kinds of recorder for some days (灞桥: cash only at schools;
  内乡: cash and the other field channels until the concentrated period ends on 11-30).
  A channel no rule names is open to everyone all campaign. `channel_refusal`; its SQL
  twin for payment files is `sql.channel_closed` (tests/test_channel_rules_sql.py).
"""
from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.money import CENT, money
from domain.policy.rules import NewbornLateRule, YearPolicy, late_amount
from tenants.problems import ErrorCode, Problem

LONG_TERM_RULES_FROM = 2025  # first benefit year under 国办发〔2024〕38号
FIXED_WAIT_MONTHS = 3
LONG_BREAK_YEARS = 4
LONG_BREAK_MIN_WAIT = 6


class PaymentChannel(StrEnum):
    WECHAT = "WECHAT"
    ALIPAY = "ALIPAY"
    TAX_APP = "TAX_APP"  # the tax bureau's app, mini-program or e-tax office
    BANK_APP = "BANK_APP"  # mobile and online banking
    BANK_COUNTER = "BANK_COUNTER"
    POS = "POS"
    TAX_HALL = "TAX_HALL"  # 办税服务厅, window or self-service
    CASH_AGENT = "CASH_AGENT"  # cash to a village collector (代收), with a receipt
    SCHOOL = "SCHOOL"
    BANK_WITHHOLDING = "BANK_WITHHOLDING"  # 银行代扣


class PaymentStatus(StrEnum):
    ACCEPTED = "ACCEPTED"  # the person-year's payment
    DUPLICATE = "DUPLICATE"  # the person-year was already paid: kept, and refunded
    REFUNDED = "REFUNDED"  # refunded whole


class Timing(StrEnum):
    WINDOW = "WINDOW"  # the central collection period (集中参保期)
    GRACE = "GRACE"  # a subsidised person's months after the window (枣庄): as in the window
    EXTENSION = "EXTENSION"  # after the window, before the extension ends
    LATE = "LATE"  # after both, where the policy accepts late payers
    NEWBORN = "NEWBORN"  # within the newborn period after birth, any time in the year
    NEWBORN_LATE = "NEWBORN_LATE"  # a newborn after its period, where the policy has a late newborn rule


class TimingRefused(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message_id)
        self.problem = problem


def newborn_period_end(policy: YearPolicy, birth_date: date) -> date:
    """The last day of the newborn period: birth + the days, or the same day of the month
    the months later (the month's last day when it has none: 01-31 + 3 months = 04-30)."""
    if policy.newborn_months is not None:
        return add_months(birth_date, policy.newborn_months)
    return birth_date + timedelta(days=policy.newborn_days or 0)


def grace_end(policy: YearPolicy) -> date | None:
    """The last day a subsidised person pays as in the window (枣庄: window end + 1 month)."""
    if not policy.subsidized_grace_months:
        return None
    return add_months(policy.window_end, policy.subsidized_grace_months)


def _born_for_the_year(policy: YearPolicy, birth_date: date) -> bool:
    # Born during the campaign or in the benefit year: a newborn for this year's rules.
    return birth_date >= policy.window_start


def _is_newborn(policy: YearPolicy, paid_on: date, birth_date: date) -> bool:
    return (
        _born_for_the_year(policy, birth_date)
        and birth_date <= paid_on <= newborn_period_end(policy, birth_date)
        and paid_on <= date(policy.year, 12, 31)
    )


def _is_late_newborn(policy: YearPolicy, paid_on: date, birth_date: date) -> bool:
    return (
        policy.newborn_late_rule is not NewbornLateRule.GENERAL
        and _born_for_the_year(policy, birth_date)
        and newborn_period_end(policy, birth_date) < paid_on <= date(policy.year, 12, 31)
    )


def _in_grace(policy: YearPolicy, paid_on: date, subsidized: bool) -> bool:
    end = grace_end(policy)
    return subsidized and end is not None and paid_on <= end


def classify(policy: YearPolicy, paid_on: date, birth_date: date, has_proof: bool, *, subsidized: bool) -> Timing:
    """Which rule a payment made on `paid_on` (a Shanghai date) falls under; `subsidized`:
    the person's enrolment has a subsidy category. Raises TimingRefused with the
    user-facing problem when it cannot be taken."""
    if policy.window_start <= paid_on <= policy.window_end:
        return Timing.WINDOW
    if _is_newborn(policy, paid_on, birth_date):
        return Timing.NEWBORN
    if _is_late_newborn(policy, paid_on, birth_date):
        return Timing.NEWBORN_LATE
    if paid_on < policy.window_start:
        raise TimingRefused(
            Problem(ErrorCode.WINDOW_NOT_OPEN, ["paidAt"], {"year": policy.year, "windowStart": policy.window_start})
        )
    if _in_grace(policy, paid_on, subsidized):
        return Timing.GRACE
    if policy.extension_end is not None and paid_on <= policy.extension_end:
        if policy.extension_needs_proof and not has_proof:
            raise TimingRefused(
                Problem(ErrorCode.EXTENSION_PROOF_REQUIRED, ["extensionProof"], {"windowEnd": policy.window_end})
            )
        return Timing.EXTENSION
    if late_amount(policy) is not None and paid_on <= date(policy.year, 12, 31):
        return Timing.LATE
    raise TimingRefused(
        Problem(ErrorCode.WINDOW_CLOSED, ["paidAt"], {"year": policy.year, "lastPaymentDay": policy.last_payment_day})
    )


def expected_amount(policy: YearPolicy, timing: Timing, amount_due: Decimal, back_years: int = 0) -> Decimal:
    """What the person must pay: the amount due (late: standard + fiscal subsidy), plus
    each back year (补缴) at the current personal rate."""
    base = late_amount(policy) if timing is Timing.LATE else amount_due
    assert base is not None  # classify() refuses LATE when the policy has no late amount
    return money(base + policy.standard * back_years)


def break_years(year: int, history: Mapping[int, bool]) -> int:
    """Years without enrolment right before `year` (断保年数), from what is known.

    `history` maps earlier years to enrolled or not. Counted from the last enrolled year;
    with no enrolled year, from the first year known not enrolled; with nothing known, 0
    (a person the county has no record of is not presumed to have broken off).
    """
    known = [y for y in history if y < year]
    if not known:
        return 0
    enrolled = [y for y in known if history[y]]
    start = max(enrolled) + 1 if enrolled else min(known)
    return max(0, year - start)


# Timings outside the central period: a waiting period even without a break. (GRACE is
# the window prolonged for subsidised persons; a newborn after its period is late.)
OUTSIDE_CENTRAL_PERIOD = (Timing.EXTENSION, Timing.LATE, Timing.NEWBORN_LATE)


def waiting_months(year: int, timing: Timing, breaks: int, back_years: int = 0) -> int:
    """The waiting period in months (0 before benefit year 2025, and for newborns)."""
    if year < LONG_TERM_RULES_FROM or timing is Timing.NEWBORN:
        return 0
    outside_central_period = timing in OUTSIDE_CENTRAL_PERIOD
    if breaks == 0 and not outside_central_period:
        return 0
    months = FIXED_WAIT_MONTHS + max(0, breaks - 1 - back_years)
    if breaks >= LONG_BREAK_YEARS:
        months = max(months, LONG_BREAK_MIN_WAIT)
    return months


def add_months(day: date, months: int) -> date:
    """Same day of the month `months` later; the 31st becomes the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class BenefitStart:
    day: date
    waiting_months: int


def benefit_start(
    policy: YearPolicy, timing: Timing, paid_on: date, birth_date: date, breaks: int = 0, back_years: int = 0,
    registered_on: date | None = None,
) -> BenefitStart:
    """The first day of benefits for a payment (see the module docstring).
    `registered_on`: the person's registration day, needed for a late newborn under
    the REGISTRATION_DAY rule."""
    first_day = date(policy.year, 1, 1)
    if timing is Timing.NEWBORN:
        return BenefitStart(max(birth_date, first_day), 0)
    months = waiting_months(policy.year, timing, breaks, back_years)
    if timing in (Timing.WINDOW, Timing.GRACE):
        base = first_day
    elif timing is Timing.LATE and policy.year < LONG_TERM_RULES_FROM:
        base = paid_on + timedelta(days=policy.late_wait_days)
    elif timing is Timing.NEWBORN_LATE and policy.newborn_late_rule is NewbornLateRule.REGISTRATION_DAY:
        if registered_on is None:
            raise ValueError("a late newborn under REGISTRATION_DAY needs the registration day")
        base = registered_on
    else:
        base = paid_on + timedelta(days=1)
    return BenefitStart(add_months(max(base, first_day), months), months)


MAX_AMOUNT = Decimal("100000")


MAX_BACK_YEARS = 10


CLOCK_SKEW = timedelta(minutes=10)  # a POS clock a little ahead is not a future payment


_REFERENCE = re.compile(r"^[0-9A-Za-z_./:#-]{1,64}$")




@dataclass(frozen=True)
class NewPayment:
    year: int
    amount: Decimal
    channel: str
    paid_at: datetime
    receipt_no: str | None = None
    external_id: str | None = None
    extension_proof: str | None = None
    back_years: int = 0


def shanghai_day(moment: datetime) -> date:
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).date()


def check_new_payment(new: NewPayment, now: datetime) -> list[Problem]:
    """What is wrong with the input itself, before any row is read."""
    problems: list[Problem] = []
    amount = new.amount
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(CENT) or amount > MAX_AMOUNT:
        problems.append(Problem(ErrorCode.INVALID_AMOUNT, ["amount"]))
    if new.paid_at.tzinfo is None:
        problems.append(Problem(ErrorCode.INVALID_PAID_AT, ["paidAt"]))
    elif new.paid_at > now + CLOCK_SKEW:
        problems.append(Problem(ErrorCode.PAID_AT_IN_FUTURE, ["paidAt"]))
    if new.channel == PaymentChannel.CASH_AGENT and not new.receipt_no:
        problems.append(Problem(ErrorCode.RECEIPT_REQUIRED, ["receiptNo"]))
    for field, value in (("receiptNo", new.receipt_no), ("externalId", new.external_id)):
        if value is not None and not _REFERENCE.match(value):
            problems.append(Problem(ErrorCode.INVALID_REFERENCE, [field], {"field": field}))
    if not 0 <= new.back_years <= MAX_BACK_YEARS:
        problems.append(Problem(ErrorCode.INVALID_BACK_YEARS, ["backYears"], {"limit": MAX_BACK_YEARS}, "RANGE"))
    return problems


class RecorderKind(StrEnum):
    """Who records a payment, as a policy's channel rules name it. Derived from the
    recording account (its role and the kind of its unit), never typed in."""

    VILLAGE_COLLECTOR = "VILLAGE_COLLECTOR"  # a collector of a village or community (村/社区代办)
    SCHOOL_COLLECTOR = "SCHOOL_COLLECTOR"  # a collector of a school unit (大中专院校, schools)
    TOWNSHIP_STAFF = "TOWNSHIP_STAFF"  # a township task force (乡镇征缴专班, 街办)
    TAX_BUREAU = "TAX_BUREAU"  # the tax bureau's staff (办税服务厅 window)
    CHANNEL_FILE = "CHANNEL_FILE"  # a row of a channel file the tax bureau imports


@dataclass(frozen=True)
class ChannelRule:
    """Opens `channels` to the recorders of `recorded_by` (empty: every kind) on the
    Beijing days from `open_from` until `open_until`, both inclusive (None: unbounded)."""

    channels: tuple[PaymentChannel, ...]
    recorded_by: tuple[RecorderKind, ...] = ()
    open_from: date | None = None
    open_until: date | None = None

    def admits(self, recorder: RecorderKind) -> bool:
        return not self.recorded_by or recorder in self.recorded_by

    def covers(self, day: date) -> bool:
        return (self.open_from is None or self.open_from <= day) and (self.open_until is None or day <= self.open_until)

    def opens(self, channel: PaymentChannel, recorder: RecorderKind, day: date) -> bool:
        return channel in self.channels and self.admits(recorder) and self.covers(day)


def channel_open(rules: Iterable[ChannelRule], channel: PaymentChannel, recorder: RecorderKind, day: date) -> bool:
    """May `recorder` take a payment by `channel` on `day`? A channel that no rule names
    is open (a policy without rules: every channel); one that rules name is open only
    where one of them opens it."""
    governing = [rule for rule in rules if channel in rule.channels]
    return not governing or any(rule.opens(channel, recorder, day) for rule in governing)


def open_channels(rules: Iterable[ChannelRule], recorder: RecorderKind, day: date) -> list[PaymentChannel]:
    """The channels open to `recorder` on `day`, in the order of `PaymentChannel`."""
    listed = tuple(rules)
    return [channel for channel in PaymentChannel if channel_open(listed, channel, recorder, day)]


def _why_closed(rules: list[ChannelRule], recorder: RecorderKind) -> tuple[str, dict[str, object]]:
    """Which way the rules close a channel to `recorder`: a variant of CHANNEL_CLOSED
    and the values its message names."""
    mine = [rule for rule in rules if rule.admits(recorder)]
    if not mine:
        return "NOT_FOR_RECORDER", {"kinds": [k for k in RecorderKind if any(rule.admits(k) for rule in rules)]}
    untils = [rule.open_until for rule in mine if rule.open_until is not None]
    froms = [rule.open_from for rule in mine if rule.open_from is not None]
    if len(untils) == len(mine) and len(froms) == 0:
        return "UNTIL", {"until": max(untils)}
    if len(froms) == len(mine) and len(untils) == 0:
        return "FROM", {"from": min(froms)}
    spans = [f"{rule.open_from or '…'} – {rule.open_until or '…'}" for rule in mine]
    return "SPANS", {"spans": spans}


def channel_refusal(policy: YearPolicy, channel: PaymentChannel, recorder: RecorderKind, day: date) -> Problem | None:
    """CHANNEL_CLOSED when the policy's channel rules close `channel` to `recorder` on
    `day` (a Beijing date): why, and the channels open to the recorder that day instead."""
    rules = [rule for rule in policy.channel_rules if channel in rule.channels]
    if channel_open(rules, channel, recorder, day):
        return None
    why, params = _why_closed(rules, recorder)
    instead = open_channels(policy.channel_rules, recorder, day)
    variant = why if instead else f"{why}_NONE_OPEN"
    facts = {"year": policy.year, "channel": channel, "recorder": recorder, "day": day, **params, "instead": instead}
    return Problem(ErrorCode.CHANNEL_CLOSED, ["channel"], facts, variant)
