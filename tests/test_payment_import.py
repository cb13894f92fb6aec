"""importPayments through GraphQL: channel files with the rules of recordPayment, set-wise."""
from __future__ import annotations

from datetime import date

import pytest

from tests.payment_import_support import (
    IMPORTS,
    csv_file,
    import_payments,
    payments_of,
    row_codes,
    xlsx_file,
)
from tests.payment_support import campaign, new_person, pay, tally_matches_recount
from tests.subsidy_support import enrollment
from tests.support import new_id_number

TODAY = date(2026, 11, 23)
PAID = "2026-11-05 10:30:00"


@pytest.fixture
def county(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=TODAY)
    return county


def people(client, county, count: int, **kw) -> list[str]:
    return [new_person(client, county, name=f"缴费人{n}", **kw) for n in range(count)]


def test_a_channel_file_pays_everyone_in_it(client, county, owner_db):
    a, b, c = people(client, county, 3)
    rows = [
        (a, "缴费人0", "400.00", "微信", PAID, "WX-1"),
        (b, "缴费人1", "400", "支付宝", "2026/11/6 9:05", "ZFB-1"),
        (c, "", "¥400.00", "电子税务局", "2026-11-07T08:00:00+08:00", "ETAX-1"),
    ]
    tax = county.tokens["tax"]
    result = import_payments(client, tax, 2027, csv_file(rows), name="十一月微信支付宝.csv")
    assert result["userErrors"] == [] and result["rowErrors"] == []
    counts = {k: result[k] for k in ("accepted", "duplicates", "alreadyImported", "rejected", "rowsTotal", "dryRun", "written")}
    assert counts == {"accepted": 3, "duplicates": 0, "alreadyImported": 0, "rejected": 0, "rowsTotal": 3,
                      "dryRun": False, "written": True}
    recorded = result["paymentImport"]
    assert recorded["id"] == result["importId"] and recorded["fileName"] == "十一月微信支付宝.csv"
    assert (recorded["accepted"], recorded["importedBy"], len(recorded["checksum"])) == (3, "tax", 64)
    for person, channel, external in ((a, "WECHAT", "WX-1"), (b, "ALIPAY", "ZFB-1"), (c, "TAX_APP", "ETAX-1")):
        [payment] = payments_of(client, tax, person)
        assert (payment["status"], payment["channel"], payment["externalId"], payment["timing"], payment["benefitStart"]) == (
            "ACCEPTED", channel, external, "WINDOW", "2027-01-01",
        )
        assert enrollment(client, county.tokens["admin"], person, 2027)["status"] == "PAID"
    listed = client.data(IMPORTS, {"year": 2027}, tax)["paymentImports"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["id"] == result["importId"]
    assert client.data(IMPORTS, {"year": 2027}, county.tokens["admin"])["paymentImports"]["totalCount"] == 1
    tallies, recount = tally_matches_recount(owner_db, county.id)
    assert tallies == recount


def test_row_errors_name_row_column_and_reason(client, county):
    good, named, due, early, twice, other = people(client, county, 6)
    stranger = new_id_number()  # valid, never registered
    rows = [
        (good, "缴费人0", "400.00", "微信", PAID, "E-1"),  # row 2: fine
        ("411325199001011234", "某人", "400.00", "微信", PAID, "E-2"),  # bad check character
        (stranger, "某人", "400.00", "微信", PAID, "E-3"),
        (named, "别人", "400.00", "微信", PAID, "E-4"),
        (due, "缴费人2", "350.00", "微信", PAID, "E-5"),
        (due, "缴费人2", "400.00", "飞鸽传书", PAID, "E-6"),
        (due, "缴费人2", "400.00", "微信", "昨天下午", "E-7"),
        (early, "缴费人3", "400.00", "微信", "2026-08-20 10:00", "E-8"),
        (early, "缴费人3", "400.00", "微信", PAID, ""),
        (twice, "缴费人4", "400.00", "微信", PAID, "E-10"),
        (other, "缴费人5", "400.00", "微信", PAID, "E-10"),  # the same 流水号, another person
        (other, "缴费人5", "400.00", "现金", PAID, "E-12"),
        (other, "缴费人5", "abc", "微信", PAID, "E-13"),
        (other, "缴费人5", "400.00", "微信", "2026-12-01 10:00", "E-14"),  # after the business clock
    ]
    result = import_payments(client, county.tokens["tax"], 2027, csv_file(rows))
    errors = [(e["row"], e["column"], e["code"]) for e in result["rowErrors"]]
    assert errors == [
        (3, "证件号码", "INVALID_ID_CHECKSUM"),
        (4, "证件号码", "PERSON_NOT_FOUND"),
        (5, "姓名", "NAME_MISMATCH"),
        (6, "金额", "AMOUNT_MISMATCH"),
        (7, "渠道", "UNKNOWN_CHANNEL"),
        (8, "缴费时间", "INVALID_PAID_AT"),
        (9, "缴费时间", "WINDOW_NOT_OPEN"),
        (10, "流水号", "MISSING_EXTERNAL_ID"),
        (11, "流水号", "EXTERNAL_ID_REUSED_IN_FILE"),
        (12, "流水号", "EXTERNAL_ID_REUSED_IN_FILE"),
        (13, "渠道", "CASH_NOT_IN_FILES"),
        (14, "金额", "INVALID_AMOUNT"),
        (15, "缴费时间", "PAID_AT_IN_FUTURE"),
    ]
    messages = {e["row"]: e["message"] for e in result["rowErrors"]}
    assert messages[6] == "应缴金额为 400.00 元，不是 350.00 元。"
    assert "2026-09-01" in messages[9]
    assert messages[11] == "相同流水号在第 12 行对应不同的人员、金额或时间。"
    assert (result["accepted"], result["rejected"], result["rowsTotal"]) == (1, 13, 14)
    assert enrollment(client, county.tokens["admin"], due, 2027)["status"] == "UNPAID"
    assert payments_of(client, county.tokens["tax"], twice) == []


def test_reimporting_a_file_changes_nothing(client, county, owner_db):
    a, b = people(client, county, 2)
    data = csv_file([(a, "", "400.00", "微信", PAID, "WX-9"), (b, "", "400.00", "微信", PAID, "WX-10")])
    tax = county.tokens["tax"]
    assert import_payments(client, tax, 2027, data)["accepted"] == 2
    again = import_payments(client, tax, 2027, data)
    assert (again["accepted"], again["duplicates"], again["alreadyImported"], again["rejected"]) == (0, 0, 2, 0)
    assert [p["status"] for p in payments_of(client, tax, a)] == ["ACCEPTED"]
    # the same 流水号 with another amount or person is a conflict, not a new payment
    changed = import_payments(client, tax, 2027, csv_file([(b, "", "400.00", "微信", PAID, "WX-9")]))
    assert row_codes(changed) == [(2, "EXTERNAL_ID_CONFLICT")]
    # a payment recorded one by one with that 流水号 is recognised too
    replay = pay(client, tax, a, 2027, "400.00", date(2026, 11, 5), channel="WECHAT", external="WX-9")
    assert replay["payment"]["status"] == "ACCEPTED" and replay["refund"] is None
    assert client.data(IMPORTS, {"year": 2027}, tax)["paymentImports"]["totalCount"] == 3
    tallies, recount = tally_matches_recount(owner_db, county.id)
    assert tallies == recount


def test_duplicates_are_kept_and_refunded(client, county, owner_db):
    paid_before, twice_in_file = people(client, county, 2)
    tax = county.tokens["tax"]
    pay(client, county.tokens["collector"], paid_before, 2027, "400.00", date(2026, 11, 1), receipt="NX-1")
    rows = [
        (paid_before, "", "400.00", "支付宝", PAID, "A-1"),
        (twice_in_file, "", "400.00", "微信", "2026-11-06 10:00", "W-2"),  # later: the duplicate
        (twice_in_file, "", "400.00", "手机银行", "2026-11-05 09:00", "B-2"),  # paid first: accepted
    ]
    result = import_payments(client, tax, 2027, csv_file(rows))
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (1, 2, 0)
    first, second = payments_of(client, tax, paid_before)
    assert (first["status"], second["status"]) == ("ACCEPTED", "DUPLICATE")
    assert second["refunds"] == [{"reason": "DUPLICATE_PAYMENT", "amount": "400.00", "status": "REQUESTED", "automatic": True}]
    by_channel = {p["channel"]: p for p in payments_of(client, tax, twice_in_file)}
    assert by_channel["BANK_APP"]["status"] == "ACCEPTED" and by_channel["BANK_APP"]["refunds"] == []
    assert by_channel["WECHAT"]["status"] == "DUPLICATE" and len(by_channel["WECHAT"]["refunds"]) == 1
    assert enrollment(client, county.tokens["admin"], twice_in_file, 2027)["paidAmount"] == "400.00"
    tallies, recount = tally_matches_recount(owner_db, county.id)
    assert tallies == recount


def test_a_duplicate_is_kept_even_with_a_wrong_amount_but_a_first_payment_is_not(client, county):
    person, = people(client, county, 1)
    rows = [
        (person, "", "350.00", "微信", "2026-11-04 10:00", "W-1"),  # first, wrong amount: refused
        (person, "", "400.00", "微信", "2026-11-05 10:00", "W-2"),  # accepted
        (person, "", "350.00", "微信", "2026-11-06 10:00", "W-3"),  # after: money arrived, kept and refunded
    ]
    result = import_payments(client, county.tokens["tax"], 2027, csv_file(rows))
    assert row_codes(result) == [(2, "AMOUNT_MISMATCH")]
    assert [(p["status"], p["amount"]) for p in payments_of(client, county.tokens["tax"], person)] == [
        ("ACCEPTED", "400.00"), ("DUPLICATE", "350.00"),
    ]


def test_the_same_line_twice_is_one_payment(client, county):
    person, = people(client, county, 1)
    line = (person, "", "400.00", "微信", PAID, "W-7")
    result = import_payments(client, county.tokens["tax"], 2027, csv_file([line, line]))
    assert (result["accepted"], result["alreadyImported"], result["duplicates"], result["rejected"]) == (1, 1, 0, 0)


def test_dry_run_reports_and_writes_nothing(client, county):
    a, b = people(client, county, 2)
    rows = [(a, "", "400.00", "微信", PAID, "D-1"), (b, "", "300.00", "微信", PAID, "D-2")]
    tax = county.tokens["tax"]
    dry = import_payments(client, tax, 2027, csv_file(rows), dryRun=True)
    assert (dry["dryRun"], dry["written"], dry["accepted"], dry["rejected"], dry["importId"]) == (True, False, 1, 1, None)
    assert row_codes(dry) == [(3, "AMOUNT_MISMATCH")]
    assert payments_of(client, tax, a) == []
    assert client.data(IMPORTS, {"year": 2027}, tax)["paymentImports"]["totalCount"] == 0


def test_atomic_import_writes_nothing_when_a_row_fails(client, county):
    a, b = people(client, county, 2)
    tax = county.tokens["tax"]
    rows = [(a, "", "400.00", "微信", PAID, "T-1"), (b, "", "300.00", "微信", PAID, "T-2")]
    result = import_payments(client, tax, 2027, csv_file(rows), atomic=True)
    assert [e["code"] for e in result["userErrors"]] == ["ROW_ERRORS"]
    assert row_codes(result) == [(3, "AMOUNT_MISMATCH")]
    assert (result["accepted"], result["rejected"], result["written"], result["importId"]) == (0, 1, False, None)
    assert payments_of(client, tax, a) == []
    assert client.data(IMPORTS, {"year": 2027}, tax)["paymentImports"]["totalCount"] == 0
    fixed = [(a, "", "400.00", "微信", PAID, "T-1"), (b, "", "400.00", "微信", PAID, "T-2")]
    assert import_payments(client, tax, 2027, csv_file(fixed), atomic=True)["accepted"] == 2


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"\x00\x01garbage" * 10, "pay.xlsx", "UNREADABLE_FILE"),
        (b"", "pay.csv", "UNREADABLE_FILE"),
        (b"%PDF-1.4", "pay.pdf", "UNREADABLE_FILE"),
        ("姓名,金额,渠道,缴费时间,流水号\n张三,400,微信,2026-11-05,X\n".encode(), "pay.csv", "NO_ID_COLUMN"),
        ("证件号码,姓名,渠道,缴费时间,流水号\n".encode(), "pay.csv", "NO_AMOUNT_COLUMN"),
        ("证件号码,金额\n".encode(), "pay.csv", "MISSING_COLUMNS"),
        (",".join(("证件号码", "姓名", "金额", "渠道", "缴费时间", "流水号")).encode() + b"\n", "pay.csv", "EMPTY_FILE"),
    ],
)
def test_a_file_that_cannot_be_read_gives_one_error(client, county, data, name, code):
    result = import_payments(client, county.tokens["tax"], 2027, data, name=name)
    assert [e["code"] for e in result["userErrors"]] == [code] and result["rowErrors"] == []
    assert client.data(IMPORTS, {"year": 2027}, county.tokens["tax"])["paymentImports"]["totalCount"] == 0


