"""Row error reports: upload with errors → download the rejected rows (original cells,
原文件行号, 错误原因) → fix them in the sheet → upload again → accepted."""
from __future__ import annotations

import io
from datetime import date

import httpx
import openpyxl
import pytest

from tests.conftest import ALL_DEPARTMENTS
from tests.payment_import_support import csv_file, import_history
from tests.payment_support import campaign, new_person
from tests.subsidy_support import campaign_day, policy_input, register_person, set_policy
from tests.support import GraphQLClient, new_id_number

UPLOAD = """
mutation($input: UploadSubsidyListInput!) {
  uploadSubsidyList(input: $input) {
    batch { rowsTotal rowsAccepted rowsRejected }
    rowErrors { row column code message }
    rowReport { id kind fileName rowsRejected rowsListed url }
    userErrors { field code message }
  }
}"""
IMPORT = """
mutation($input: ImportPaymentsInput!) {
  importPayments(input: $input) {
    accepted rejected
    rowErrors { row code }
    rowReport { kind rowsRejected url }
    userErrors { code }
  }
}"""
HISTORY = """
mutation($input: ImportEnrollmentHistoryInput!) {
  importEnrollmentHistory(input: $input) {
    accepted rejected
    rowReport { kind rowsRejected url }
    userErrors { code }
  }
}"""
HEADER = ["序号", "姓名", "证件号码", "村/社区", "认定日期", "联系人"]


