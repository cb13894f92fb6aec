"""The timing and benefit rules of domain/payments/rules.py in SQL, for the set-wise paths
(payment files).

Each function returns an SQL expression over column expressions the caller names, with
the year policy passed as bind parameters (`policy_params`). The rules are the ones of
rules.py and nothing else: tests/test_benefit_sql.py runs a table of cases through
both and compares them. Change one, change the other.

Timing is returned as the `Timing` value, or as the code of the refusal
(`WINDOW_NOT_OPEN`, `EXTENSION_PROOF_REQUIRED`, `WINDOW_CLOSED`) that `classify` raises.
`channel_closed` is `rules.channel_open` negated (tests/test_channel_rules_sql.py).
"""
from __future__ import annotations

from datetime import date

from domain.payments.rules import (
    FIXED_WAIT_MONTHS,
    LONG_BREAK_MIN_WAIT,
    LONG_BREAK_YEARS,
    LONG_TERM_RULES_FROM,
    OUTSIDE_CENTRAL_PERIOD,
    ChannelRule,
    Timing,
    grace_end,
)
from domain.policy.rules import NewbornLateRule, YearPolicy, late_amount

TIMINGS = tuple(Timing)


REFUSALS = ("WINDOW_NOT_OPEN", "EXTENSION_PROOF_REQUIRED", "WINDOW_CLOSED")


def policy_params(policy: YearPolicy) -> dict:
    """The bind parameters every expression below reads (all prefixed `p_`)."""
    return {
        "p_year": policy.year,
        "p_window_start": policy.window_start,
        "p_window_end": policy.window_end,
        "p_extension_end": policy.extension_end,
        "p_needs_proof": policy.extension_needs_proof,
        "p_newborn_days": policy.newborn_days,
        "p_newborn_months": policy.newborn_months,
        "p_late_newborns": policy.newborn_late_rule is not NewbornLateRule.GENERAL,
        "p_late_newborn_from_registration": policy.newborn_late_rule is NewbornLateRule.REGISTRATION_DAY,
        "p_grace_end": grace_end(policy),
        "p_last_day": date(policy.year, 12, 31),
        "p_first_day": date(policy.year, 1, 1),
        "p_late_amount": late_amount(policy),
        "p_late_wait_days": policy.late_wait_days,
        "p_standard": policy.standard,
        **channel_rule_params(policy.channel_rules),
    }


def channel_rule_params(rules: tuple[ChannelRule, ...]) -> dict:
    """The channel rules as parallel arrays, one element per (rule, channel, recorder
    kind), the kind NULL for a rule open to every kind; and the channels rules name."""
    flat = [
        (channel.value, kind.value if kind else None, rule.open_from, rule.open_until)
        for rule in rules
        for channel in rule.channels
        for kind in (rule.recorded_by or (None,))
    ]
    return {
        "p_ruled_channels": sorted({channel.value for rule in rules for channel in rule.channels}),
        "p_rule_channel": [f[0] for f in flat],
        "p_rule_recorder": [f[1] for f in flat],
        "p_rule_from": [f[2] for f in flat],
        "p_rule_until": [f[3] for f in flat],
    }


def channel_closed(channel: str, recorder: str, paid_on: str) -> str:
    """`NOT rules.channel_open(...)`: true when a rule names the channel and none opens
    it to the recorder on that day. Rows of channels no rule names never reach the
    look-up (a policy without rules costs one comparison with an empty array)."""
    return f"""({channel} = ANY(CAST(:p_ruled_channels AS text[])) AND NOT EXISTS (
        SELECT 1 FROM unnest(CAST(:p_rule_channel AS text[]), CAST(:p_rule_recorder AS text[]),
                             CAST(:p_rule_from AS date[]), CAST(:p_rule_until AS date[]))
                      AS r(channel, recorder, open_from, open_until)
         WHERE r.channel = {channel} AND (r.recorder IS NULL OR r.recorder = {recorder})
           AND (r.open_from IS NULL OR r.open_from <= {paid_on}) AND (r.open_until IS NULL OR {paid_on} <= r.open_until)))"""


def newborn_period_end(birth_date: str) -> str:
    """`rules.newborn_period_end`. Adding months to a date clamps to the month's end in
    PostgreSQL as in `rules.add_months` (31 January + 3 months = 30 April)."""
    return f"""(CASE
        WHEN CAST(:p_newborn_months AS int) IS NOT NULL
        THEN CAST({birth_date} + make_interval(months => CAST(:p_newborn_months AS int)) AS date)
        ELSE {birth_date} + CAST(:p_newborn_days AS int)
    END)"""


