"""Called in (内乡 四(四): "实行一周一排名…排名后三名且未完成任务的，由县主要领导约谈乡镇主要负责人"):
the rule as a table, then over HTTP on 内乡's townships, live, in a past day's ranking
and week by week."""
from __future__ import annotations

from datetime import date

import pytest

from api.demo import TOWNSHIPS
from domain.progress.rules import called_in
from tests.payment_support import pay, shanghai
from tests.quota_support import HISTORY, SNAPSHOT, onboard_tree, progress, set_quotas
from tests.subsidy_support import SET_POLICY, policy_input, register_person, set_policy
from tests.support import CREATE_USER, PASSWORD, unit

# (target, enrolled) per unit, the bottom N, the units called in.
CASES = [
    # 内乡: six townships of 100, the bottom three all short
    ({"A": (100, 100), "B": (100, 90), "C": (100, 80), "D": (100, 70), "E": (100, 60), "F": (100, 50)}, 3, {"D", "E", "F"}),
    # a unit of the bottom three that finished its task is not called in, nor is the unit above it
    ({"A": (100, 120), "B": (100, 110), "C": (100, 105), "D": (100, 100), "E": (100, 90)}, 3, {"E"}),
    # two units share the third-last place: both are in
    ({"A": (100, 90), "B": (100, 70), "C": (100, 70), "D": (100, 60), "E": (100, 50)}, 3, {"B", "C", "D", "E"}),
    # two share the last place: the third-last is still in (ranks from the bottom 1, 1, 3)
    ({"A": (100, 90), "B": (100, 80), "C": (100, 70), "D": (100, 50), "E": (100, 50)}, 3, {"C", "D", "E"}),
    # everyone tied and short: everyone is in
    ({"A": (10, 5), "B": (10, 5), "C": (10, 5), "D": (10, 5)}, 3, {"A", "B", "C", "D"}),
    # rates compare exactly: 1/3 and 2/6 tie
    ({"A": (3, 1), "B": (6, 2), "C": (9, 8), "D": (10, 9)}, 1, {"A", "B"}),
    # a unit without a quota is not ranked: it pushes nobody out and is never called in
    ({"X": (0, 0), "A": (100, 50), "B": (100, 60), "C": (100, 70), "D": (100, 80)}, 3, {"A", "B", "C"}),
    # fewer siblings than N: every unit short of its quota
    ({"A": (100, 100), "B": (100, 99)}, 3, {"B"}),
    # no rule
    ({"A": (100, 1), "B": (100, 2)}, None, set()),
    ({"A": (100, 1), "B": (100, 2)}, 0, set()),
    ({}, 3, set()),
]


@pytest.mark.parametrize(("units", "bottom", "expected"), CASES)
def test_called_in(units, bottom, expected):
    items = [(code, target, enrolled) for code, (target, enrolled) in units.items()]
    assert called_in(items, bottom) == expected
    assert called_in(list(reversed(items)), bottom) == expected  # the order of the siblings does not matter


# --- over HTTP: six of 内乡's townships and the county's 残联, which has no quota -------------

YEAR = 2023
CODE = "941325"
QUOTA = 4
FIRST_WEEK, SECOND_WEEK = date(2022, 11, 1), date(2022, 11, 8)  # a Tuesday each, ISO weeks 44 and 45
NAMES = {suffix: name for suffix, name, _, _ in TOWNSHIPS[:6]}
POLICY = "query($year: Int!) { yearPolicy(year: $year) { callInBottom } }"
FLAGS_AS_OF = """
query($year: Int!, $asOf: Date) { quotaProgress(year: $year, asOf: $asOf) { unit { code } rank calledIn } }"""


def tree() -> list[dict]:
    townships = [unit(CODE + s, name, "TOWN", [unit(f"{CODE}{s}201", f"{name}一村", "VILLAGE")]) for s, name in NAMES.items()]
    return [*townships, unit(CODE + "901", "县残联", "SPECIAL", [unit(CODE + "901001", "残联直属", "SPECIAL")])]


def enrol(client, county, suffix: str, count: int, on: date) -> None:
    for i in range(count):
        person = register_person(client, county, date(1980, 1, 1), f"{NAMES[suffix]}{on.day}{i}", f"{CODE}{suffix}201")
        assert pay(client, county.tokens["tax"], person, YEAR, "350.00", on, channel="TAX_HALL")["userErrors"] == []


def flags(rows: list[dict]) -> dict[str, bool]:
    return {r["unit"]["code"][len(CODE):]: r["calledIn"] for r in rows}


