"""Rosters from other departments through GraphQL: uploaded by 医保局, matched, findings
with the documents' refund reasons, versions that withdraw what they no longer say, bad
files refused whole, scope."""
from __future__ import annotations

from datetime import date

import pytest

from tests.payment_import_support import csv_file
from tests.payment_support import campaign, new_person, pay, request_refund
from tests.quota_support import UNPAID
from tests.support import new_id_number
from tests.test_downloads import column, download, sheet_rows

YEAR = 2027
DAY = date(2026, 11, 5)
HEADER = ("证件号码", "姓名", "日期")

UPLOAD = """
mutation($input: UploadRosterInput!) {
  uploadRoster(input: $input) {
    batch { id kind year version rowsTotal rowsAccepted rowsRejected matched }
    rowsTotal rowsAccepted rowsRejected matched eventsRecorded eventsWithdrawn dryRun
    rowErrors { row column code message }
    rowReport { url rowsRejected }
    userErrors { field code message }
  }
}"""

FINDINGS = """
query($year: Int!, $kind: RosterKind, $unit: ID, $first: Int, $after: String) {
  rosterFindings(year: $year, kind: $kind, unit: $unit, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id kind eventDate paid refundOffered person { idNumber name unit { code } } } }
  }
}"""

EVENTS = "query($id: String!) { person(idNumber: $id) { events { kind date withdrawn } } }"
NEVER = "query($year: Int!) { neverEnrolled(year: $year) { totalCount edges { node { idNumber } } } }"


@pytest.fixture
def county(client, new_county, clock):
    """张庄村 (100201): 王职工 paid for 2027, 李死亡 and 赵外地 unpaid, 钱居民 unpaid;
    李营村 (300201): 孙死亡 unpaid."""
    county, _ = campaign(client, new_county, clock, today=DAY)
    people = {
        "employee": new_person(client, county, name="王职工"),
        "dead": new_person(client, county, name="李死亡"),
        "elsewhere": new_person(client, county, name="赵外地"),
        "resident": new_person(client, county, name="钱居民"),
        "dead_other": new_person(client, county, unit="300201", name="孙死亡"),
    }
    paid = pay(client, county.tokens["tax"], people["employee"], YEAR, "400.00", DAY, channel="TAX_HALL")
    assert paid["userErrors"] == []
    people["payment"] = paid["payment"]["id"]
    return county, people


def upload(client, token: str, kind: str, rows: list[tuple], dry_run: bool = False, year: int = YEAR,
           header: tuple = HEADER) -> dict:
    variables = {"input": {"kind": kind, "year": year, "file": None, "dryRun": dry_run}}
    body = client.upload(UPLOAD, variables, "variables.input.file", "名册.csv", csv_file(rows, header=header), token)
    assert not body.get("errors"), body
    return body["data"]["uploadRoster"]


def findings(client, token: str, kind: str | None = None, unit: str | None = None) -> dict[str, dict]:
    data = client.data(FINDINGS, {"year": YEAR, "kind": kind, "unit": unit, "first": 100}, token)["rosterFindings"]
    assert data["totalCount"] == len(data["edges"])
    return {e["node"]["person"]["idNumber"]: e["node"] for e in data["edges"]}


def unpaid(client, token: str) -> set[str]:
    data = client.data(UNPAID, {"year": YEAR, "first": 100}, token)["unpaidPersons"]
    return {e["node"]["idNumber"] for e in data["edges"]}


