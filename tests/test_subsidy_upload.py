"""uploadSubsidyList mechanics: formats, row errors, dry runs, rights, cutoff, history."""
from __future__ import annotations

import io
import threading
from datetime import UTC, date, datetime

import openpyxl
import psycopg
import pytest

from api.database import to_libpq
from schema.relay import from_global_id
from tests.conftest import ALL_DEPARTMENTS
from tests.subsidy_support import (
    campaign_day,
    csv_list,
    enrollment,
    policy_input,
    register_person,
    set_policy,
    upload,
)
from tests.support import REGISTER, GraphQLClient, new_id_number

BATCHES = """
query($year: Int!, $category: String) {
  subsidyBatches(year: $year, category: $category) {
    totalCount edges { node { category version rowsTotal rowsAccepted added removed fileName checksum uploadedBy } }
  }
}"""
HISTORY = "query($id: String!) { person(idNumber: $id) { subsidyHistory { year category version change } } }"


@pytest.fixture
def county(client, new_county, clock):
    county = new_county(ALL_DEPARTMENTS)
    policy = policy_input("neixiang-2023.json")
    clock.travel_to(campaign_day(policy))
    set_policy(client, county.tokens["medical"], policy)
    return county


def people(client, county, count: int, born=date(1970, 1, 1)) -> list[tuple[str, str]]:
    return [(register_person(client, county, born, f"人{i}"), f"人{i}") for i in range(count)]


def rows_of(persons):
    return [(name, number, "张庄村", "2022-11-01", None) for number, name in persons]


def batches(client, token, category=None):
    return client.data(BATCHES, {"year": 2023, "category": category}, token)["subsidyBatches"]


def test_another_departments_category_is_forbidden_and_writes_nothing(client, county):
    persons = people(client, county, 2)
    result = upload(client, county.tokens["civil_affairs"], 2023, "tuopin", csv_list(rows_of(persons)))
    assert result["batch"] is None and [e["code"] for e in result["userErrors"]] == ["FORBIDDEN"]
    assert batches(client, county.tokens["admin"])["totalCount"] == 0
    assert enrollment(client, county.tokens["admin"], persons[0][0], 2023)["reimbursementDue"] == "0.00"
    # 医保局 may upload any category; the collector none
    assert upload(client, county.tokens["medical"], 2023, "tuopin", csv_list(rows_of(persons)))["userErrors"] == []
    collector = upload(client, county.tokens["collector"], 2023, "tuopin", csv_list(rows_of(persons)))
    assert [e["code"] for e in collector["userErrors"]] == ["FORBIDDEN"]


def test_gb18030_csv_and_xlsx_are_read(client, county):
    persons = people(client, county, 3)
    gbk = csv_list(rows_of(persons[:2]), encoding="gb18030")
    result = upload(client, county.tokens["civil_affairs"], 2023, "dibao", gbk, name="低保名单.csv")
    assert result["rowErrors"] == [] and result["batch"]["rowsAccepted"] == 2
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["序号", "姓名", "身份证号", "村（社区）", "认定日期"])
    for i, (number, name) in enumerate(persons, start=1):
        sheet.append([i, name, number, "张庄村", datetime(2022, 11, 2)])
    buffer = io.BytesIO()
    book.save(buffer)
    result = upload(client, county.tokens["civil_affairs"], 2023, "dibao", buffer.getvalue(), name="低保名单.xlsx")
    assert result["rowErrors"] == []
    assert (result["batch"]["version"], result["batch"]["added"], result["batch"]["removed"]) == (2, 1, 0)