def test_neixiang_calls_in_the_bottom_three_below_their_quota(client, operator_token, clock):
    county = onboard_tree(client, operator_token, CODE, "内乡县（测试）", tree())
    admin = county.tokens["admin"]
    for username, grant in {"tax": {"role": "DEPARTMENT_STAFF", "department": "TAX"},
                            "township": {"role": "TOWNSHIP_STAFF", "scope": county.units[CODE + "101"]}}.items():
        created = client.data(CREATE_USER, {"input": {"username": username, "password": PASSWORD, **grant}}, admin)
        assert created["createUser"]["userErrors"] == []
        county.tokens[username] = client.login(CODE, username, PASSWORD)
    clock.travel_to(shanghai(FIRST_WEEK, 12))
    # The tree has no 民政 or 乡村振兴局: the policy without its categories; callInBottom 3 from the file.
    set_policy(client, admin, policy_input("neixiang-2023.json", categories=[]))
    assert client.data(POLICY, {"year": YEAR}, admin)["yearPolicy"]["callInBottom"] == 3
    set_quotas(client, admin, YEAR, {county.units[CODE + s]: QUOTA for s in NAMES})

    # Week 44: 城关镇 4/4, 夏馆镇 3/4, 师岗镇 2/4, 马山口镇 2/4, 湍东镇 1/4, 赤眉镇 4/4
    for suffix, count in (("100", 4), ("101", 3), ("102", 2), ("103", 2), ("104", 1), ("105", 4)):
        enrol(client, county, suffix, count, FIRST_WEEK)
    week44 = {"100": False, "101": False, "102": True, "103": True, "104": True, "105": False, "901": False}
    assert flags(progress(client, admin, YEAR)) == week44  # 湍东 last, 师岗 and 马山口 share the 2nd-last place
    # 夏馆镇's own staff see their line, judged among all the townships (alone, 3/4 would be the bottom)
    assert flags(progress(client, county.tokens["township"], YEAR)) == {"101": False}
    assert client.data(SNAPSHOT, {"input": {"year": YEAR}}, admin)["takeProgressSnapshot"]["userErrors"] == []

    # Week 45: 师岗镇 and 湍东镇 finish their task; 夏馆镇 and 马山口镇 are now the bottom below quota
    clock.travel_to(shanghai(SECOND_WEEK, 12))
    enrol(client, county, "102", 2, SECOND_WEEK)
    enrol(client, county, "104", 3, SECOND_WEEK)
    week45 = {"100": False, "101": True, "102": False, "103": True, "104": False, "105": False, "901": False}
    assert flags(progress(client, admin, YEAR)) == week45
    assert client.data(SNAPSHOT, {"input": {"year": YEAR}}, admin)["takeProgressSnapshot"]["userErrors"] == []

    # A past day's ranking, from its snapshot, and the weekly ranking unit by unit
    past = client.data(FLAGS_AS_OF, {"year": YEAR, "asOf": FIRST_WEEK.isoformat()}, admin)["quotaProgress"]
    assert flags(past) == week44
    for suffix in ("101", "104", "103"):
        points = client.data(HISTORY, {"year": YEAR, "unit": county.units[CODE + suffix], "interval": "WEEK"}, admin)
        assert [(p["day"], p["calledIn"]) for p in points["progressHistory"]] == [
            (FIRST_WEEK.isoformat(), week44[suffix]), (SECOND_WEEK.isoformat(), week45[suffix]),
        ]
    assert flags(progress(client, county.tokens["township"], YEAR)) == {"101": True}

    # The rule is data: none, nobody called in; a bad one is a userError
    set_policy(client, admin, policy_input("neixiang-2023.json", categories=[], callInBottom=None))
    assert not any(flags(progress(client, admin, YEAR)).values())
    bad = client.data(SET_POLICY, {"input": policy_input("neixiang-2023.json", categories=[], callInBottom=0)}, admin)
    assert [(e["code"], e["field"]) for e in bad["setYearPolicy"]["userErrors"]] == [("INVALID_CALL_IN", ["callInBottom"])]


def test_called_in_and_ranks_match_their_definitions_on_random_siblings() -> None:
    """The sorted forms (a binary search, one key per unit) against the definitions
    read literally: every pair compared."""
    import random
    from fractions import Fraction

    from domain.progress.rules import called_in, competition_ranks, rank_key

    chance = random.Random(411325)

    def siblings(size: int) -> list[tuple[str, int, int]]:
        if size == 0:  # a county's sizes
            return [(f"u{n:02}", chance.choice([0, 3, 6, 10, 40]), chance.randint(0, 12))
                    for n in range(chance.randint(1, 24))]
        # equal and nearest rates (e/t, (e*m ± 1)/(t*m)) at the largest counts compared
        # as floats (2**25 squared is just below their bound) and beyond (as fractions)
        target = chance.randint(3, 1000)
        enrolled = chance.randint(1, target)
        items = []
        for n in range(chance.randint(1, 12)):
            m = chance.randint(1, size // target)
            items.append((f"u{n:02}", target * m, enrolled * m + chance.choice([-1, 0, 0, 1])))
        return items

    for round_ in range(600):
        items = siblings([0, 2**25 - 3, 2**60][round_ % 3])
        bottom = chance.choice([None, 0, 1, 3, 5])
        competing = [(k, Fraction(e, t), e < t) for k, t, e in items if t > 0]
        literal = frozenset(k for k, rate, short in competing
                            if bottom and short and sum(1 for _, other, _ in competing if other < rate) < bottom)
        assert called_in(items, bottom) == literal
        ranks = competition_ranks(items)
        for code, target, enrolled in items:
            better = sum(1 for _, t, e in items if rank_key(t, e) > rank_key(target, enrolled))
            assert ranks[code] == better + 1