def test_each_roster_kind_gives_findings_with_the_documents_refund_reasons(client, county):
    county, people = county
    medical = county.tokens["medical"]
    stranger = new_id_number()  # on the roster, not registered here: accepted, not matched
    result = upload(client, medical, "EMPLOYEE_INSURANCE",
                    [(people["employee"], "王职工", "2026-10-01"), (stranger, "", "2026-03-01")])
    assert result["userErrors"] == [] and result["rowErrors"] == []
    assert (result["rowsTotal"], result["rowsAccepted"], result["matched"], result["eventsRecorded"]) == (2, 2, 1, 1)
    assert (result["batch"]["kind"], result["batch"]["version"], result["dryRun"]) == ("EMPLOYEE_INSURANCE", 1, False)

    assert upload(client, medical, "DECEASED", [(people["dead"], "李死亡", "2026年10月20日")])["matched"] == 1
    assert upload(client, medical, "RESIDENT_ELSEWHERE", [(people["elsewhere"], "", "2026/09/15")])["matched"] == 1

    found = findings(client, county.tokens["admin"])
    assert set(found) == {people["employee"], people["dead"], people["elsewhere"]}
    # 2: joined employee insurance, paid before the window closed → the refund reason is offered
    assert (found[people["employee"]]["paid"], found[people["employee"]]["refundOffered"]) == (True, "JOINED_EMPLOYEE_INSURANCE")
    # 3: died, nothing paid → nothing to refund; insured elsewhere, nothing paid
    assert (found[people["dead"]]["kind"], found[people["dead"]]["eventDate"], found[people["dead"]]["refundOffered"]) == (
        "DECEASED", "2026-10-20", None)
    assert found[people["elsewhere"]]["kind"] == "RESIDENT_ELSEWHERE"
    assert set(findings(client, county.tokens["admin"], kind="DECEASED")) == {people["dead"]}

    # the life events are recorded: off the unpaid list and the 漏保 list, in the person's events
    assert unpaid(client, county.tokens["admin"]) == {people["resident"], people["dead_other"]}
    never = client.data(NEVER, {"year": YEAR}, county.tokens["admin"])["neverEnrolled"]
    assert {e["node"]["idNumber"] for e in never["edges"]} == {people["resident"], people["dead_other"]}
    events = client.data(EVENTS, {"id": people["dead"]}, county.tokens["admin"])["person"]["events"]
    assert events == [{"kind": "DECEASED", "date": "2026-10-20", "withdrawn": False}]

    # the offered reason is one 医保局 can use: the employee's payment is refunded for it
    refund = request_refund(client, medical, people["payment"], "JOINED_EMPLOYEE_INSURANCE", eventDate="2026-10-01")
    assert refund["userErrors"] == [] and refund["refund"]["reason"] == "JOINED_EMPLOYEE_INSURANCE"


def test_a_new_version_withdraws_what_it_no_longer_says(client, county):
    county, people = county
    medical = county.tokens["medical"]
    first = upload(client, medical, "DECEASED", [(people["dead"], "李死亡", "2026-10-20"),
                                                 (people["dead_other"], "孙死亡", "2026-10-21")])
    assert (first["matched"], first["eventsRecorded"]) == (2, 2)
    assert unpaid(client, county.tokens["admin"]) == {people["elsewhere"], people["resident"]}

    # 公安 corrects its list: 李死亡 was listed by mistake, 孙死亡 died a day later
    second = upload(client, medical, "DECEASED", [(people["dead_other"], "孙死亡", "2026-10-22")])
    assert (second["batch"]["version"], second["eventsWithdrawn"], second["eventsRecorded"]) == (2, 2, 1)
    assert set(findings(client, county.tokens["admin"])) == {people["dead_other"]}
    assert unpaid(client, county.tokens["admin"]) == {people["dead"], people["elsewhere"], people["resident"]}
    events = client.data(EVENTS, {"id": people["dead_other"]}, county.tokens["admin"])["person"]["events"]
    assert [(e["date"], e["withdrawn"]) for e in events] == [("2026-10-21", True), ("2026-10-22", False)]

    # the same version again changes no event
    again = upload(client, medical, "DECEASED", [(people["dead_other"], "孙死亡", "2026-10-22")])
    assert (again["batch"]["version"], again["eventsWithdrawn"], again["eventsRecorded"]) == (3, 0, 0)
    assert findings(client, county.tokens["admin"])[people["dead_other"]]["eventDate"] == "2026-10-22"


