"""assessment(year) over HTTP: the seeds' rules on real payments and snapshots."""
from __future__ import annotations

from datetime import date

from tests.payment_support import campaign, new_person, pay, shanghai
from tests.quota_support import ASSESSMENT, SNAPSHOT, set_quotas
from tests.subsidy_support import SET_POLICY, policy_input

YEAR_POLICY = "query($year: Int!) { yearPolicy(year: $year) { assessment { perEnrolled perAboveTarget rewardTiers { minRate by perEnrolled } shortfall { belowRate by perMissing missingFrom } } } }"


def tax_pay(client, county, person: str, year: int, amount: str, on: date) -> None:
    result = pay(client, county.tokens["tax"], person, year, amount, on, channel="TAX_HALL")
    assert result["userErrors"] == [], result


def figures(rows: list[dict], county) -> dict[str, tuple]:
    return {r["unit"]["code"][len(county.code):]: (r["target"], r["enrolled"], r["reward"], r["penalty"], r["net"]) for r in rows}


def test_shuangpai_2022_tiers_by_12_31_and_02_28_and_the_shortfall(client, new_county, clock):
    dec31, feb28 = date(2021, 12, 31), date(2022, 2, 28)
    county, _ = campaign(client, new_county, clock, "shuangpai-2022.json", today=dec31)
    admin = county.tokens["admin"]
    rules = client.data(YEAR_POLICY, {"year": 2022}, admin)["yearPolicy"]["assessment"]
    assert rules["rewardTiers"] == [
        {"minRate": "96.5", "by": "2021-12-31", "perEnrolled": "1.50"},
        {"minRate": "96.5", "by": "2022-02-28", "perEnrolled": "1.00"},
    ]
    assert rules["shortfall"] == {"belowRate": "96.5", "by": "2022-02-28", "perMissing": "1.50", "missingFrom": "TARGET"}
    set_quotas(client, admin, 2022, {county.units["100"]: 4, county.units["300"]: 2, county.units["900"]: 1})
    town = [new_person(client, county, unit="100201", name=f"镇{i}") for i in range(4)]
    township = [new_person(client, county, unit="300201", name=f"乡{i}") for i in range(2)]
    new_person(client, county, unit="900001", name="学生")
    for person in town + township[:1]:
        tax_pay(client, county, person, 2022, "320.00", dec31)
    assert client.data(SNAPSHOT, {"input": {"year": 2022}}, admin)["takeProgressSnapshot"]["userErrors"] == []

    clock.travel_to(shanghai(feb28, 20))
    tax_pay(client, county, township[1], 2022, "320.00", feb28)
    assert client.data(SNAPSHOT, {"input": {"year": 2022}}, admin)["takeProgressSnapshot"]["userErrors"] == []

    clock.travel_to(shanghai(date(2022, 3, 10), 12))
    rows = client.data(ASSESSMENT, {"year": 2022}, admin)["assessment"]
    assert figures(rows, county) == {
        "100": (4, 4, "6.00", "0.00", "6.00"),  # 4/4 by 12-31: 1.5 × 4
        "300": (2, 2, "2.00", "0.00", "2.00"),  # 1/2 by 12-31, 2/2 by 02-28: 1 × 2
        "900": (1, 0, "0.00", "1.50", "-1.50"),  # 0/1 by 02-28: 1 person short × 1.5
    }
    township_row = next(r for r in rows if r["unit"]["code"].endswith("300"))
    assert township_row["lines"] == [
        {"code": "TIER", "persons": 2, "perPerson": "1.00", "amount": "2.00", "on": "2022-02-28"},
    ]
    assert township_row["measurements"] == [
        {"on": "2021-12-31", "measuredOn": "2021-12-31", "enrolled": 1},
        {"on": "2022-02-28", "measuredOn": "2022-02-28", "enrolled": 2},
        {"on": None, "measuredOn": None, "enrolled": 2},
    ]


def test_neixiang_2023_per_person_above_and_below_the_quota(client, new_county, clock, county_b):
    county, _ = campaign(client, new_county, clock, "neixiang-2023.json", today=date(2022, 11, 1))
    admin = county.tokens["admin"]
    set_quotas(client, admin, 2023, {county.units["100"]: 3, county.units["300"]: 1})
    for i in range(4):
        tax_pay(client, county, new_person(client, county, unit="100201", name=f"镇{i}"), 2023, "350.00", date(2022, 11, 1))
    new_person(client, county, unit="300201", name="未缴")
    rows = client.data(ASSESSMENT, {"year": 2023}, admin)["assessment"]
    assert figures(rows, county) == {
        "100": (3, 4, "106.00", "0.00", "106.00"),  # 1.5 × 4 + 100 × 1 above
        "300": (1, 0, "0.00", "100.00", "-100.00"),  # 1.5 × 0 − 100 × 1 below
    }
    # who may read it: the county, finance and tax; a township its own line; not a collector
    assert len(client.data(ASSESSMENT, {"year": 2023}, county.tokens["finance"])["assessment"]) == 2
    own = client.data(ASSESSMENT, {"year": 2023}, county.tokens["township"])["assessment"]
    assert [r["unit"]["code"] for r in own] == [county.code + "100"]
    body = client.gql(ASSESSMENT, {"year": 2023}, county.tokens["collector"])
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = client.gql(ASSESSMENT, {"year": 2023}, county_b.tokens["admin"])
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"  # county B has no 2023 policy


def test_a_policy_without_rules_has_no_assessment(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "neixiang-2023.json", today=date(2022, 11, 1))
    policy = policy_input("neixiang-2023.json")
    policy.pop("assessment")
    payload = client.data(SET_POLICY, {"input": policy}, county.tokens["medical"])["setYearPolicy"]
    assert payload["userErrors"] == []
    assert client.data(YEAR_POLICY, {"year": 2023}, county.tokens["admin"])["yearPolicy"]["assessment"] is None
    body = client.gql(ASSESSMENT, {"year": 2023}, county.tokens["admin"])
    assert body["errors"][0]["extensions"]["code"] == "NO_ASSESSMENT_RULES"


def test_bad_rules_are_user_errors(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "neixiang-2023.json", today=date(2022, 11, 1))
    policy = policy_input("neixiang-2023.json", assessment={"rewardTiers": [{"minRate": "120", "perEnrolled": "1.50"}]})
    payload = client.data(SET_POLICY, {"input": policy}, county.tokens["medical"])["setYearPolicy"]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_ASSESSMENT", ["assessment", "rewardTiers", "0", "minRate"]),
    ]
