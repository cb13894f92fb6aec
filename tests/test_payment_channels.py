"""Channels by who records and when, through GraphQL over HTTP, with the documents' numbers.

灞桥 2022 (seeds/000, 二(七)): "除大中专院校、银行柜台、办税服务厅可以收取现金外，其他代办单位原则上
不再收取现金". 内乡 2023 (seeds/003, 三(六)): "集中征缴11月30结束后,群众参保以线上缴费为主，同时在
县行政审批服务中心税务窗口安排专人征收" — the Beijing date of paidAt decides, 11-30 open, 12-01 closed.
"""
from __future__ import annotations

from datetime import date

from tests.payment_import_support import csv_file, import_payments, payments_of, row_codes
from tests.payment_support import RECORD, campaign, new_person, pay, shanghai
from tests.subsidy_support import enrollment, policy_input, set_policy
from tests.support import CREATE_USER, PASSWORD

POLICY = """
query($year: Int!) { yearPolicy(year: $year) { year channelRules { channels recordedBy from until } } }"""

SET_POLICY = """
mutation($input: YearPolicyInput!) {
  setYearPolicy(input: $input) { policy { channelRules { channels recordedBy from until } } userErrors { field code message } }
}"""

BAQIAO_DAY = date(2021, 11, 5)
NEIXIANG_OPEN_SINCE_1130 = "2022-12-01 可使用的缴费渠道：微信、支付宝、税务APP、手机银行、办税服务厅。"


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def school_collector(client, county) -> str:
    """A collector whose unit is the county's school (第一中学)."""
    grant = {"username": "school", "password": PASSWORD, "role": "VILLAGE_COLLECTOR", "scope": county.units["900001"]}
    assert client.data(CREATE_USER, {"input": grant}, county.tokens["admin"])["createUser"]["userErrors"] == []
    return client.login(county.code, "school", PASSWORD)


def record(client, token: str, person: str, year: int, amount: str, channel: str, paid_at: str, **extra) -> dict:
    variables = {"input": {"idNumber": person, "year": year, "amount": amount, "channel": channel, "paidAt": paid_at, **extra}}
    return client.data(RECORD, variables, token)["recordPayment"]


# --- 灞桥 2022: village agents take no cash ------------------------------------------


def test_baqiao_village_collectors_take_no_cash_schools_and_the_tax_hall_do(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "baqiao-2022.json", today=date(2021, 11, 20))
    villager, counter, online_payer = (new_person(client, county, name=name) for name in ("村民", "柜台", "网上"))
    student = new_person(client, county, unit="900001", name="学生")
    refused = pay(client, county.tokens["collector"], villager, 2022, "320.00", BAQIAO_DAY)
    assert codes(refused) == ["CHANNEL_CLOSED"] and refused["payment"] is None
    [error] = refused["userErrors"]
    assert error["field"] == ["channel"]
    assert error["message"] == (
        "2022 年度政策不向村（社区）征缴经办人员开放现金代收渠道（仅向学校征缴经办人员开放）；"
        "2021-11-05 可使用的缴费渠道：微信、支付宝、税务APP、手机银行、银行柜台、POS、办税服务厅、学校代收、银行代扣。"
    )
    assert enrollment(client, county.tokens["admin"], villager, 2022)["status"] == "UNPAID"
    # the township task force (街办) is another agent: no cash either
    assert codes(pay(client, county.tokens["township"], villager, 2022, "320.00", BAQIAO_DAY)) == ["CHANNEL_CLOSED"]
    # a school collector takes a student's cash, with a receipt, into the cash book
    school = pay(client, school_collector(client, county), student, 2022, "320.00", BAQIAO_DAY, receipt="BQ-XS-001")
    assert school["userErrors"] == []
    assert (school["payment"]["status"], school["payment"]["channel"], school["payment"]["benefitStart"]) == (
        "ACCEPTED", "CASH_AGENT", "2022-01-01",
    )
    # the villager pays at the tax hall instead; bank counters take cash too
    tax = county.tokens["tax"]
    at_hall = pay(client, tax, villager, 2022, "320.00", BAQIAO_DAY, channel="TAX_HALL", external="BQ-HALL-1")
    assert at_hall["userErrors"] == [] and at_hall["payment"]["status"] == "ACCEPTED"
    assert enrollment(client, county.tokens["admin"], villager, 2022)["status"] == "PAID"
    at_counter = pay(client, tax, counter, 2022, "320.00", BAQIAO_DAY, channel="BANK_COUNTER", external="BQ-CTR-1")
    assert at_counter["payment"]["status"] == "ACCEPTED"
    # a village collector recording a WeChat payment is no cash: open
    online = pay(client, county.tokens["collector"], online_payer, 2022, "320.00", BAQIAO_DAY, channel="WECHAT", external="BQ-WX-1")
    assert online["payment"]["status"] == "ACCEPTED"


