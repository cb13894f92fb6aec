"""Masked ID numbers stay masked: nothing a masked reader receives rebuilds a number.

A masked number (431123********0123) plus the birth date is the whole number, so every
department that sees numbers masked is walked through everything it may read that
carries persons, and no response may hold a whole number or a birth date (YYYYMMDD or
YYYY-MM-DD). 医保局 and 税务局 still see both; look-ups by whole number are capped.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta

import openpyxl
import pytest
from sqlalchemy import text

from api.downloads import SHEETS, sheet_values, workbook
from domain.persons.idnumber import make_id_number, mask, parse_id_number
from domain.progress.lists import ListRow
from schema.redaction import mask_whole_numbers
from schema.relay import from_global_id
from tenants.units import UnitRow
from tests.payment_support import shanghai
from tests.subsidy_support import (
    csv_list,
    policy_input,
    register_person,
    set_policy,
    upload,
)
from tests.support import CREATE_USER, PASSWORD, REGISTER

YEAR = 2022
CAMPAIGN_DAY = date(2021, 11, 1)
NEWBORN_PAID = date(2022, 4, 20)
MASKED = [
    "CIVIL_AFFAIRS", "RURAL_REVITALIZATION", "DISABLED_FEDERATION", "VETERANS", "HEALTH", "EDUCATION",
    "PUBLIC_SECURITY", "FINANCE",
]
MASKED_ACCOUNTS = ["civil", *(d.lower() for d in MASKED)]
UNMASKED_ACCOUNTS = ["medical", "tax", "admin"]

PERSON_FIELDS = """
  id idNumber name birthDate birthYear sex age
  ageMidYear: age(on: "2022-06-30") ageNewYear: age(on: "2022-01-01")
  unit { code name path }
  subsidyHistory { year category version change uploadedAt recognizedOn }
  enrollment(year: 2022) {
    year status amountDue paidAmount subsidyCategory subsidyAmount subsidyMode reimbursementDue benefitStart
    subsidies { category name mode amount applied }
  }
"""
PAYMENT_FIELDS = f"""
  id year amount channel status timing paidAt benefitStart receiptNo externalId recordedAt
  person {{ {PERSON_FIELDS} }}
  refunds {{ id reason amount status automatic eventDate note requestedAt decidedAt completedAt completionRef }}