def test_xlsx_english_headers_and_gbk_csv(client, county):
    a, b, c = people(client, county, 3)
    tax = county.tokens["tax"]
    english = ("ID number", "Name", "Amount", "Channel", "Paid at", "External ID")
    from datetime import datetime

    book = xlsx_file([(a, "缴费人0", 400, "POS", datetime(2026, 11, 5, 10, 30), 20261105001)], header=english)
    result = import_payments(client, tax, 2027, book, name="pos.xlsx")
    assert result["rowErrors"] == [] and result["accepted"] == 1
    assert payments_of(client, tax, a)[0]["externalId"] == "20261105001"
    gbk = csv_file([(b, "缴费人1", "400.00", "银行代扣", PAID, "DK-1"), (c, "缴费人2", "400.00", "办税服务厅", PAID, "HALL-1")],
                   encoding="gb18030")
    result = import_payments(client, tax, 2027, gbk, name="代扣.csv")
    assert result["rowErrors"] == [] and result["accepted"] == 2
    assert [payments_of(client, tax, n)[0]["channel"] for n in (b, c)] == ["BANK_WITHHOLDING", "TAX_HALL"]


def test_only_the_tax_bureau_imports(client, county):
    person, = people(client, county, 1)
    data = csv_file([(person, "", "400.00", "微信", PAID, "F-1")])
    for role in ("collector", "township", "civil", "medical"):
        result = import_payments(client, county.tokens[role], 2027, data)
        assert [e["code"] for e in result["userErrors"]] == ["FORBIDDEN"], role
    assert payments_of(client, county.tokens["tax"], person) == []
    no_policy = import_payments(client, county.tokens["tax"], 2031, data)
    assert [e["code"] for e in no_policy["userErrors"]] == ["NO_POLICY"]
    listing = client.gql(IMPORTS, {"year": 2027}, county.tokens["collector"])
    assert listing["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_another_countys_tax_bureau_finds_nobody_here(client, county, new_county, clock):
    person, = people(client, county, 1)
    other, _ = campaign(client, new_county, clock, today=TODAY)
    data = csv_file([(person, "", "400.00", "微信", PAID, "X-1")])
    result = import_payments(client, other.tokens["tax"], 2027, data)
    assert row_codes(result) == [(2, "PERSON_NOT_FOUND")] and result["accepted"] == 0
    assert payments_of(client, county.tokens["tax"], person) == []
    assert enrollment(client, county.tokens["admin"], person, 2027)["status"] == "UNPAID"
    assert client.data(IMPORTS, {"year": 2027}, county.tokens["tax"])["paymentImports"]["totalCount"] == 0
    # and its import is not visible here by node id either
    theirs = client.data(IMPORTS, {"year": 2027}, other.tokens["tax"])["paymentImports"]["edges"][0]["node"]["id"]
    assert client.data("query($id: ID!) { node(id: $id) { id } }", {"id": theirs}, county.tokens["tax"])["node"] is None


def test_fully_subsidised_persons_owe_nothing(client, county):
    from tests.subsidy_support import csv_list, upload

    person = new_person(client, county, name="特困户")
    upload(client, county.tokens["civil_affairs"], 2027, "tekun", csv_list([("特困户", person, "张庄村", None, None)]))
    result = import_payments(client, county.tokens["tax"], 2027, csv_file([(person, "", "400.00", "微信", PAID, "S-1")]))
    assert row_codes(result) == [(2, "NOTHING_DUE")]


def test_the_payment_template_downloads(client):
    import io

    import openpyxl

    response = client.http.get("/templates/payment-file.xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[1]][:6] == ["证件号码", "姓名", "金额", "渠道", "缴费时间", "流水号"]