def test_a_thousand_rows_with_one_bad_row(client, county):
    good = [(new_id_number(born=date(1980, 2, 2)), f"名{i}") for i in range(999)]
    rows = rows_of(good)
    rows.insert(500, ("坏行", "411325198002020000", "张庄村", None, None))  # bad check character
    data = csv_list(rows)
    token = county.tokens["rural_revitalization"]
    dry = upload(client, token, 2023, "jiance", data, dry_run=True)
    assert dry["batch"]["dryRun"] is True
    assert (dry["batch"]["rowsTotal"], dry["batch"]["rowsAccepted"], dry["batch"]["rowsRejected"]) == (1000, 999, 1)
    assert dry["rowErrors"] == [
        {"row": 502, "column": "证件号码", "code": "INVALID_ID_CHECKSUM", "message": "身份证号码校验位不正确。"}
    ]
    assert batches(client, county.tokens["admin"], "jiance")["totalCount"] == 0  # the dry run wrote nothing
    committed = upload(client, token, 2023, "jiance", data)
    assert committed["batch"]["dryRun"] is False and committed["batch"]["rowsAccepted"] == 999
    assert committed["batch"]["pending"] == 999  # listed, not registered yet
    listing = batches(client, county.tokens["admin"], "jiance")
    assert listing["totalCount"] == 1 and listing["edges"][0]["node"]["added"] == 999


def test_row_errors_name_row_column_and_reason(client, county):
    (first, name1), (second, name2) = people(client, county, 2)
    rows = [
        (name1, first, "张庄村", None, None),
        ("别人", second, "张庄村", None, None),  # name differs from the registered person
        (name1, first, "张庄村", None, None),  # twice in the file
        ("", "", "", "", "只有备注"),  # empty row
        ("某人", "", "", None, None),  # no ID number
        ("某人", new_id_number(), "", "2023-01-05", None),  # recognised after the cutoff 2022-12-31
        ("某人", new_id_number(), "", "明天", None),
    ]
    result = upload(client, county.tokens["civil_affairs"], 2023, "dibao", csv_list(rows))
    errors = [(e["row"], e["column"], e["code"]) for e in result["rowErrors"]]
    assert errors == [
        (3, "姓名", "NAME_MISMATCH"),
        (4, "证件号码", "DUPLICATE_IN_FILE"),
        (5, None, "EMPTY_ROW"),
        (6, "证件号码", "MISSING_ID"),
        (7, "认定日期", "RECOGNIZED_AFTER_CUTOFF"),
        (8, "认定日期", "INVALID_DATE"),
    ]
    assert result["batch"]["rowsAccepted"] == 1


def test_a_blank_line_inside_the_list_is_reported(client, county):
    (number, name), = people(client, county, 1)
    data = csv_list([(name, number, "", None, None)]) + b"\n" + csv_list([("x", new_id_number(), "", None, None)], header="")[1:]
    result = upload(client, county.tokens["civil_affairs"], 2023, "dibao", data)
    assert [(e["row"], e["code"]) for e in result["rowErrors"]] == [(3, "EMPTY_ROW")]


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"\x00\x01garbage" * 10, "list.xlsx", "UNREADABLE_FILE"),
        (b"", "list.csv", "UNREADABLE_FILE"),
        ("姓名,村/社区\n张三,张庄村\n".encode(), "list.csv", "NO_ID_COLUMN"),
        ("姓名,证件号码\n".encode(), "list.csv", "EMPTY_FILE"),
        (b"whatever", "list.pdf", "UNREADABLE_FILE"),
    ],
)
def test_broken_files_give_one_error_and_write_nothing(client, county, data, name, code):
    result = upload(client, county.tokens["civil_affairs"], 2023, "dibao", data, name=name)
    assert result["batch"] is None
    assert [e["code"] for e in result["userErrors"]] == [code]
    assert batches(client, county.tokens["admin"])["totalCount"] == 0


def test_upload_after_the_cutoff_is_refused(client, county, clock):
    (number, name), = people(client, county, 1)
    clock.travel_to(datetime(2023, 1, 2, 4, tzinfo=UTC))
    result = upload(client, county.tokens["civil_affairs"], 2023, "dibao", csv_list(rows_of([(number, name)])))
    assert [e["code"] for e in result["userErrors"]] == ["LIST_CLOSED"]
    assert enrollment(client, county.tokens["admin"], number, 2023)["reimbursementDue"] == "0.00"