def timing(paid_on: str, birth_date: str, has_proof: str, subsidized: str) -> str:
    """`rules.classify`: the timing, or the refusal code. `subsidized`: the person's
    enrolment has a subsidy category."""
    period_end = newborn_period_end(birth_date)
    return f"""(CASE
        WHEN {paid_on} BETWEEN CAST(:p_window_start AS date) AND CAST(:p_window_end AS date) THEN '{Timing.WINDOW}'
        WHEN {birth_date} >= CAST(:p_window_start AS date)
             AND {paid_on} BETWEEN {birth_date} AND {period_end}
             AND {paid_on} <= CAST(:p_last_day AS date) THEN '{Timing.NEWBORN}'
        WHEN CAST(:p_late_newborns AS boolean) AND {birth_date} >= CAST(:p_window_start AS date)
             AND {paid_on} > {period_end} AND {paid_on} <= CAST(:p_last_day AS date) THEN '{Timing.NEWBORN_LATE}'
        WHEN {paid_on} < CAST(:p_window_start AS date) THEN 'WINDOW_NOT_OPEN'
        WHEN {subsidized} AND {paid_on} <= CAST(:p_grace_end AS date) THEN '{Timing.GRACE}'
        WHEN CAST(:p_extension_end AS date) IS NOT NULL AND {paid_on} <= CAST(:p_extension_end AS date) THEN
             CASE WHEN CAST(:p_needs_proof AS boolean) AND NOT {has_proof} THEN 'EXTENSION_PROOF_REQUIRED'
                  ELSE '{Timing.EXTENSION}' END
        WHEN CAST(:p_late_amount AS numeric) IS NOT NULL AND {paid_on} <= CAST(:p_last_day AS date) THEN '{Timing.LATE}'
        ELSE 'WINDOW_CLOSED'
    END)"""


def break_years(year: str, enrolled: str) -> str:
    """`rules.break_years` as an aggregate over a person's earlier years: rows of
    (`year`, `enrolled`) before the benefit year, any number per year (a year counts as
    enrolled when any row says so). NULL when there are no rows: coalesce it to 0."""
    return f"""(CASE
        WHEN bool_or({enrolled}) THEN greatest(0, CAST(:p_year AS int) - (max({year}) FILTER (WHERE {enrolled}) + 1))
        ELSE greatest(0, CAST(:p_year AS int) - min({year}))
    END)"""


def waiting_months(timing_: str, breaks: str, back_years: str = "0") -> str:
    """`rules.waiting_months` for the policy's year."""
    months = f"({FIXED_WAIT_MONTHS} + greatest(0, {breaks} - 1 - {back_years}))"
    outside = ", ".join(f"'{t}'" for t in OUTSIDE_CENTRAL_PERIOD)
    return f"""(CASE
        WHEN CAST(:p_year AS int) < {LONG_TERM_RULES_FROM} OR {timing_} = '{Timing.NEWBORN}' THEN 0
        WHEN {breaks} = 0 AND {timing_} NOT IN ({outside}) THEN 0
        WHEN {breaks} >= {LONG_BREAK_YEARS} THEN greatest({months}, {LONG_BREAK_MIN_WAIT})
        ELSE {months}
    END)"""


def benefit_start(
    timing_: str, paid_on: str, birth_date: str, registered_on: str, breaks: str, back_years: str = "0"
) -> str:
    """`rules.benefit_start(...).day`; `registered_on`: the person's registration day (a
    late newborn's under REGISTRATION_DAY). Adding months to a date clamps to the month's
    end in PostgreSQL as in `rules.add_months` (31 January + 1 month = 28 February)."""
    base = f"""(CASE
        WHEN {timing_} IN ('{Timing.WINDOW}', '{Timing.GRACE}') THEN CAST(:p_first_day AS date)
        WHEN {timing_} = '{Timing.LATE}' AND CAST(:p_year AS int) < {LONG_TERM_RULES_FROM}
             THEN {paid_on} + CAST(:p_late_wait_days AS int)
        WHEN {timing_} = '{Timing.NEWBORN_LATE}' AND CAST(:p_late_newborn_from_registration AS boolean)
             THEN {registered_on}
        ELSE {paid_on} + 1
    END)"""
    months = waiting_months(timing_, breaks, back_years)
    return f"""(CASE
        WHEN {timing_} = '{Timing.NEWBORN}' THEN greatest({birth_date}, CAST(:p_first_day AS date))
        ELSE CAST(greatest({base}, CAST(:p_first_day AS date)) + make_interval(months => {months}) AS date)
    END)"""


def expected_amount(timing_: str, amount_due: str, back_years: str = "0") -> str:
    """`rules.expected_amount`: the amount due (late: standard + fiscal subsidy),
    plus each back year at the standard."""
    return f"""(CASE WHEN {timing_} = '{Timing.LATE}' THEN CAST(:p_late_amount AS numeric) ELSE {amount_due} END
               + CAST(:p_standard AS numeric) * {back_years})"""