def test_an_event_recorded_by_hand_is_not_withdrawn_by_a_roster(client, county):
    county, people = county
    record = """mutation($input: RecordPersonEventInput!) { recordPersonEvent(input: $input) { userErrors { code } } }"""
    person_id = client.data("query($id: String!) { person(idNumber: $id) { id } }", {"id": people["dead"]},
                            county.tokens["admin"])["person"]["id"]
    recorded = client.data(record, {"input": {"person": person_id, "kind": "DECEASED", "date": "2026-10-19"}},
                           county.tokens["collector"])["recordPersonEvent"]
    assert recorded["userErrors"] == []
    first = upload(client, county.tokens["medical"], "DECEASED", [(people["dead"], "李死亡", "2026-10-19")])
    assert (first["matched"], first["eventsRecorded"]) == (1, 0)
    second = upload(client, county.tokens["medical"], "DECEASED", [(people["dead_other"], "孙死亡", "2026-10-22")])
    assert second["eventsWithdrawn"] == 0
    events = client.data(EVENTS, {"id": people["dead"]}, county.tokens["admin"])["person"]["events"]
    assert events == [{"kind": "DECEASED", "date": "2026-10-19", "withdrawn": False}]


def test_a_bad_roster_is_refused_whole_with_its_rows_named(client, county):
    county, people = county
    medical = county.tokens["medical"]
    good = upload(client, medical, "DECEASED", [(people["dead"], "李死亡", "2026-10-20")])
    assert good["userErrors"] == []
    bad_checksum = people["resident"][:-1] + ("0" if people["resident"][-1] != "0" else "1")
    rows = [
        (people["dead_other"], "孙死亡", "2026-10-21"),  # row 2: fine
        (bad_checksum, "钱居民", "2026-10-21"),  # row 3: not an ID number
        (people["elsewhere"], "赵外地", "十月"),  # row 4: not a date
        (people["resident"], "钱居民", "2027-01-05"),  # row 5: after today
        (people["employee"], "张三", "2026-10-01"),  # row 6: the county knows another name for this number
        (people["dead_other"], "孙死亡", "2026-10-21"),  # row 7: again
        (people["elsewhere"], "赵外地", "1970-01-01"),  # row 8: before the birth (1980)
    ]
    result = upload(client, medical, "DECEASED", rows)
    assert [e["code"] for e in result["userErrors"]] == ["ROW_ERRORS"]
    assert "整份名册未导入" in result["userErrors"][0]["message"] and "6" in result["userErrors"][0]["message"]
    assert result["batch"] is None and (result["rowsTotal"], result["rowsRejected"]) == (7, 6)
    assert [(e["row"], e["column"], e["code"]) for e in result["rowErrors"]] == [
        (3, "证件号码", "INVALID_ID_CHECKSUM"), (4, "日期", "INVALID_DATE"), (5, "日期", "EVENT_IN_FUTURE"),
        (6, "姓名", "NAME_MISMATCH"), (7, "证件号码", "DUPLICATE_IN_FILE"), (8, "日期", "EVENT_BEFORE_BIRTH"),
    ]
    assert result["rowReport"]["rowsRejected"] == 6
    report = client.http.get(result["rowReport"]["url"], headers={"Authorization": f"Bearer {medical}"})
    assert report.status_code == 200
    # nothing written: version 1 stays in force
    assert set(findings(client, county.tokens["admin"])) == {people["dead"]}
    assert people["dead_other"] in unpaid(client, county.tokens["admin"])

    missing_date = upload(client, medical, "DECEASED", [(people["dead_other"], "孙死亡")], header=("证件号码", "姓名"))
    assert [(e["field"], e["code"]) for e in missing_date["userErrors"]] == [(["file"], "MISSING_COLUMNS")]


def test_a_dry_run_matches_and_writes_nothing(client, county):
    county, people = county
    result = upload(client, county.tokens["medical"], "EMPLOYEE_INSURANCE", [(people["employee"], "", "2026-10-01")],
                    dry_run=True)
    assert (result["dryRun"], result["matched"], result["batch"], result["eventsRecorded"]) == (True, 1, None, 0)
    assert findings(client, county.tokens["admin"]) == {}