def test_history_and_batches_per_department(client, county):
    (a, name_a), (b, name_b) = people(client, county, 2)
    civil = county.tokens["civil_affairs"]
    upload(client, civil, 2023, "dibao", csv_list(rows_of([(a, name_a), (b, name_b)])))
    upload(client, civil, 2023, "dibao", csv_list(rows_of([(a, name_a)])), confirm_removals=True)
    upload(client, county.tokens["rural_revitalization"], 2023, "tuopin", csv_list(rows_of([(b, name_b)])))
    history = client.data(HISTORY, {"id": b}, county.tokens["admin"])["person"]["subsidyHistory"]
    assert [(h["category"], h["version"], h["change"]) for h in history] == [
        ("dibao", 1, "ADDED"), ("dibao", 2, "REMOVED"), ("tuopin", 1, "ADDED")
    ]
    mine = batches(client, civil)
    assert [e["node"]["category"] for e in mine["edges"]] == ["dibao", "dibao"]
    newest = mine["edges"][0]["node"]
    assert newest["version"] == 2 and len(newest["checksum"]) == 64 and newest["fileName"] == "list.csv"
    assert batches(client, county.tokens["medical"])["totalCount"] == 3
    assert batches(client, county.tokens["tax"])["totalCount"] == 0


HISTORY_DATES = "query($id: String!) { person(idNumber: $id) { subsidyHistory { version change recognizedOn } } }"


def test_history_reads_every_version_though_only_changes_are_written(client, county):
    (a, name_a), (b, name_b) = people(client, county, 2)
    civil = county.tokens["civil_affairs"]

    def send(*rows):
        result = upload(client, civil, 2023, "dibao", csv_list(list(rows)), confirm_removals=True)
        assert result["userErrors"] == [] and result["rowErrors"] == [], result
        return (result["batch"]["version"], result["batch"]["added"], result["batch"]["removed"])

    assert send((name_a, a, "", "2022-11-01", None), (name_b, b, "", "2022-11-01", None)) == (1, 2, 0)
    assert send((name_b, b, "", "2022-11-01", None), (name_a, a, "", "2022-11-20", "复核")) == (2, 0, 0)  # a's row changed
    assert send((name_b, b, "", "2022-11-01", None)) == (3, 0, 1)
    assert send((name_a, a, "", "2022-12-01", None), (name_b, b, "", "2022-11-01", None)) == (4, 1, 0)

    def history(number):
        rows = client.data(HISTORY_DATES, {"id": number}, county.tokens["admin"])["person"]["subsidyHistory"]
        return [(h["version"], h["change"], h["recognizedOn"]) for h in rows]

    assert history(a) == [(1, "ADDED", "2022-11-01"), (2, "KEPT", "2022-11-20"), (3, "REMOVED", None), (4, "ADDED", "2022-12-01")]
    assert history(b) == [(1, "ADDED", "2022-11-01"), (2, "KEPT", "2022-11-01"), (3, "KEPT", "2022-11-01"), (4, "KEPT", "2022-11-01")]
    assert enrollment(client, county.tokens["admin"], a, 2023)["reimbursementDue"] == "80.00"


def _id_number_inputs() -> list[str]:
    """Valid and broken numbers of every kind parse_id_number tells apart."""
    import random

    from domain.persons.idnumber import check_character, make_id_number

    rng = random.Random(7)
    numbers = [make_id_number("411325", date(1890 + rng.randrange(140), 1 + rng.randrange(12), 1 + rng.randrange(28)), rng.randrange(1000)) for _ in range(3000)]
    numbers += [make_id_number("411325", day, 17) for day in (date(1889, 12, 31), date(1890, 1, 1), date(1899, 12, 31), date(1900, 1, 1), date(2000, 2, 29), date(2026, 11, 22), date(2026, 11, 23), date(2026, 11, 24), date(2099, 1, 1))]
    broken = []
    for number in numbers[:500]:
        broken.append(number[:-1] + ("0" if number[-1] != "0" else "1"))  # check character
        broken.append(number[:10] + "1331" + number[14:17] + check_character(number[:10] + "1331" + number[14:17]))  # 13th month
        broken.append(number.lower().replace("X", "x"))
        broken.append(" " + number[:6] + " " + number[6:])
        broken.append("0" + number[1:])
        broken.append(number[:17])
        broken.append(number + "1")
        broken.append(number.translate(str.maketrans("0123456789", "０１２３４５６７８９")))  # full-width digits
    seventeen = "41132519550612031"
    return numbers + broken + ["411325550612031", seventeen + check_character(seventeen), "", "X" * 18, "4113251990010100ZX", "19900101" * 2 + "1X"]


