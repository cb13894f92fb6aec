"""domain/payments/sql.py `channel_closed` against domain/payments/rules.py `channel_open`.

recordPayment asks the Python rule for one payment; importPayments asks its SQL twin for
every row of a file. Both must agree for every channel, kind of recorder and day, on the
seed counties' rules, a hand-made set of seasons, and generated rule sets.
"""
from __future__ import annotations

import random
from datetime import date, timedelta
from itertools import product

import pytest
from sqlalchemy import text

from domain.payments import sql as payments_sql
from domain.payments.rules import ChannelRule, PaymentChannel, RecorderKind, channel_open
from tests.test_channel_rules import BAQIAO, NEIXIANG_2023, NEIXIANG_2027, SEASONS

C = PaymentChannel
K = RecorderKind

_QUERY = f"""
SELECT c.id, {payments_sql.channel_closed("c.channel", "c.recorder", "c.day")} AS closed
  FROM unnest(CAST(:ids AS int[]), CAST(:channels AS text[]), CAST(:recorders AS text[]), CAST(:days AS date[]))
       AS c(id, channel, recorder, day)
 ORDER BY c.id
"""


def days_around(rules: tuple[ChannelRule, ...]) -> list[date]:
    """Every bound, the days either side, and a few days of an ordinary campaign."""
    days = {date(2021, 9, 1), date(2021, 11, 5), date(2021, 12, 31), date(2022, 11, 30), date(2022, 12, 1)}
    for rule in rules:
        for bound in (rule.open_from, rule.open_until):
            if bound is not None:
                days |= {bound - timedelta(days=1), bound, bound + timedelta(days=1)}
    return sorted(days)


def cases(rules: tuple[ChannelRule, ...]) -> list[tuple[PaymentChannel, RecorderKind, date]]:
    return list(product(PaymentChannel, RecorderKind, days_around(rules)))


def in_python(rules: tuple[ChannelRule, ...], table: list) -> list[bool]:
    return [not channel_open(rules, channel, recorder, day) for channel, recorder, day in table]


def in_sql(owner_db, rules: tuple[ChannelRule, ...], table: list) -> list[bool]:
    params = {
        **payments_sql.channel_rule_params(rules),
        "ids": list(range(len(table))),
        "channels": [c.value for c, _, _ in table],
        "recorders": [k.value for _, k, _ in table],
        "days": [d for _, _, d in table],
    }

    async def run(db):
        return (await db.execute(text(_QUERY), params)).all()

    return [row.closed for row in owner_db(run)]


def generated(seed: int) -> tuple[ChannelRule, ...]:
    """1–4 rules of random channels, kinds and bounds around the 2022 campaign."""
    rng = random.Random(seed)
    start = date(2021, 9, 1)

    def bound() -> date | None:
        return None if rng.random() < 0.3 else start + timedelta(days=rng.randrange(150))

    rules = []
    for _ in range(rng.randint(1, 4)):
        channels = tuple(rng.sample(list(PaymentChannel), rng.randint(1, 3)))
        kinds = () if rng.random() < 0.3 else tuple(rng.sample(list(RecorderKind), rng.randint(1, 3)))
        rules.append(ChannelRule(channels, kinds, bound(), bound()))  # from > until: a rule that opens nothing
    return tuple(rules)


NAMED = {
    "baqiao-2022": BAQIAO.channel_rules,
    "neixiang-2023": NEIXIANG_2023.channel_rules,
    "neixiang-2027": NEIXIANG_2027.channel_rules,
    "seasons": SEASONS,
    "no-rules": (),
}


@pytest.mark.parametrize("rules", list(NAMED.values()), ids=list(NAMED))
def test_sql_and_python_agree_on_the_named_rules(owner_db, rules):
    table = cases(rules)
    expected = in_python(rules, table)
    found = in_sql(owner_db, rules, table)
    mismatches = [(case, want, got) for case, want, got in zip(table, expected, found) if want != got]
    assert not mismatches, f"{len(mismatches)} of {len(table)} differ, e.g. {mismatches[:3]}"
    if rules:  # the table reaches both answers, so agreement means something
        assert set(expected) == {True, False}


def test_sql_and_python_agree_on_generated_rules(owner_db):
    rule_sets = [generated(seed) for seed in range(60)]
    table = [(rules, case) for rules in rule_sets for case in cases(rules)]
    expected = [not channel_open(rules, *case) for rules, case in table]
    found = []
    for rules in rule_sets:
        found += in_sql(owner_db, rules, cases(rules))
    mismatches = [(rules, case) for (rules, case), want, got in zip(table, expected, found) if want != got]
    assert not mismatches, f"{len(mismatches)} of {len(table)} differ, e.g. {mismatches[:2]}"
    assert 0.1 < sum(expected) / len(expected) < 0.9


def test_the_neixiang_boundary_in_sql(owner_db):
    """Cash to a village collector: 11-30 open, 12-01 closed; the tax hall and WeChat open."""
    table = [
        (C.CASH_AGENT, K.VILLAGE_COLLECTOR, date(2022, 11, 30)),
        (C.CASH_AGENT, K.VILLAGE_COLLECTOR, date(2022, 12, 1)),
        (C.TAX_HALL, K.TAX_BUREAU, date(2022, 12, 1)),
        (C.WECHAT, K.CHANNEL_FILE, date(2022, 12, 1)),
        (C.SCHOOL, K.CHANNEL_FILE, date(2022, 12, 1)),
    ]
    assert in_sql(owner_db, NEIXIANG_2023.channel_rules, table) == [False, True, False, False, True]