def test_who_uploads_and_who_sees_which_findings(client, county, county_b):
    county, people = county
    for role in ("tax", "civil_affairs", "collector", "township", "admin"):
        body = client.upload(UPLOAD, {"input": {"kind": "DECEASED", "year": YEAR, "file": None}}, "variables.input.file",
                             "x.csv", csv_file([(people["dead"], "", "2026-10-20")], header=HEADER), county.tokens[role])
        assert [e["code"] for e in body["data"]["uploadRoster"]["userErrors"]] == ["FORBIDDEN"], role
    upload(client, county.tokens["medical"], "DECEASED", [(people["dead"], "", "2026-10-20"),
                                                          (people["dead_other"], "", "2026-10-21")])
    assert set(findings(client, county.tokens["collector"])) == {people["dead"]}
    assert set(findings(client, county.tokens["township"])) == {people["dead"]}
    assert set(findings(client, county.tokens["medical"])) == {people["dead"], people["dead_other"]}
    assert findings(client, county_b.tokens["admin"]) == {}
    body = client.gql(FINDINGS, {"year": YEAR, "unit": county.units["100201"]}, county_b.tokens["admin"])
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # the same roster uploaded by another county matches nothing there
    other = upload(client, county_b.tokens["medical"], "DECEASED", [(people["dead"], "", "2026-10-20")])
    assert (other["matched"], other["eventsRecorded"]) == (0, 0)
    assert set(findings(client, county.tokens["medical"])) == {people["dead"], people["dead_other"]}


def test_the_township_downloads_its_findings(client, county):
    county, people = county
    upload(client, county.tokens["medical"], "DECEASED", [(people["dead"], "李死亡", "2026-10-20"),
                                                          (people["dead_other"], "孙死亡", "2026-10-21")])
    upload(client, county.tokens["medical"], "EMPLOYEE_INSURANCE", [(people["employee"], "王职工", "2026-10-01")])
    title, header, body = sheet_rows(download(client, county.tokens["township"], county.code + "100", "roster-findings"))
    assert "部门名册比对人员名单" in title
    assert sorted(column(header, body, "姓名")) == ["李死亡", "王职工"]
    assert sorted(column(header, body, "名册")) == ["死亡人员", "职工医保参保人员"]
    assert sorted(column(header, body, "本年度状态")) == ["已缴费", "无需参保"]


@pytest.mark.parametrize(("label", "data", "code"), [
    ("empty", b"", "UNREADABLE_FILE"),
    ("header only", "证件号码,姓名,日期\n".encode(), "EMPTY_FILE"),
    ("NUL bytes", "证件号码,姓名,日期\n\x00,\x00,\x00\n".encode(), "UNREADABLE_FILE"),
    ("not a spreadsheet", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "UNREADABLE_FILE"),
    ("every row wrong", "证件号码,姓名,日期\n1,a,b\n=1+1,=HYPERLINK(\"x\"),2026-01-01\n".encode(), "ROW_ERRORS"),
])
def test_files_that_are_not_rosters_change_nothing(client, county, label, data, code):
    county, people = county
    before = upload(client, county.tokens["medical"], "DECEASED", [(people["dead"], "李死亡", "2026-10-20")])
    assert before["userErrors"] == []
    body = client.upload(UPLOAD, {"input": {"kind": "DECEASED", "year": YEAR, "file": None}}, "variables.input.file",
                         "名册.csv", data, county.tokens["medical"])
    payload = body["data"]["uploadRoster"]
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(["file"], code)], label
    assert payload["batch"] is None
    assert set(findings(client, county.tokens["admin"])) == {people["dead"]}  # version 1 stands