def test_baqiao_channel_file_rows_from_counters_and_the_hall_are_taken(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "baqiao-2022.json", today=date(2021, 12, 31))
    a, b, c = (new_person(client, county, name=f"灞桥{n}") for n in range(3))
    rows = [
        (a, "灞桥0", "320.00", "银行柜台", "2021-11-05 09:00:00", "CTR-1"),
        (b, "灞桥1", "320.00", "办税服务厅", "2021-12-31 11:00:00", "HALL-1"),
        (c, "灞桥2", "320.00", "现金", "2021-11-05 09:00:00", "CASH-1"),
    ]
    result = import_payments(client, county.tokens["tax"], 2022, csv_file(rows))
    assert result["accepted"] == 2 and row_codes(result) == [(4, "CASH_NOT_IN_FILES")]


# --- 内乡 2023: after 11-30, online and the tax hall window --------------------------


def test_neixiang_cash_by_a_village_collector_until_11_30_not_on_12_01(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "neixiang-2023.json", today=date(2022, 12, 1))
    on_1130, on_1201, late_evening, hall, wechat = (new_person(client, county, name=f"内乡{n}") for n in range(5))
    collector, tax = county.tokens["collector"], county.tokens["tax"]
    accepted = pay(client, collector, on_1130, 2023, "350.00", date(2022, 11, 30))
    assert accepted["userErrors"] == [] and accepted["payment"]["benefitStart"] == "2023-01-01"
    refused = pay(client, collector, on_1201, 2023, "350.00", date(2022, 12, 1))
    assert refused["userErrors"] == [{
        "field": ["channel"], "code": "CHANNEL_CLOSED",
        "message": "现金代收渠道向村（社区）征缴经办人员开放至 2022-11-30；" + NEIXIANG_OPEN_SINCE_1130,
    }]
    assert enrollment(client, county.tokens["admin"], on_1201, 2023)["status"] == "UNPAID"
    # the Beijing date counts: 23:30 on 11-30 in Beijing is open, 00:30 on 12-01 is not
    # (16:30 UTC on 11-30)
    evening = record(client, collector, late_evening, 2023, "350.00", "CASH_AGENT", "2022-11-30T23:30:00+08:00", receiptNo="NX-2330")
    assert evening["userErrors"] == []
    past_midnight = record(client, collector, on_1201, 2023, "350.00", "CASH_AGENT", "2022-11-30T16:30:00Z", receiptNo="NX-0030")
    assert codes(past_midnight) == ["CHANNEL_CLOSED"]
    # the township task force and the school are field channels too
    assert codes(pay(client, county.tokens["township"], on_1201, 2023, "350.00", date(2022, 12, 1))) == ["CHANNEL_CLOSED"]
    # the tax hall window and WeChat stay open
    at_hall = pay(client, tax, hall, 2023, "350.00", date(2022, 12, 1), channel="TAX_HALL", external="NX-HALL-1201")
    assert at_hall["userErrors"] == [] and at_hall["payment"]["status"] == "ACCEPTED"
    by_wechat = pay(client, collector, wechat, 2023, "350.00", date(2022, 12, 1), channel="WECHAT", external="NX-WX-1201")
    assert by_wechat["userErrors"] == [] and by_wechat["payment"]["status"] == "ACCEPTED"
    again = pay(client, tax, on_1201, 2023, "350.00", date(2022, 12, 1), channel="TAX_HALL", external="NX-HALL-1201b")
    assert again["payment"]["status"] == "ACCEPTED"


def test_a_closed_channel_is_refused_even_for_a_person_already_paid(client, new_county, clock):
    """Not kept as a duplicate: the collector should not have taken the money (as in a file)."""
    county, _ = campaign(client, new_county, clock, "neixiang-2023.json", today=date(2022, 12, 2))
    person = new_person(client, county)
    assert pay(client, county.tokens["collector"], person, 2023, "350.00", date(2022, 11, 1))["userErrors"] == []
    second = pay(client, county.tokens["collector"], person, 2023, "350.00", date(2022, 12, 2))
    assert codes(second) == ["CHANNEL_CLOSED"] and second["refund"] is None