def test_fast_id_number_check_agrees_with_parse_id_number():
    from domain.persons.idnumber import IdNumberError, id_number_of, parse_id_number

    today = date(2026, 11, 23)

    def outcome(parse, raw):
        try:
            return parse(raw)
        except IdNumberError as error:
            return error.code

    for raw in _id_number_inputs():
        assert outcome(lambda r: id_number_of(r, today), raw) == outcome(lambda r: parse_id_number(r, today=today).value, raw), raw


def test_two_lists_uploaded_at_once_both_count(client, county, server_url):
    """Each upload recomputes the persons it touches from what it reads; two uploads of
    one year run one after the other (the year is locked), so the second reads the
    first's members instead of overwriting its results with an older view."""
    persons = people(client, county, 40)
    lists = {"tekun": csv_list(rows_of(persons)), "dibao": csv_list(rows_of(list(reversed(persons))))}
    uploaders = {"tekun": county.tokens["civil_affairs"], "dibao": county.tokens["medical"]}
    results: dict[str, dict] = {}
    barrier = threading.Barrier(2)

    def uploading(category: str) -> None:
        own = GraphQLClient(server_url)
        barrier.wait()
        results[category] = upload(own, uploaders[category], 2023, category, lists[category])

    for _ in range(3):
        threads = [threading.Thread(target=uploading, args=(c,)) for c in lists]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(r["userErrors"] == [] and r["rowErrors"] == [] for r in results.values()), results
        for number, _ in persons:
            # 特困 (FULL, AUTO_ENROLL) wins over 低保 whichever list committed last
            row = enrollment(client, county.tokens["admin"], number, 2023)
            assert (row["status"], row["subsidyCategory"], row["amountDue"]) == ("SUBSIDIZED", "tekun", "0.00"), row


def waits_for_the_year_lock(urls, county, work) -> dict:
    """Run `work` (a GraphQL call) while another transaction holds 2023's lists, as an
    upload in progress does: it must wait, and finish once the lock is gone."""
    done: dict[str, dict] = {}
    tenant_id = from_global_id(county.id)[1]
    with psycopg.connect(to_libpq(urls.owner)) as other:
        other.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
        other.execute("SELECT 1 FROM year_policy WHERE tenant_id = %s AND year = 2023 FOR NO KEY UPDATE", (tenant_id,))
        thread = threading.Thread(target=lambda: done.update(result=work()))
        thread.start()
        thread.join(timeout=1.5)
        assert thread.is_alive() and not done
        other.rollback()
    thread.join(timeout=60)
    return done["result"]


def test_an_upload_waits_while_the_years_lists_are_being_changed(client, county, urls, server_url):
    persons = people(client, county, 2)
    uploaded = waits_for_the_year_lock(
        urls, county,
        lambda: upload(GraphQLClient(server_url), county.tokens["civil_affairs"], 2023, "dibao", csv_list(rows_of(persons))),
    )
    assert uploaded["userErrors"] == [] and uploaded["batch"]["added"] == 2


def test_a_registration_waits_for_a_list_of_the_year_and_then_counts_it(client, county, urls, server_url):
    """A person registered while a list naming them is uploaded: the upload did not see
    them (pending), so the registration recomputes them after the list is in."""
    number = new_id_number(region="411325", born=date(1960, 5, 5))
    variables = {"input": {"idNumber": number, "name": "晚登记", "unit": county.units["100201"]}}
    registered = waits_for_the_year_lock(
        urls, county,
        lambda: GraphQLClient(server_url).data(REGISTER, variables, county.tokens["admin"])["registerPerson"],
    )
    assert registered["userErrors"] == []
    # and end to end: the list first, then the registration
    upload(client, county.tokens["civil_affairs"], 2023, "tekun", csv_list([("晚登记", number, "张庄村", "2022-11-01", None)]))
    assert enrollment(client, county.tokens["admin"], number, 2023)["status"] == "SUBSIDIZED"
