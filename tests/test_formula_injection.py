"""Formula injection: names that a spreadsheet would run are refused at the input, and
every string the project writes into a workbook is a text cell, legacy data included."""
from __future__ import annotations

import io
import itertools
from datetime import date

import openpyxl
import pytest
from sqlalchemy import text

from api.templates import PAYMENT_FILE, SUBSIDY_LIST
from api.templates import workbook as template_workbook
from domain.enrollment.store import recompute_persons
from domain.persons.idnumber import make_id_number, parse_id_number
from domain.persons.store import count_registered
from schema.relay import from_global_id
from tenants.names import name_problem
from tests.payment_support import campaign, new_person, pay
from tests.subsidy_support import csv_list, policy_input, upload
from tests.support import ONBOARD, PASSWORD, REGISTER, small_tree, unit

YEAR = 2027
DAY = date(2026, 11, 5)
_codes = itertools.count(700101)

ADD_UNITS = """
mutation($input: AddUnitsInput!) { addUnits(input: $input) { units { code } userErrors { field code message } } }"""
SET_POLICY = """
mutation($input: YearPolicyInput!) { setYearPolicy(input: $input) { userErrors { field code message } } }"""

HYPERLINK = '=HYPERLINK("http://example.invalid/claim","点此领取补贴")'
DDE = "=cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    "name, reason",
    [
        ("张三", None),
        ("欧阳娜娜", None),
        ("阿卜杜拉·买买提", None),
        ("Jean-Luc O'Brien", None),  # - and ' inside a name are fine
        ("张三+1", None),
        ("＝1+1", None),  # a full-width sign starts no formula
        ("东关社区（一组）", None),
        (HYPERLINK, ("FORMULA", {"start": "'='"})),
        (DDE, ("FORMULA", {"start": "'='"})),
        ("+1+1", ("FORMULA", {"start": "'+'"})),
        ("-2+3", ("FORMULA", {"start": "'-'"})),
        ("@SUM(A1:A9)", ("FORMULA", {"start": "'@'"})),
        ("\t=1+1", ("FORMULA", {"start": "'\\t'"})),
        ("\r=1+1", ("FORMULA", {"start": "'\\r'"})),
        ("张\t三", ("CONTROL", {"character": "U+0009"})),
        ("张三\n", ("CONTROL", {"character": "U+000A"})),
        ("张\x00三", ("CONTROL", {"character": "U+0000"})),
        ("张\x7f三", ("CONTROL", {"character": "U+007F"})),
        ("张\x85三", ("CONTROL", {"character": "U+0085"})),
        ("张\u2028三", ("CONTROL", {"character": "U+2028"})),
        ("张三\u202egpj.exe", ("CONTROL", {"character": "U+202E"})),
        ("", ("EMPTY", {})),
        ("张" * 60, None),
        ("张" * 61, ("TOO_LONG", {"limit": 60})),
    ],
)
def test_a_safe_display_name(name, reason):
    found = name_problem(name, 60)
    if reason is None:
        assert found is None
    else:
        assert found is not None and (found.variant, found.params) == reason


BAD_NAMES = [HYPERLINK, DDE, "+1+1", "-2+3", "@SUM(A1:A9)", "张\t三", "张\x07三", "张三\u202e"]


def test_registering_a_formula_or_control_character_name_is_refused(client, county_a):
    for name in BAD_NAMES:
        number = make_id_number("411325", date(1980, 1, 2), 101)
        variables = {"input": {"idNumber": number, "name": name, "unit": county_a.units["100201"]}}
        payload = client.data(REGISTER, variables, county_a.tokens["collector"])["registerPerson"]
        assert payload["person"] is None
        # C0 control characters never get past the edge (schema/edge.py); the rest is the name rule's.
        code = "INVALID_TEXT" if "\x07" in name else "INVALID_NAME"
        assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, ["name"])], name
        assert "公式" in payload["userErrors"][0]["message"] or "控制字符" in payload["userErrors"][0]["message"]
    leading_blank = {"input": {"idNumber": make_id_number("411325", date(1980, 1, 2), 103), "name": "  \t=1+1",
                               "unit": county_a.units["100201"]}}
    assert client.data(REGISTER, leading_blank, county_a.tokens["collector"])["registerPerson"]["userErrors"][0]["code"] == "INVALID_NAME"


def test_unit_names_are_checked_at_onboarding_and_in_add_units(client, operator_token, new_county):
    code = str(next(_codes))
    tree = small_tree(code)
    tree[0]["children"][1]["name"] = HYPERLINK
    payload = client.data(ONBOARD, {"input": {
        "code": code, "name": f"测试县{code}", "units": tree, "departments": ["MEDICAL_SECURITY", "TAX"],
        "admin": {"username": "admin", "password": PASSWORD},
    }}, operator_token)["onboardTenant"]
    assert payload["tenant"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_NAME", ["units", "0", "children", "1", "name"])
    ]
    assert "名称以 '=' 开头" in payload["userErrors"][0]["message"]

    county = new_county()
    units = [unit(county.code + "300203", "@SUM(A1:A9)", "VILLAGE"), unit(county.code + "300204", "新\r村", "VILLAGE")]
    added = client.data(ADD_UNITS, {"input": {"parent": county.units["300"], "units": units}}, county.tokens["admin"])["addUnits"]
    assert added["units"] == [] or added["units"] is None
    assert [(e["code"], e["field"][-1]) for e in added["userErrors"]] == [("INVALID_NAME", "name"), ("INVALID_NAME", "name")]