"""
PERSONS = f"query {{ persons(first: 100) {{ totalCount edges {{ cursor node {{ {PERSON_FIELDS} }} }} }} }}"
PERSON = f"query($id: String!) {{ person(idNumber: $id) {{ {PERSON_FIELDS} }} }}"
SEARCH = f"query($s: String!) {{ persons(filter: {{search: $s}}) {{ totalCount edges {{ node {{ {PERSON_FIELDS} }} }} }} }}"
UNPAID = f"query {{ unpaidPersons(year: {YEAR}, first: 100) {{ totalCount edges {{ node {{ {PERSON_FIELDS} }} }} }} }}"
PAYMENTS = f"query {{ payments(first: 100) {{ totalCount edges {{ node {{ {PAYMENT_FIELDS} }} }} }} }}"
PAYMENTS_OF = f"query($id: String!) {{ payments(filter: {{idNumber: $id}}) {{ edges {{ node {{ {PAYMENT_FIELDS} }} }} }} }}"
REFUNDS = f"""query {{ refunds(first: 100) {{ totalCount edges {{ node {{
  id reason amount status automatic payment {{ {PAYMENT_FIELDS} }} }} }} }} }}"""
REIMBURSEMENTS = f"""query {{
  reimbursements(year: {YEAR}, first: 100) {{ totalCount edges {{ node {{ category amount method person {{ {PERSON_FIELDS} }} }} }} }}
  reimbursementSummary(year: {YEAR}) {{ owedCount owedAmount paidCount paidAmount unit {{ code }} }}
}}"""
BATCHES = f"""query {{ subsidyBatches(year: {YEAR}) {{ edges {{ node {{
  id year category version rowsTotal rowsAccepted rowsRejected added removed pending fileName checksum uploadedBy
}} }} }} }}"""
HISTORY = "query($id: String!) { enrollmentHistory(idNumber: $id) { year enrolled source } }"
NODE = f"""query($id: ID!) {{ node(id: $id) {{ id
  ... on Person {{ {PERSON_FIELDS} }}
  ... on Payment {{ {PAYMENT_FIELDS} }}
  ... on Refund {{ id reason payment {{ {PAYMENT_FIELDS} }} }}
}} }}"""
HISTORY_IMPORT = """
mutation($input: ImportEnrollmentHistoryInput!) {
  importEnrollmentHistory(input: $input) { accepted rowErrors { row code message } userErrors { code message } }
}"""
REQUEST_REFUND = """
mutation($input: RequestRefundInput!) { requestRefund(input: $input) { refund { id note } userErrors { code message } } }"""
RECORD = """
mutation($input: RecordPaymentInput!) {
  recordPayment(input: $input) { payment { id timing benefitStart } refund { id } userErrors { code message } }
}"""


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    number: str

    @property
    def born(self) -> date:
        return parse_id_number(self.number).birth_date

    @property
    def secrets(self) -> tuple[str, str, str]:
        """What rebuilds the number: the number, its birth date in either spelling."""
        return self.number, self.born.strftime("%Y%m%d"), self.born.isoformat()


@dataclass
class World:
    county: object
    people: dict[str, Person]
    ids: dict[str, str]  # global ids of every object a masked reader might ask for by node(id)


def _pay(client, token, number, day, channel="TAX_HALL", receipt=None, external=None, amount="320.00"):
    variables = {"input": {
        "idNumber": number, "year": YEAR, "amount": amount, "channel": channel,
        "paidAt": shanghai(day).isoformat(), "receiptNo": receipt, "externalId": external,
    }}
    payload = client.data(RECORD, variables, token)["recordPayment"]
    assert payload["userErrors"] == [], payload
    return payload


_BUILT: dict[str, World] = {}


@pytest.fixture
def world(client, new_county, server) -> World:
    """One county for the whole module (built by the first test that asks)."""
    if "world" not in _BUILT:
        _BUILT["world"] = _build_world(client, new_county, server.app_object.state.runtime.services.clock)
    return _BUILT["world"]


def _build_world(client, new_county, clock) -> World:
    """双牌 2022 in a county with every department: persons unpaid, paid, paid twice
    (an automatic refund), listed by three departments, owed a reimbursement, and a
    newborn whose benefits start on the day of birth."""
    county = new_county(MASKED)
    clock.travel_to(shanghai(CAMPAIGN_DAY, 12))
    try:
        set_policy(client, county.tokens["medical"], policy_input("shuangpai-2022.json"))
        specs = {
            "unpaid": ("张未缴", date(1985, 6, 15), "100201"),
            "paid": ("王已缴", date(1972, 3, 9), "100201"),
            "twice": ("李两次", date(1990, 8, 21), "300201"),
            "tekun": ("赵特困", date(1950, 12, 2), "100201"),
            "dibao": ("钱低保", date(1960, 7, 30), "100201"),
            "youfu": ("孙优抚", date(1945, 1, 20), "300202"),
            "zhongcan": ("周重残", date(1988, 10, 5), "100001"),
        }
        people = {
            key: Person(key, name, register_person(client, county, born, name, unit, region=county.code))
            for key, (name, born, unit) in specs.items()
        }
        tax, collector2 = county.tokens["tax"], county.tokens["collector2"]
        ids = {}
        ids["payment"] = _pay(client, tax, people["paid"].number, CAMPAIGN_DAY, external="TH-1")["payment"]["id"]
        _pay(client, collector2, people["twice"].number, CAMPAIGN_DAY, "CASH_AGENT", receipt="SP-R-1")
        ids["refund"] = _pay(client, tax, people["twice"].number, CAMPAIGN_DAY, external="TH-2")["refund"]["id"]
        lists = {
            ("civil_affairs", "tekun"): "tekun", ("civil_affairs", "dibao"): "dibao",
            ("veterans", "youfu"): "youfu", ("disabled_federation", "zhongcan"): "zhongcan",
        }
        for (account, category), key in lists.items():
            person = people[key]
            result = upload(client, county.tokens[account], YEAR, category, csv_list([(person.name, person.number, None, None, None)]))
            assert result["userErrors"] == [] and result["rowErrors"] == [], result
        _pay(client, tax, people["dibao"].number, CAMPAIGN_DAY, external="TH-3")  # REIMBURSE: 160 owed back
        # free text can hold a number someone typed in: a refund note, read by finance
        note = f"本人放弃参保，身份证号{people['paid'].number}"
        requested = client.data(REQUEST_REFUND, {"input": {"payment": ids["payment"], "reason": "GAVE_UP",
                                                            "eventDate": "2021-10-30", "note": note}}, tax)
        assert requested["requestRefund"]["userErrors"] == [], requested
        ids["noteRefund"] = requested["requestRefund"]["refund"]["id"]
        history = csv_list([(people["paid"].number, "王已缴", 2021, "已参保")], header="证件号码,姓名,年度,参保状态")
        body = client.upload(HISTORY_IMPORT, {"input": {"file": None}}, "variables.input.file", "h.csv", history,
                             county.tokens["medical"])
        assert body["data"]["importEnrollmentHistory"]["accepted"] == 1, body

        clock.travel_to(shanghai(NEWBORN_PAID, 12))
        newborn = Person("newborn", "吴新生", register_person(client, county, date(2022, 3, 1), "吴新生", "100201",
                                                             region=county.code))
        people["newborn"] = newborn
        paid = _pay(client, county.tokens["collector"], newborn.number, NEWBORN_PAID, "CASH_AGENT", receipt="SP-NB-1")
        assert (paid["payment"]["timing"], paid["payment"]["benefitStart"]) == ("NEWBORN", newborn.born.isoformat())
        ids["newbornPayment"] = paid["payment"]["id"]
        for key, person in people.items():
            found = client.data("query($id: String!) { person(idNumber: $id) { id } }", {"id": person.number},
                                county.tokens["admin"])
            ids[key] = found["person"]["id"]
        return World(county, people, ids)
    finally:
        clock.travel_to(None)


def _leaks(text_: str, people: dict[str, Person]) -> list[str]:
    return [f"{p.key}: {secret}" for p in people.values() for secret in p.secrets if secret in text_]


def _responses(client, world: World, token: str) -> dict[str, str]:
    """The raw text of everything a reader can ask that carries persons."""
    people = world.people
    asked: dict[str, str] = {}

    def ask(label: str, query: str, variables: dict | None = None) -> None:
        response = client.post(query, variables, token)
        assert response.status_code == 200, response.text
        asked[label] = response.text

    for label, query in (("persons", PERSONS), ("unpaid", UNPAID), ("payments", PAYMENTS), ("refunds", REFUNDS),
                         ("reimbursements", REIMBURSEMENTS), ("batches", BATCHES)):
        ask(label, query)
    for key, person in people.items():
        ask(f"person:{key}", PERSON, {"id": person.number})
    ask("search", SEARCH, {"s": people["paid"].number})
    ask("search-name", SEARCH, {"s": "王"})
    ask("payments-of", PAYMENTS_OF, {"id": people["newborn"].number})
    ask("history", HISTORY, {"id": people["paid"].number})
    for key, global_id in world.ids.items():
        ask(f"node:{key}", NODE, {"id": global_id})
    return asked


def _downloads(client, world: World, token: str) -> dict[str, object]:
    code = world.county.code
    headers = {"Authorization": f"Bearer {token}"}
    return {
        f"{name}@{unit}": client.http.get(f"/downloads/{YEAR}/units/{code}{unit}/{name}.xlsx", headers=headers)
        for name in SHEETS for unit in ("100", "100201")
    }


def _cells_text(response) -> str:
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    return "\n".join(str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None)


@pytest.mark.parametrize("account", MASKED_ACCOUNTS)
def test_nothing_a_masked_department_reads_rebuilds_a_number(client, world, account):
    token = world.county.tokens[account]
    responses = _responses(client, world, token)
    leaks = {label: found for label, body in responses.items() if (found := _leaks(body, world.people))}
    assert leaks == {}

    # …and it does read persons: masked numbers, birth years, no birth dates.
    persons = client.data(PERSONS, None, token)["persons"]
    assert persons["totalCount"] == len(world.people)
    by_name = {p.name: p for p in world.people.values()}
    for edge in persons["edges"]:
        node, person = edge["node"], by_name[edge["node"]["name"]]
        assert (node["idNumber"], node["birthDate"], node["birthYear"]) == (mask(person.number), None, person.born.year)
    newborn = client.data(PERSON, {"id": world.people["newborn"].number}, token)["person"]
    assert newborn["enrollment"]["status"] == "PAID" and newborn["enrollment"]["benefitStart"] is None

    for label, response in _downloads(client, world, token).items():
        assert response.status_code in (403, 404), label  # no masked department downloads lists
        assert not _leaks(response.text, world.people), label


def test_finance_reads_payments_refunds_and_reimbursements_masked(client, world):
    """The masked department with money rights: it really gets the person-carrying lists."""
    token = world.county.tokens["finance"]
    payments = client.data(PAYMENTS, None, token)["payments"]
    assert payments["totalCount"] == 5
    newborn = next(e["node"] for e in payments["edges"] if e["node"]["timing"] == "NEWBORN")
    assert newborn["benefitStart"] is None and newborn["person"]["idNumber"] == mask(world.people["newborn"].number)
    refunds = client.data(REFUNDS, None, token)["refunds"]
    assert refunds["totalCount"] == 2
    notes = [e["node"]["payment"]["refunds"] for e in refunds["edges"]]
    assert f"本人放弃参保，身份证号{mask(world.people['paid'].number)}" in [r["note"] for rs in notes for r in rs]
    owed = client.data(REIMBURSEMENTS, None, token)["reimbursements"]
    assert [e["node"]["person"]["idNumber"] for e in owed["edges"]] == [mask(world.people["dibao"].number)]


def test_a_masked_age_moves_only_on_new_year(client, world):
    person = world.people["unpaid"]  # born in June
    ages = """query($id: String!, $before: Date!, $on: Date!, $newYear: Date!) { person(idNumber: $id) {
      before: age(on: $before) on: age(on: $on) newYear: age(on: $newYear) } }"""
    birthday = person.born.replace(year=2022)
    variables = {"id": person.number, "before": (birthday - timedelta(days=1)).isoformat(), "on": birthday.isoformat(),
                 "newYear": "2022-01-01"}
    masked = client.data(ages, variables, world.county.tokens["health"])["person"]
    assert masked == {"before": 2022 - person.born.year, "on": 2022 - person.born.year, "newYear": 2022 - person.born.year}
    whole = client.data(ages, variables, world.county.tokens["medical"])["person"]
    assert whole == {"before": 2022 - person.born.year - 1, "on": 2022 - person.born.year,
                     "newYear": 2022 - person.born.year - 1}


@pytest.mark.parametrize("account", UNMASKED_ACCOUNTS)
def test_medical_security_and_tax_still_see_whole_numbers_and_birth_dates(client, world, account):
    token = world.county.tokens[account]
    for person in world.people.values():
        found = client.data(PERSON, {"id": person.number}, token)["person"]
        assert (found["idNumber"], found["birthDate"], found["birthYear"]) == (person.number, person.born.isoformat(),
                                                                              person.born.year)
    newborn = client.data(PERSON, {"id": world.people["newborn"].number}, token)["person"]
    assert newborn["enrollment"]["benefitStart"] == world.people["newborn"].born.isoformat()


def test_postings_never_carry_a_birth_date_and_the_unpaid_list_does_only_for_whole_numbers(client, world):
    downloads = _downloads(client, world, world.county.tokens["tax"])
    for label, response in downloads.items():
        assert response.status_code == 200, label
        text_ = _cells_text(response)
        if not label.startswith(("paid-posting", "subsidy-posting")):
            continue  # field lists (unpaid, 断保, 漏保) for a reader who sees numbers whole
        assert not _leaks(text_, world.people), label  # postings: masked numbers, no birth dates
    unpaid = _cells_text(downloads["unpaid@100201"])
    assert world.people["unpaid"].number in unpaid and world.people["unpaid"].born.isoformat() in unpaid


def test_an_unpaid_list_for_a_masked_viewer_holds_birth_years_only():
    """No masked department may download lists today; if one ever may, the sheet is safe."""
    person = Person("x", "张三", _number(date(1990, 5, 17)))
    row = ListRow("城关镇", "张庄村", person.name, person.number, "M", person.born, None, "UNPAID", 400, 0, None, 0, None, None)
    columns, body = sheet_values(SHEETS["unpaid"], [row], whole=False)
    assert "出生年份" in [c[0] for c in columns] and "出生日期" not in [c[0] for c in columns]
    unit = UnitRow(id=1, code="411325100201", name="张庄村", kind="VILLAGE", path="/1/", depth=1, parent_id=None)
    data = workbook(SHEETS["unpaid"], unit, YEAR, [row], False, date(2021, 11, 1))
    book = openpyxl.load_workbook(io.BytesIO(data))
    cells = [str(c.value) for r in book.active.iter_rows() for c in r if c.value is not None]
    assert mask(person.number) in cells and "1990" in cells
    assert not [c for c in cells if any(secret in c for secret in person.secrets)]


def _number(born: date) -> str:
    return make_id_number("411325", born, 13)


# --- look-ups by whole number: audited and capped ------------------------------------

@pytest.fixture
def lookup_cap(server):
    services = server.app_object.state.runtime.services
    before = services.masked_lookups_per_hour
    services.masked_lookups_per_hour = 3
    yield 3
    services.masked_lookups_per_hour = before


def _new_account(client, world: World, username: str, department: str) -> str:
    result = client.data(CREATE_USER, {"input": {"username": username, "password": PASSWORD, "role": "DEPARTMENT_STAFF",
                                                  "department": department}}, world.county.tokens["admin"])
    assert result["createUser"]["userErrors"] == [], result
    return client.login(world.county.code, username, PASSWORD)


def _lookup_rows(owner_db, world: World, username: str) -> list[tuple]:
    tenant_id = from_global_id(world.county.id)[1]

    async def read(db):
        rows = await db.execute(
            text(
                """SELECT a.outcome, a.entity_id, a.after FROM audit_log a
                     JOIN app_user u ON u.tenant_id = a.tenant_id AND a.actor = 'u:' || u.id
                    WHERE a.tenant_id = :t AND u.username = :u AND a.operation = 'lookup:idNumber' ORDER BY a.id"""
            ),
            {"t": tenant_id, "u": username},
        )
        return [tuple(r) for r in rows]

    return owner_db(read, tenant_id)


def test_look_ups_by_whole_number_are_audited_and_capped(client, world, lookup_cap, owner_db):
    token = _new_account(client, world, "health-lookups", "HEALTH")
    people = list(world.people.values())
    for person in people[:2]:
        assert client.data(PERSON, {"id": person.number}, token)["person"]["name"] == person.name
    guess = _number(date(1985, 6, 16))  # a number nobody holds
    assert client.data(PERSON, {"id": guess}, token)["person"] is None
    for query, variables in ((PERSON, {"id": people[2].number}), (SEARCH, {"s": people[2].number})):
        refused = client.gql(query, variables, token)
        assert refused["errors"][0]["extensions"]["code"] == "LOOKUP_LIMIT"
        assert refused["data"] in (None, {"person": None})
        assert not _leaks(str(refused), world.people)
    # a name is no look-up by number, and the unmasked are not counted
    assert client.data(SEARCH, {"s": people[0].name}, token)["persons"]["totalCount"] >= 1
    for _ in range(4):
        assert client.data(PERSON, {"id": people[2].number}, world.county.tokens["medical"])["person"] is not None

    rows = _lookup_rows(owner_db, world, "health-lookups")
    assert [r[0] for r in rows] == ["ok", "ok", "ok", "rejected", "rejected"]
    assert rows[0][2] == {"via": "person", "idNumber": mask(people[0].number), "found": True}
    assert rows[2][2] == {"via": "person", "idNumber": mask(guess), "found": False}
    assert rows[4][2]["via"] == "persons.search"
    assert all(not _leaks(str(r), world.people) for r in rows)  # the audit trail keeps numbers masked


def test_the_cap_is_per_rolling_hour(client, world, lookup_cap, owner_db):
    token = _new_account(client, world, "edu-lookups", "EDUCATION")
    number = world.people["paid"].number
    for _ in range(3):
        assert client.data(PERSON, {"id": number}, token)["person"] is not None
    assert client.gql(PERSON, {"id": number}, token)["errors"][0]["extensions"]["code"] == "LOOKUP_LIMIT"
    tenant_id = from_global_id(world.county.id)[1]

    async def an_hour_ago(db):
        await db.execute(
            text("""UPDATE audit_log SET created_at = created_at - interval '61 minutes'
                     WHERE tenant_id = :t AND operation = 'lookup:idNumber'
                       AND actor = (SELECT 'u:' || id FROM app_user WHERE tenant_id = :t AND username = 'edu-lookups')"""),
            {"t": tenant_id},
        )

    owner_db(an_hour_ago, tenant_id)
    assert client.data(PERSON, {"id": number}, token)["person"] is not None


def test_subsidy_list_reports_count_as_look_ups_for_masked_departments(client, world, lookup_cap):
    token = _new_account(client, world, "civil-lookups", "CIVIL_AFFAIRS")
    tekun = world.people["tekun"]
    paid = world.people["paid"]
    rows = [(tekun.name, tekun.number, None, None, None), ("不是这个名字", paid.number, None, None, None)]
    for _ in range(3):
        report = upload(client, token, YEAR, "tekun", csv_list(rows), dry_run=True)
        assert report["userErrors"] == [] and [e["code"] for e in report["rowErrors"]] == ["NAME_MISMATCH"]
        # its own file's numbers may come back; nothing it did not send (the registered name) does
        assert paid.name not in str(report) and not _leaks(str(report), {"x": world.people["unpaid"]})
    refused = upload(client, token, YEAR, "tekun", csv_list(rows), dry_run=True)
    assert [e["code"] for e in refused["userErrors"]] == ["LOOKUP_LIMIT"] and refused["batch"] is None
    # 医保局 sees numbers whole: its uploads are not counted
    for _ in range(4):
        assert upload(client, world.county.tokens["medical"], YEAR, "tekun", csv_list(rows), dry_run=True)["userErrors"] == []


def test_masked_departments_cannot_register_or_read_enrollment_history(client, world):
    existing = world.people["paid"]
    for account in MASKED_ACCOUNTS:
        token = world.county.tokens[account]
        variables = {"input": {"idNumber": existing.number, "name": "x", "unit": world.county.units["100201"]}}
        payload = client.data(REGISTER, variables, token)["registerPerson"]
        assert [e["code"] for e in payload["userErrors"]] == ["FORBIDDEN"], account  # no PERSON_EXISTS oracle
        history = client.gql(HISTORY, {"id": existing.number}, token)
        assert history["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize(
    "given, shown",
    [
        ("身份证号411325199005170132，已核实", "身份证号411325********0132，已核实"),
        ("old card 411325900517013", "old card 411325********0132"),  # 15 digits, converted
        ("WX411325199005170132", "WX411325199005170132"),  # inside a longer reference: not a number
        ("411325199005170133", "411325199005170133"),  # wrong check character: not a number
        ({"a": ["x 411325199005170132"], "n": 3}, {"a": ["x 411325********0132"], "n": 3}),
    ],
)
def test_whole_numbers_in_free_text_are_masked_for_masked_readers(given, shown):
    assert mask_whole_numbers(given) == shown
