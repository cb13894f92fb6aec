"""Who pays the subsidies (枣庄 seeds/004: "农村一女、双女、独生子女伤亡病残家庭…由市、镇(街)财政各承担50%";
the other groups "由市财政承担"): the split as a table, then subsidyFunding and its sheet
over HTTP with 枣庄's numbers."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal as D

import openpyxl
import pytest

from domain.policy.rules import FundedGroup, FunderShare, SubsidyCategory, SubsidyMode, SubsidyRule, funding
from tenants.kinds import DepartmentCode
from tests.payment_support import campaign, pay
from tests.subsidy_support import csv_list, register_person, set_policy, upload


def category(code: str, *shares: tuple[str, str]) -> SubsidyCategory:
    return SubsidyCategory(code, code, DepartmentCode.HEALTH, SubsidyRule.FULL, None, SubsidyMode.DEDUCT,
                           funders=tuple(FunderShare(name, D(percent)) for name, percent in shares))


ONE_CHILD = category("dushengzinv", ("city", "50"), ("township", "50"))
AGE70 = category("age70", ("city", "100"))
TEKUN = category("tekun")  # names no funder


def lines(groups: list[FundedGroup], *categories: SubsidyCategory) -> list[tuple]:
    return [(line.unit_id, line.category, line.funder, line.persons, str(line.amount))
            for line in funding(groups, categories or (ONE_CHILD, AGE70, TEKUN)).lines]


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        # 枣庄 280: 140 / 140 per person
        ([FundedGroup(1, "dushengzinv", D("280.00"), 3)],
         [(1, "dushengzinv", "city", 3, "420.00"), (1, "dushengzinv", "township", 3, "420.00")]),
        # an odd cent goes to the first funder, person by person: 140.02 + 140.01
        ([FundedGroup(1, "dushengzinv", D("280.03"), 3)],
         [(1, "dushengzinv", "city", 3, "420.06"), (1, "dushengzinv", "township", 3, "420.03")]),
        # a category without funders: one line, the whole amount, funder null
        ([FundedGroup(2, "tekun", D("350.00"), 2)], [(2, "tekun", None, 2, "700.00")]),
        # by unit (the parent's own persons first), then the policy's category order, then the funders' order
        ([FundedGroup(2, "age70", D("280.00"), 1), FundedGroup(None, "dushengzinv", D("280.00"), 1),
          FundedGroup(1, "tekun", D("280.00"), 1), FundedGroup(1, "dushengzinv", D("280.00"), 2)],
         [(None, "dushengzinv", "city", 1, "140.00"), (None, "dushengzinv", "township", 1, "140.00"),
          (1, "dushengzinv", "city", 2, "280.00"), (1, "dushengzinv", "township", 2, "280.00"),
          (1, "tekun", None, 1, "280.00"), (2, "age70", "city", 1, "280.00")]),
        # the same unit and category at two amounts (a policy changed after some paid): one line each funder
        ([FundedGroup(1, "dushengzinv", D("280.00"), 1), FundedGroup(1, "dushengzinv", D("280.01"), 1)],
         [(1, "dushengzinv", "city", 2, "280.01"), (1, "dushengzinv", "township", 2, "280.00")]),
        # a category no longer in the policy: kept whole, unsplit
        ([FundedGroup(1, "gone", D("10.00"), 1)], [(1, "gone", None, 1, "10.00")]),
        ([], []),
    ],
)
def test_funding_lines(groups, expected):
    assert lines(groups) == expected


def test_totals_are_the_sums_of_the_lines_and_each_person_counts_once():
    groups = [FundedGroup(1, "dushengzinv", D("280.03"), 3), FundedGroup(2, "age70", D("280.03"), 2),
              FundedGroup(2, "tekun", D("0.01"), 1)]
    found = funding(groups, (ONE_CHILD, AGE70, TEKUN))
    assert found.persons == 6
    assert found.amount == sum(line.amount for line in found.lines) == D("1400.16")
    assert [(t.funder, t.persons, str(t.amount)) for t in found.by_funder] == [
        ("city", 5, "980.12"), ("township", 3, "420.03"), (None, 1, "0.01"),
    ]
    assert sum(t.amount for t in found.by_funder) == found.amount


def test_a_unit_split_person_by_person_adds_up_to_its_parent():
    # Two villages of one township: their lines add up to the township's line to the cent.
    villages = funding([FundedGroup(11, "dushengzinv", D("280.03"), 1), FundedGroup(12, "dushengzinv", D("280.03"), 2)],
                       (ONE_CHILD,))
    township = funding([FundedGroup(1, "dushengzinv", D("280.03"), 3)], (ONE_CHILD,))
    for funder in ("city", "township"):
        assert sum(line.amount for line in villages.lines if line.funder == funder) == next(
            line.amount for line in township.lines if line.funder == funder)


# --- over HTTP: 枣庄 2022 ------------------------------------------------------------------

FUNDING = """
query($year: Int!, $parent: ID) {
  subsidyFunding(year: $year, parent: $parent) {
    year
    lines { unit { code } category categoryName funder persons amount }
    byFunder { funder persons amount }
    totals { persons amount }
  }
}"""


def report(client, token: str, county, parent: str | None = None) -> dict:
    return client.data(FUNDING, {"year": 2022, "parent": county.units[parent] if parent else None}, token)["subsidyFunding"]


def table(found: dict, county) -> list[tuple]:
    return [((line["unit"] or {}).get("code", "")[len(county.code):], line["category"], line["funder"], line["persons"],
             line["amount"]) for line in found["lines"]]


def born_aged(age: int) -> date:
    return date(2022 - age, 6, 1)  # ages at 1 January 2022, 枣庄's reference date


def one_child_families(client, county, village: str, count: int) -> list[str]:
    people = [register_person(client, county, born_aged(35), f"独生{village[-3:]}{i}", village) for i in range(count)]
    rows = [(f"独生{village[-3:]}{i}", number, "", None, None) for i, number in enumerate(people)]
    listed = upload(client, county.tokens["health"], 2022, "dushengzinv", csv_list(rows))
    assert listed["rowErrors"] == [] and listed["userErrors"] == [], listed
    return people


def test_zaozhuang_subsidy_money_per_unit_category_and_funder(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "zaozhuang-2022.json", today=date(2021, 11, 10))
    tax = county.tokens["tax"]
    register_person(client, county, born_aged(75), "七十五", "100201")  # age70: 280 by the city, SUBSIDIZED
    rows = [(f"独生100{i}", n, "", None, None) for i, n in enumerate(
        register_person(client, county, born_aged(35), f"独生100{i}", "100201") for i in range(2))]
    paid_60 = register_person(client, county, born_aged(65), "六十五", "300201")  # age60: pays 140, the city 140
    register_person(client, county, born_aged(66), "未缴费", "300201")  # age60 but unpaid: nothing in force
    late_60 = register_person(client, county, born_aged(62), "逾期", "900001")  # pays late: 280 + 550, no subsidy
    one_child = register_person(client, county, born_aged(40), "独生300", "300202")
    rows.append(("独生300", one_child, "", None, None))
    listed = upload(client, county.tokens["health"], 2022, "dushengzinv", csv_list(rows))
    assert listed["rowErrors"] == [] and listed["userErrors"] == [], listed
    assert pay(client, tax, paid_60, 2022, "140.00", date(2021, 11, 10), channel="TAX_HALL")["userErrors"] == []
    # After the subsidised persons' grace month (枣庄 "政府资助人员可延长1个月": until 01-20).
    clock.travel_to(clock.now().replace(year=2022, month=1, day=25))
    late = pay(client, tax, late_60, 2022, "830.00", date(2022, 1, 25), channel="TAX_HALL")
    assert late["userErrors"] == [] and late["payment"]["timing"] == "LATE"

    found = report(client, county.tokens["finance"], county)
    assert table(found, county) == [
        ("100", "age70", "city", 1, "280.00"),
        ("100", "dushengzinv", "city", 2, "280.00"),
        ("100", "dushengzinv", "township", 2, "280.00"),
        ("300", "age60", "city", 1, "140.00"),
        ("300", "dushengzinv", "city", 1, "140.00"),
        ("300", "dushengzinv", "township", 1, "140.00"),
    ]
    assert {line["categoryName"] for line in found["lines"]} >= {"农村一女、双女、独生子女伤亡病残家庭", "70周岁以上老年人"}
    assert found["byFunder"] == [{"funder": "city", "persons": 5, "amount": "840.00"},
                                 {"funder": "township", "persons": 3, "amount": "420.00"}]
    assert found["totals"] == {"persons": 5, "amount": "1260.00"}
    assert D(found["totals"]["amount"]) == sum(D(line["amount"]) for line in found["lines"])

    # A township's staff: their villages, which add up to their line in the county's report
    villages = report(client, county.tokens["township"], county)
    assert table(villages, county) == [
        ("100201", "age70", "city", 1, "280.00"),
        ("100201", "dushengzinv", "city", 2, "280.00"),
        ("100201", "dushengzinv", "township", 2, "280.00"),
    ]
    # finance below a township; a collector may not read it, nor a county without the year
    assert table(report(client, county.tokens["finance"], county, "300"), county) == [
        ("300201", "age60", "city", 1, "140.00"),
        ("300202", "dushengzinv", "city", 1, "140.00"),
        ("300202", "dushengzinv", "township", 1, "140.00"),
    ]
    body = client.gql(FUNDING, {"year": 2022}, county.tokens["collector"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = client.gql(FUNDING, {"year": 2023}, county.tokens["finance"])
    assert body["errors"][0]["extensions"]["code"] == "NO_POLICY"
    body = client.gql(FUNDING, {"year": 2022, "parent": county.units["300"]}, county.tokens["township"])
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"  # another township: not visible to them


def test_odd_cents_split_exactly_and_the_sheet_is_text(client, new_county, clock):
    # 280.03: a standard with an odd cent; the township budget named with a leading "=".
    county, policy = campaign(client, new_county, clock, "zaozhuang-2022.json", today=date(2021, 11, 10), standard="280.03")
    for c in policy["categories"]:
        if c["code"] == "dushengzinv":
            c["funders"][1]["funder"] = "=SUM(1,1)"
    set_policy(client, county.tokens["medical"], policy)
    one_child_families(client, county, "100201", 3)
    found = report(client, county.tokens["finance"], county)
    assert table(found, county) == [
        ("100", "dushengzinv", "city", 3, "420.06"),  # 140.02 × 3
        ("100", "dushengzinv", "=SUM(1,1)", 3, "420.03"),  # 140.01 × 3
    ]
    assert found["totals"] == {"persons": 3, "amount": "840.09"}  # 280.03 × 3

    response = client.http.get("/downloads/2022/subsidy-funding.xlsx",
                               headers={"Authorization": f"Bearer {county.tokens['finance']}"})
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    rows = [[(cell.value, cell.data_type) for cell in row] for row in book.active.iter_rows()]
    assert [value for value, _ in rows[1]] == ["序号", "单位", "资助类别", "资金承担方", "人数", "金额（元）"]
    body = [[value for value, _ in row] for row in rows[2:]]
    assert body == [
        [1, "城关镇", "农村一女、双女、独生子女伤亡病残家庭", "city", 3, 420.06],
        [2, "城关镇", "农村一女、双女、独生子女伤亡病残家庭", "=SUM(1,1)", 3, 420.03],
        [None, "小计", None, "=SUM(1,1)", 3, 420.03],
        [None, "小计", None, "city", 3, 420.06],
        [None, "合计", None, None, 3, 840.09],
    ]
    assert all(kind == "s" for row in rows for value, kind in row if isinstance(value, str))  # text, never a formula
    unit_sheet = client.http.get(f"/downloads/2022/units/{county.code}100/subsidy-funding.xlsx",
                                 headers={"Authorization": f"Bearer {county.tokens['township']}"})
    assert unit_sheet.status_code == 200
    other = client.http.get(f"/downloads/2022/units/{county.code}300/subsidy-funding.xlsx",
                            headers={"Authorization": f"Bearer {county.tokens['township']}"})
    assert other.status_code == 403
    collector = client.http.get("/downloads/2022/subsidy-funding.xlsx",
                                headers={"Authorization": f"Bearer {county.tokens['collector']}"})
    assert collector.status_code == 403