def test_subsidy_category_names_are_checked_in_year_policies(client, new_county):
    county = new_county(["CIVIL_AFFAIRS", "RURAL_REVITALIZATION"])
    policy = policy_input("neixiang-2027.json")
    policy["categories"][1]["name"] = "+1+1"
    payload = client.data(SET_POLICY, {"input": policy}, county.tokens["medical"])["setYearPolicy"]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("INVALID_CATEGORY_NAME", ["categories", "1", "name"])]
    assert "公式" in payload["userErrors"][0]["message"]


# --- legacy data: names stored before the rule come out as text --------------------------

LEGACY = {"unpaid": HYPERLINK, "paid": DDE, "listed": "+1+1", "bell": "@SUM(1+1)\x07"}
VILLAGE_NAME = "-2+3"
CATEGORY_NAME = "@SUM(A1:A9)"


def _insert_legacy_person(owner_db, county, name: str, sequence: int) -> str:
    """A person as an older version stored it: straight into the table, no name rule."""
    tenant_id = from_global_id(county.id)[1]
    number = make_id_number(county.code, date(1975, 4, 3), sequence)

    async def insert(db):
        village = (await db.execute(text("SELECT id, path FROM unit WHERE tenant_id = :t AND code = :c"),
                                    {"t": tenant_id, "c": county.code + "100201"})).one()
        person_id = await db.scalar(
            text("""INSERT INTO person (tenant_id, id_number, name, birth_date, sex, unit_id, unit_path, created_by)
                    VALUES (:t, :n, :name, :born, 'M', :u, :p, 'legacy') RETURNING id"""),
            {"t": tenant_id, "n": number, "name": name, "born": parse_id_number(number).birth_date,
             "u": village.id, "p": village.path},
        )
        await count_registered(db, tenant_id, {village.id: 1})
        await recompute_persons(db, tenant_id, [person_id])

    owner_db(insert, tenant_id)
    return number


def _rename_village_and_category(owner_db, county) -> None:
    tenant_id = from_global_id(county.id)[1]

    async def rename(db):
        await db.execute(text("UPDATE unit SET name = :n WHERE tenant_id = :t AND code = :c"),
                         {"n": VILLAGE_NAME, "t": tenant_id, "c": county.code + "100201"})
        await db.execute(text("UPDATE subsidy_category SET name = :n WHERE tenant_id = :t AND year = :y AND code = 'tekun'"),
                         {"n": CATEGORY_NAME, "t": tenant_id, "y": YEAR})

    owner_db(rename, tenant_id)


def _download(client, token: str, code: str, name: str) -> openpyxl.Workbook:
    response = client.http.get(f"/downloads/{YEAR}/units/{code}/{name}.xlsx", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return openpyxl.load_workbook(io.BytesIO(response.content))


def _string_cells(book: openpyxl.Workbook) -> list:
    return [c for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]


def test_legacy_names_come_out_of_every_download_as_text(client, new_county, clock, owner_db):
    county, _ = campaign(client, new_county, clock, today=DAY)
    numbers = {key: _insert_legacy_person(owner_db, county, name, 201 + 2 * n) for n, (key, name) in enumerate(LEGACY.items())}
    new_person(client, county, name="普通人")
    assert pay(client, county.tokens["tax"], numbers["paid"], YEAR, "400.00", DAY, channel="TAX_HALL")["userErrors"] == []
    listed = upload(client, county.tokens["civil_affairs"], YEAR, "tekun", csv_list([("", numbers["listed"], None, None, None)]))
    assert listed["rowErrors"] == [] and listed["userErrors"] == []
    _rename_village_and_category(owner_db, county)

    village = county.code + "100201"
    expected = {
        "unpaid": {LEGACY["unpaid"], "@SUM(1+1)\ufffd", VILLAGE_NAME},  # a control character cannot be stored: U+FFFD
        "paid-posting": {LEGACY["paid"], VILLAGE_NAME},
        "subsidy-posting": {LEGACY["listed"], VILLAGE_NAME, CATEGORY_NAME},
    }
    for sheet, values in expected.items():
        for who, code in (("collector", village), ("admin", county.code + "100")):
            book = _download(client, county.tokens[who], code, sheet)
            cells = _string_cells(book)
            formulas = [c.coordinate for ws in book.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
            assert formulas == [], (sheet, formulas)
            assert all(c.data_type == "s" for c in cells)
            assert values <= {c.value for c in cells}, (sheet, who)
        title = book.active["A1"].value
        assert title.startswith("城关镇") and book.active["A1"].data_type == "s"
    village_title = _download(client, county.tokens["collector"], village, "unpaid").active["A1"]
    assert village_title.value.startswith(VILLAGE_NAME) and village_title.data_type == "s"


def test_templates_are_text_cells():
    for template in (SUBSIDY_LIST, PAYMENT_FILE):
        book = openpyxl.load_workbook(io.BytesIO(template_workbook(template)))
        cells = _string_cells(book)
        assert cells and all(c.data_type == "s" for c in cells)
        assert [c.value for c in book.active[1]] == template.headers