def test_crafted_cursors_and_units_are_refused(client, county):
    county, _ = county
    for after in ("garbage!!", "WyIvIiwgIngiXQ"):
        body = client.gql(FINDINGS, {"year": YEAR, "after": after}, county.tokens["medical"])
        assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    body = client.gql(FINDINGS, {"year": YEAR, "unit": "VW5pdDo5OTk5OTk5"}, county.tokens["medical"])
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert client.gql(FINDINGS, {"year": YEAR})["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


BATCHES = """
query($year: Int!, $kind: RosterKind) {
  rosterBatches(year: $year, kind: $kind) { totalCount edges { node { kind version fileName rowsTotal matched uploadedBy } } }
}"""


def test_the_versions_are_kept_for_medical_security(client, county, county_b):
    county, people = county
    medical = county.tokens["medical"]
    elsewhere = client.data(BATCHES, {"year": YEAR}, county_b.tokens["medical"])["rosterBatches"]["totalCount"]
    upload(client, medical, "DECEASED", [(people["dead"], "", "2026-10-20")])
    upload(client, medical, "DECEASED", [(people["dead"], "", "2026-10-20"), (people["dead_other"], "", "2026-10-21")])
    upload(client, medical, "EMPLOYEE_INSURANCE", [(people["employee"], "", "2026-10-01")])
    upload(client, medical, "DECEASED", [(people["resident"], "钱居民", "2027-01-05")])  # refused: not a version
    history = client.data(BATCHES, {"year": YEAR, "kind": "DECEASED"}, medical)["rosterBatches"]
    assert history["totalCount"] == 2
    assert [(e["node"]["version"], e["node"]["rowsTotal"], e["node"]["matched"]) for e in history["edges"]] == [(2, 2, 2), (1, 1, 1)]
    assert client.data(BATCHES, {"year": YEAR}, medical)["rosterBatches"]["totalCount"] == 3
    for token in (county.tokens["collector"], county.tokens["civil_affairs"]):
        assert client.gql(BATCHES, {"year": YEAR}, token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # another county sees only its own versions (the shared county_b may have some of other tests)
    assert client.data(BATCHES, {"year": YEAR}, county_b.tokens["medical"])["rosterBatches"]["totalCount"] == elsewhere


def test_a_finding_whose_event_is_withdrawn_by_hand_leaves_the_list(client, county):
    """公安 lists 李死亡 as dead; the village collector knows better and withdraws the
    event: the person is back on the unpaid list and the finding no longer asks anything,
    also when the next version repeats the same date."""
    county, people = county
    admin = county.tokens["admin"]
    first = upload(client, county.tokens["medical"], "DECEASED", [(people["dead"], "李死亡", "2026-10-20")])
    assert first["eventsRecorded"] == 1
    assert set(findings(client, admin)) == {people["dead"]}
    assert people["dead"] not in unpaid(client, admin)

    event = client.data("query($id: String!) { person(idNumber: $id) { events { id withdrawn } } }",
                        {"id": people["dead"]}, admin)["person"]["events"][0]
    withdraw = """mutation($input: WithdrawPersonEventInput!) {
        withdrawPersonEvent(input: $input) { userErrors { code } } }"""
    done = client.data(withdraw, {"input": {"event": event["id"]}}, county.tokens["collector"])["withdrawPersonEvent"]
    assert done["userErrors"] == []

    assert findings(client, admin) == {}  # (and its totalCount, checked in `findings`)
    assert people["dead"] in unpaid(client, admin)

    # next month's list still says so: the collector's correction stands
    again = upload(client, county.tokens["medical"], "DECEASED", [(people["dead"], "李死亡", "2026-10-20")])
    assert (again["matched"], again["eventsRecorded"]) == (1, 0)
    assert findings(client, admin) == {}
    assert people["dead"] in unpaid(client, admin)
    events = client.data(EVENTS, {"id": people["dead"]}, admin)["person"]["events"]
    assert events == [{"kind": "DECEASED", "date": "2026-10-20", "withdrawn": True}]
    # a later list with another date is news: recorded again
    later = upload(client, county.tokens["medical"], "DECEASED", [(people["dead"], "李死亡", "2026-11-02")])
    assert later["eventsRecorded"] == 1
    assert set(findings(client, admin)) == {people["dead"]}
    assert people["dead"] not in unpaid(client, admin)