def workbook(header: list, rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(client: GraphQLClient, token: str, data: bytes, name: str = "低保名单.xlsx", year: int = 2023) -> dict:
    variables = {"input": {"year": year, "category": "dibao", "file": None}}
    body = client.upload(UPLOAD, variables, "variables.input.file", name, data, token)
    assert not body.get("errors"), body
    return body["data"]["uploadSubsidyList"]


def fetch(client: GraphQLClient, url: str, token: str | None, language: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if language:
        headers["Accept-Language"] = language
    return client.http.get(url, headers=headers)


def sheet(response: httpx.Response) -> list[list]:
    assert response.status_code == 200, response.text
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    return [[c.value for c in row] for row in book.active.iter_rows()]


@pytest.fixture
def county(client, new_county, clock):
    county = new_county(ALL_DEPARTMENTS)
    policy = policy_input("neixiang-2023.json")
    clock.travel_to(campaign_day(policy))
    set_policy(client, county.tokens["medical"], policy)
    return county


def bad_check(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def test_subsidy_list_round_trip_with_the_report_itself(client, county):
    numbers = [register_person(client, county, date(1960, 1, 1), f"低保{i}") for i in range(5)]
    rows = [[i + 1, f"低保{i}", n, "张庄村", "2022-11-01", "@SUM(A1)"] for i, n in enumerate(numbers)]
    rows[1][2] = bad_check(numbers[1])  # row 3: check character
    rows[3][1] = "别人"  # row 5: not the registered person's name
    medical = county.tokens["medical"]  # sees whole ID numbers
    first = upload(client, medical, workbook(HEADER, rows))
    assert first["batch"]["rowsRejected"] == 2
    report = first["rowReport"]
    assert (report["kind"], report["fileName"], report["rowsRejected"], report["rowsListed"]) == ("SUBSIDY_LIST", "低保名单.xlsx", 2, 2)
    got = sheet(fetch(client, report["url"], medical))
    assert got[0] == [*HEADER, "原文件行号", "错误原因"]
    assert [r[:6] for r in got[1:]] == [[str(v) for v in rows[1]], [str(v) for v in rows[3]]]
    assert [r[6] for r in got[1:]] == [3, 5]
    assert got[1][7] == "身份证号码校验位不正确。"
    assert "姓名" in got[2][7]
    assert [m["message"] for m in first["rowErrors"]] == [r[7] for r in got[1:]]
    # every cell is text: the formula-looking 联系人 came back as text, not a formula
    book = openpyxl.load_workbook(io.BytesIO(fetch(client, report["url"], medical).content))
    assert {c.data_type for row in book.active.iter_rows() for c in row} == {"s", "n"}
    assert got[1][5] == "@SUM(A1)"
    # fixed in the report, put back in the file by 原文件行号 (a list upload is a whole version)
    got[1][2], got[2][1] = numbers[1], "低保3"
    for report_row in got[1:]:
        rows[report_row[6] - 2] = [int(report_row[0]), *report_row[1:6]]
    whole = upload(client, medical, workbook(HEADER, rows))
    assert whole["userErrors"] == [] and whole["batch"]["rowsAccepted"] == 5 and whole["rowReport"] is None


def test_a_masked_department_gets_masked_numbers_and_its_own_row_numbers(client, county):
    numbers = [register_person(client, county, date(1958, 3, 4), f"民政{i}") for i in range(3)]
    rows = [[i + 1, f"民政{i}", n, "张庄村", "2022-11-01", "1958-03-04"] for i, n in enumerate(numbers)]
    rows[2][2] = bad_check(numbers[2])
    civil = county.tokens["civil_affairs"]  # 民政: masked ID numbers
    header = [*HEADER[:5], "出生日期"]
    result = upload(client, civil, workbook(header, rows))
    got = sheet(fetch(client, result["rowReport"]["url"], civil))
    # only the columns the upload understood (no 序号, no 出生日期), the number masked
    assert got[0] == ["姓名", "证件号码", "村/社区", "认定日期", "原文件行号", "错误原因"]
    masked = got[1][1]
    assert masked.startswith(numbers[2][:6]) and "*" in masked and numbers[2][6:14] not in masked
    assert not any("1958" in str(cell) for row in got for cell in row)
    assert got[1][4] == 4
    rows[2][2] = numbers[2]  # fixed in the department's own file, found by its row number
    assert upload(client, civil, workbook(header, rows))["batch"]["rowsAccepted"] == 3


def test_the_batch_rights_guard_the_report(client, county, county_b):
    number = register_person(client, county, date(1960, 1, 1), "权限")
    result = upload(client, county.tokens["civil_affairs"], workbook(HEADER, [[1, "权限", bad_check(number), "张庄村", "", ""]]))
    url = result["rowReport"]["url"]
    assert fetch(client, url, None).status_code == 401
    for who in ("collector", "rural_revitalization"):  # no right to read the 低保 list
        refused = fetch(client, url, county.tokens[who])
        assert refused.status_code == 404, who
        assert refused.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert fetch(client, url, county_b.tokens["admin"]).status_code == 404  # another county's report
    assert sheet(fetch(client, url, county.tokens["admin"]))[1][1] == "权限"
    english = sheet(fetch(client, url, county.tokens["admin"], language="en"))
    assert english[0][-2:] == ["Row in the file", "Reason"] and english[1][-1] == "The ID number's check character does not match."
    assert fetch(client, "/downloads/row-reports/999999999.xlsx", county.tokens["admin"]).status_code == 404


def test_payment_import_round_trip(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    tax = county.tokens["tax"]
    people = [new_person(client, county, name=f"缴费人{n}") for n in range(3)]
    rows = [[p, f"缴费人{n}", "400.00", "微信", "2026-11-05 10:30:00", f"WX-{n}"] for n, p in enumerate(people)]
    rows[1][2] = "350.00"  # the amount due is 400
    header = ["证件号码", "姓名", "金额", "渠道", "缴费时间", "流水号"]
    first = client.upload(IMPORT, {"input": {"year": 2027, "file": None}}, "variables.input.file", "channel.csv",
                          csv_file([tuple(r) for r in rows], header=tuple(header)), tax)["data"]["importPayments"]
    assert (first["accepted"], first["rejected"]) == (2, 1)
    body = client.upload(IMPORT, {"input": {"year": 2027, "file": None, "dryRun": True}}, "variables.input.file",
                         "again.csv", csv_file([tuple(rows[1])], header=tuple(header)), tax)
    assert body["data"]["importPayments"]["rowReport"]["kind"] == "PAYMENT_IMPORT"  # a dry run has one too
    report = sheet(fetch(client, body["data"]["importPayments"]["rowReport"]["url"], tax))
    assert report[1][:6] == rows[1] and report[1][7] == "应缴金额为 400.00 元，不是 350.00 元。"
    fixed = [*report[1][:2], "400.00", *report[1][3:]]
    again = client.upload(IMPORT, {"input": {"year": 2027, "file": None}}, "variables.input.file", "fixed.xlsx",
                          workbook(report[0], [fixed]), tax)["data"]["importPayments"]
    assert (again["accepted"], again["rejected"], again["rowReport"]) == (1, 0, None)
    assert fetch(client, first_report_url(first), county.tokens["collector"]).status_code == 404


def first_report_url(result: dict) -> str:
    return result["rowReport"]["url"]


def test_history_import_round_trip(client, county):
    medical = county.tokens["medical"]
    good, bad = new_id_number(), new_id_number()
    header = ("证件号码", "姓名", "年度", "参保状态")
    rows = [(good, "甲", "2021", "已参保"), (bad, "乙", "1899", "已参保")]
    body = client.upload(HISTORY, {"input": {"file": None}}, "variables.input.file", "history.csv",
                         csv_file(rows, header=header), medical)["data"]["importEnrollmentHistory"]
    assert (body["accepted"], body["rejected"], body["rowReport"]["kind"]) == (1, 1, "HISTORY_IMPORT")
    report = sheet(fetch(client, body["rowReport"]["url"], medical))
    assert report[1][:4] == list(rows[1]) and "年度" in report[1][5]
    report[1][2] = "2022"
    fixed = import_history(client, medical, workbook(report[0], [report[1]]), name="history.xlsx")
    assert (fixed["accepted"], fixed["rejected"]) == (1, 0)
    assert fetch(client, body["rowReport"]["url"], county.tokens["civil_affairs"]).status_code == 404