def test_neixiang_channel_file_after_the_concentrated_period(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "neixiang-2023.json", today=date(2022, 12, 5))
    people = [new_person(client, county, name=f"缴费人{n}") for n in range(7)]
    paid_before = people[6]
    assert pay(client, county.tokens["collector"], paid_before, 2023, "350.00", date(2022, 11, 2))["userErrors"] == []
    rows = [
        (people[0], "缴费人0", "350.00", "学校", "2022-11-30 23:59:00", "SCH-1"),  # 11-30: open
        (people[1], "缴费人1", "350.00", "学校", "2022-12-01 00:00:00", "SCH-2"),  # 12-01: closed
        (people[2], "缴费人2", "350.00", "银行柜台", "2022-11-30T16:30:00+00:00", "CTR-1"),  # 12-01 00:30 in Beijing
        (people[3], "缴费人3", "350.00", "微信", "2022-12-01 09:00:00", "WX-1"),
        (people[4], "缴费人4", "350.00", "办税服务厅", "2022-12-01 09:30:00", "HALL-1"),
        (people[5], "缴费人5", "350.00", "POS", "2022-12-03 10:00:00", "POS-1"),
        (paid_before, "缴费人6", "350.00", "银行代扣", "2022-12-04 10:00:00", "DK-1"),  # closed, not a duplicate
    ]
    tax = county.tokens["tax"]
    result = import_payments(client, tax, 2023, csv_file(rows))
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (3, 0, 4)
    assert row_codes(result) == [(3, "CHANNEL_CLOSED"), (4, "CHANNEL_CLOSED"), (7, "CHANNEL_CLOSED"), (8, "CHANNEL_CLOSED")]
    by_row = {e["row"]: e for e in result["rowErrors"]}
    assert by_row[3]["column"] == "渠道"
    assert by_row[3]["message"] == "学校代收渠道向渠道文件开放至 2022-11-30；" + NEIXIANG_OPEN_SINCE_1130
    assert by_row[8]["message"].startswith("银行代扣渠道向渠道文件开放至 2022-11-30；2022-12-04")
    for person, channel in ((people[0], "SCHOOL"), (people[3], "WECHAT"), (people[4], "TAX_HALL")):
        [payment] = payments_of(client, tax, person)
        assert (payment["status"], payment["channel"]) == ("ACCEPTED", channel)
    assert payments_of(client, tax, people[1]) == [] and len(payments_of(client, tax, paid_before)) == 1
    # the same file again: the good rows were imported, the closed ones still are closed
    again = import_payments(client, tax, 2023, csv_file(rows))
    assert (again["alreadyImported"], again["accepted"], again["rejected"]) == (3, 0, 4)


# --- the rules as policy data -------------------------------------------------------


def test_the_rules_are_read_back_as_set(client, new_county, clock):
    county, policy = campaign(client, new_county, clock, "neixiang-2023.json", today=date(2022, 11, 1))
    read = client.data(POLICY, {"year": 2023}, county.tokens["collector"])["yearPolicy"]
    assert read["channelRules"] == [
        {"channels": ["CASH_AGENT", "SCHOOL", "POS", "BANK_COUNTER", "BANK_WITHHOLDING"], "recordedBy": [], "from": None,
         "until": "2022-11-30"},
    ]
    # set whole: a policy without rules opens every channel again
    set_policy(client, county.tokens["medical"], {**policy, "channelRules": None})
    assert client.data(POLICY, {"year": 2023}, county.tokens["admin"])["yearPolicy"]["channelRules"] == []
    clock.travel_to(shanghai(date(2022, 12, 2), 12))
    person = new_person(client, county)
    assert pay(client, county.tokens["collector"], person, 2023, "350.00", date(2022, 12, 1))["userErrors"] == []


def test_bad_rules_are_user_errors_naming_the_rule(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "baqiao-2022.json", today=date(2021, 11, 1))
    rules = [
        {"channels": ["CASH_AGENT"], "recordedBy": ["SCHOOL_COLLECTOR"]},
        {"channels": [], "until": "2021-11-30"},
        {"channels": ["POS"], "from": "2021-12-01", "until": "2021-11-30"},
    ]
    payload = client.data(SET_POLICY, {"input": policy_input("baqiao-2022.json", channelRules=rules)}, county.tokens["admin"])
    errors = payload["setYearPolicy"]["userErrors"]
    assert [(e["code"], e["field"]) for e in errors] == [
        ("INVALID_CHANNEL_RULE", ["channelRules", "1", "channels"]),
        ("INVALID_CHANNEL_RULE", ["channelRules", "2", "until"]),
    ]
    # nothing was written: the rules stay the file's
    read = client.data(POLICY, {"year": 2022}, county.tokens["admin"])["yearPolicy"]
    assert read["channelRules"] == [{"channels": ["CASH_AGENT"], "recordedBy": ["SCHOOL_COLLECTOR"], "from": None, "until": None}]
