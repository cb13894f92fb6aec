"""assessment(year) over HTTP: the seeds' rules on real payments, deadlines counted from the record."""
from __future__ import annotations

from datetime import date, datetime

from tests.payment_support import (
    RECORD,
    SHANGHAI,
    campaign,
    decide,
    new_person,
    pay,
    request_refund,
    shanghai,
)
from tests.quota_support import ASSESSMENT, PROGRESS, SNAPSHOT, progress, set_quotas
from tests.subsidy_support import SET_POLICY, csv_list, policy_input, upload

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
    assert body["errors"][0]["extensions"]["code"] == "NO_POLICY"  # county B has no 2023 policy


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


# --- deadlines measured from the record (双牌 2022: "在12月31日完成96.5%(含)以上…") ------------

BEIJING_MIDNIGHT = "2022-01-01T00:00:00+08:00"  # = 2021-12-31T16:00:00Z: a UTC cut would count it for 12-31


def pay_at(client, county, person: str, moment: str) -> dict:
    variables = {"input": {"idNumber": person, "year": 2022, "amount": "320.00", "channel": "TAX_HALL", "paidAt": moment}}
    payload = client.data(RECORD, variables, county.tokens["tax"])["recordPayment"]
    assert payload["userErrors"] == [], payload
    return payload["payment"]


def refund_whole(client, county, payment_id: str) -> None:
    asked = request_refund(client, county.tokens["tax"], payment_id, "GAVE_UP", eventDate="2021-12-31")
    assert asked["userErrors"] == [], asked
    assert decide(client, county.tokens["tax"], asked["refund"]["id"])["userErrors"] == []


def lines_of(rows: list[dict], county, suffix: str) -> tuple[list, list]:
    row = next(r for r in rows if r["unit"]["code"] == county.code + suffix)
    return ([(line["code"], line["persons"], line["amount"], line["on"]) for line in row["lines"]],
            [(m["on"], m["measuredOn"], m["enrolled"]) for m in row["measurements"]])


def test_a_past_campaign_without_any_snapshot_is_assessed_from_the_record(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "shuangpai-2022.json", today=date(2021, 12, 31))
    admin = county.tokens["admin"]
    set_quotas(client, admin, 2022, {county.units["100"]: 2, county.units["300"]: 2, county.units["900"]: 1})
    clock.travel_to(None)  # today: the whole campaign lies in the past, and nobody took a snapshot
    a, b = (new_person(client, county, unit="100201", name=n) for n in ("甲", "乙"))
    c, d = (new_person(client, county, unit="300201", name=n) for n in ("丙", "丁"))
    new_person(client, county, unit="900001", name="学生")
    pay_at(client, county, a, "2021-12-31T23:59:59+08:00")  # the last second of 12-31
    pay_at(client, county, b, BEIJING_MIDNIGHT)  # the first second of 01-01: by 02-28 only
    pay_at(client, county, c, "2021-12-31T10:00:00+08:00")
    refund_whole(client, county, pay_at(client, county, d, "2021-12-31T23:59:00+08:00")["id"])  # refunded today
    body = client.gql(PROGRESS, {"year": 2022, "asOf": "2022-02-28"}, admin)
    assert body["errors"][0]["extensions"]["code"] == "NO_SNAPSHOT"

    rows = client.data(ASSESSMENT, {"year": 2022}, admin)["assessment"]
    assert figures(rows, county) == {
        "100": (2, 2, "2.00", "0.00", "2.00"),  # 1 of 2 by 12-31, 2 of 2 by 02-28: 1 × 2
        "300": (2, 1, "3.00", "0.00", "3.00"),  # 2 of 2 by 12-31: 1.5 × 2; a refund today does not reach back
        "900": (1, 0, "0.00", "1.50", "-1.50"),  # nobody by 02-28: 1 short × 1.5
    }
    assert lines_of(rows, county, "100") == (
        [("TIER", 2, "2.00", "2022-02-28")],
        [("2021-12-31", "2021-12-31", 1), ("2022-02-28", "2022-02-28", 2), (None, None, 2)],
    )
    assert lines_of(rows, county, "300") == (
        [("TIER", 2, "3.00", "2021-12-31")],
        [("2021-12-31", "2021-12-31", 2), ("2022-02-28", "2022-02-28", 2), (None, None, 1)],
    )


def test_the_snapshot_of_a_day_and_the_record_of_that_day_agree(client, new_county, clock, owner_db):
    dec31 = date(2021, 12, 31)
    county, _ = campaign(client, new_county, clock, "shuangpai-2022.json", today=dec31)
    admin, suffixes = county.tokens["admin"], ["100", "100001", "100201", "300", "300201", "300202", "900", "900001"]
    set_quotas(client, admin, 2022, {county.units[s]: 3 for s in suffixes})
    clock.travel_to(datetime(2021, 12, 31, 23, 59, 30, tzinfo=SHANGHAI))
    people = {s: [new_person(client, county, unit=s, name=f"居民{s[-3:]}{i}") for i in range(3)]
              for s in ("100001", "100201", "300201", "300202", "900001")}
    tekun = [(f"居民{s[-3:]}0", people[s][0], "", None, None) for s in ("100001", "300202")]
    assert upload(client, county.tokens["civil_affairs"], 2022, "tekun", csv_list(tekun))["rowErrors"] == []
    paid = [pay_at(client, county, p, f"2021-12-{20 + i}T23:59:00+08:00")["id"]
            for i, p in enumerate(people["100201"] + people["300201"][1:] + people["900001"][:1])]
    refund_whole(client, county, paid[0])
    # The server stamps registrations, list versions and refund decisions with the
    # database's clock; this campaign is replayed on a pinned clock, so its stamps are
    # moved to the evening it replays.
    stamp_county(owner_db, county, "2021-12-31T23:00:00+08:00")
    assert client.data(SNAPSHOT, {"input": {"year": 2022}}, admin)["takeProgressSnapshot"]["day"] == "2021-12-31"

    # After the night: new payments, a refund, the list's next version, a registration …
    clock.travel_to(shanghai(date(2022, 1, 5), 12))
    pay_at(client, county, people["300202"][1], "2022-01-02T09:00:00+08:00")
    refund_whole(client, county, paid[1])
    tekun2 = [(f"居民{s[-3:]}0", people[s][0], "", None, None) for s in ("100001", "900001")]
    assert upload(client, county.tokens["civil_affairs"], 2022, "tekun", csv_list(tekun2), confirm_removals=True)["rowErrors"] == []
    new_person(client, county, unit="300201", name="新生")
    # … and a payment of 12-31 that arrived after the snapshot (a late channel file)
    pay_at(client, county, people["300202"][2], "2021-12-31T20:00:00+08:00")

    clock.travel_to(shanghai(date(2022, 3, 10), 12))
    rows = client.data(ASSESSMENT, {"year": 2022}, admin)["assessment"]
    record = {r["unit"]["code"][len(county.code):]: r["measurements"][0] for r in rows}
    assert {m["on"] for m in record.values()} == {"2021-12-31"}
    snapshot = {}
    for parent in (None, "100", "300", "900"):
        for row in progress(client, admin, 2022, county.units[parent] if parent else None, "2021-12-31"):
            snapshot[row["unit"]["code"][len(county.code):]] = row["enrolled"]
    late = {"300": 1, "300202": 1}  # the record knows of the late payment, the snapshot could not
    assert {s: record[s]["enrolled"] - late.get(s, 0) for s in suffixes} == {s: snapshot[s] for s in suffixes}
    assert snapshot == {"100": 3, "100001": 1, "100201": 2, "300": 3, "300201": 2, "300202": 1, "900": 1, "900001": 1}


def stamp_county(owner_db, county, moment: str) -> None:
    """Move the county's registration, list-version and refund-decision stamps to `moment`."""
    from sqlalchemy import text

    from schema.relay import from_global_id

    tenant_id = from_global_id(county.id)[1]

    async def move(db):
        for table, column in (("person", "created_at"), ("subsidy_batch", "uploaded_at"), ("refund", "decided_at")):
            await db.execute(
                text(f"UPDATE {table} SET {column} = CAST(:at AS timestamptz) WHERE tenant_id = :t AND {column} IS NOT NULL"),
                {"t": tenant_id, "at": moment},
            )

    owner_db(move, tenant_id)
