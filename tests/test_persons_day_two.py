"""Day two of persons over GraphQL: details changed, an ID number corrected (医保局),
a transfer to another village, life events — per role and scope, refused inputs writing
nothing, audited without ID numbers, tallies equal to a recount after each change."""
from __future__ import annotations

import json
import threading
from datetime import date

from sqlalchemy import text

from domain.persons.idnumber import make_id_number, mask
from domain.progress.store import tally_drift
from schema.relay import from_global_id
from tests.payment_support import campaign, pay
from tests.quota_support import UNPAID
from tests.support import new_id_number

YEAR = 2027  # neixiang-2027.json: window 2026-09-01 .. 2026-12-31, standard 400

PERSON = """
query($n: String!, $year: Int!) {
  person(idNumber: $n) {
    id idNumber name birthDate sex unit { code }
    enrollment(year: $year) { status paidAmount }
    events { id kind date note withdrawn refundOffered refundYears }
    changes { by field before after reason }
  }
}"""

REGISTER = """
mutation($input: RegisterPersonInput!) { registerPerson(input: $input) { person { id idNumber } userErrors { code } } }"""

UPDATE = """
mutation($input: UpdatePersonInput!) {
  updatePerson(input: $input) { person { name } userErrors { field code message } }
}"""

CORRECT = """
mutation($input: CorrectIdNumberInput!) {
  correctIdNumber(input: $input) { person { idNumber birthDate sex } userErrors { field code message } }
}"""

TRANSFER = """
mutation($input: TransferPersonInput!) {
  transferPerson(input: $input) { person { unit { code } } userErrors { field code message } }
}"""

RECORD = """
mutation($input: RecordPersonEventInput!) {
  recordPersonEvent(input: $input) {
    event { id kind date withdrawn refundOffered refundYears } person { enrollment(year: 2027) { status } }
    userErrors { field code message }
  }
}"""

WITHDRAW = """
mutation($input: WithdrawPersonEventInput!) {
  withdrawPersonEvent(input: $input) {
    event { id withdrawn refundOffered } person { enrollment(year: 2027) { status } }
    userErrors { field code message }
  }
}"""

PROGRESS = "query { quotaProgress(year: 2027) { unit { code } persons unpaid paid excused } }"

NEVER = "query($unit: ID) { neverEnrolled(year: 2027, unit: $unit) { totalCount edges { node { idNumber } } } }"


def register(client, county, unit: str = "100201", born: date = date(1980, 1, 1), name: str = "张三") -> dict:
    number = new_id_number(born=born)
    payload = client.data(REGISTER, {"input": {"idNumber": number, "name": name, "unit": county.units[unit]}},
                          county.tokens["admin"])["registerPerson"]
    assert payload["userErrors"] == [], payload
    return payload["person"]


def read(client, token: str, number: str) -> dict | None:
    return client.data(PERSON, {"n": number, "year": YEAR}, token)["person"]


def codes(payload: dict) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


def mutate(client, token: str, query: str, field: str, **input) -> dict:
    return client.data(query, {"input": input}, token)[field]


def no_drift(owner_db, county) -> None:
    tenant = from_global_id(county.id)[1]
    assert owner_db(lambda db: tally_drift(db, tenant, YEAR), tenant) == []


def audit_rows(owner_db, county, operation: str) -> list[tuple]:
    tenant = from_global_id(county.id)[1]

    async def go(db):
        rows = await db.execute(
            text("SELECT outcome, before, after FROM audit_log WHERE tenant_id = :t AND operation = :o ORDER BY id"),
            {"t": tenant, "o": operation},
        )
        return [tuple(r) for r in rows]

    return owner_db(go, tenant)


def test_details_change_in_scope_checked_as_at_registration(client, new_county, clock, owner_db, county_b):
    county, _ = campaign(client, new_county, clock)
    person = register(client, county)
    collector, other = county.tokens["collector"], county.tokens["collector2"]
    changed = mutate(client, collector, UPDATE, "updatePerson", person=person["id"], name=" 张三丰 ", phone="13800000000")
    assert changed == {"person": {"name": "张三丰"}, "userErrors": []}
    # formula injection and control characters refused as at registration; nothing written
    for bad in ("=HYPERLINK(1)", "+1", "-x", "@SUM", "张\u202e三"):
        refused = mutate(client, collector, UPDATE, "updatePerson", person=person["id"], name=bad)
        assert codes(refused) == [("INVALID_NAME", ["name"])] and refused["person"] is None
    assert codes(mutate(client, collector, UPDATE, "updatePerson", person=person["id"], name="  ")) == [("EMPTY_NAME", ["name"])]
    assert codes(mutate(client, collector, UPDATE, "updatePerson", person=person["id"], phone="call me")) == [
        ("INVALID_PHONE", ["phone"])
    ]
    assert codes(mutate(client, collector, UPDATE, "updatePerson", person=person["id"], name="张三丰")) == [
        ("NOTHING_TO_CHANGE", ["person"])
    ]
    # another village's collector, another county: the person does not exist for them
    for token in (other, county_b.tokens["admin"], county_b.tokens["collector"]):
        assert codes(mutate(client, token, UPDATE, "updatePerson", person=person["id"], name="李四")) == [
            ("NOT_FOUND", ["person"])
        ]
    # township staff above the village may; finance reads only
    assert mutate(client, county.tokens["township"], UPDATE, "updatePerson", person=person["id"], phone="")["userErrors"] == []
    assert codes(mutate(client, county.tokens["finance"], UPDATE, "updatePerson", person=person["id"], name="李四")) == [
        ("FORBIDDEN", None)
    ]
    seen = read(client, county.tokens["admin"], person["idNumber"])
    assert seen["name"] == "张三丰"
    assert [(c["by"], c["field"], c["before"], c["after"]) for c in seen["changes"]] == [
        ("collector", "name", "张三", "张三丰"), ("collector", "phone", None, "13800000000"),
        ("township", "phone", "13800000000", None),
    ]
    audited = audit_rows(owner_db, county, "updatePerson")
    assert [a[0] for a in audited].count("ok") == 2 and "rejected" in [a[0] for a in audited]
    assert person["idNumber"] not in json.dumps([a[1:] for a in audited], ensure_ascii=False)


def test_medical_security_corrects_an_id_number_and_the_person_keeps_their_record(client, new_county, clock, owner_db):
    county, _ = campaign(client, new_county, clock, today=date(2026, 10, 8))
    person = register(client, county, born=date(1980, 1, 1))
    other = register(client, county, unit="300201", born=date(1981, 2, 2))
    assert pay(client, county.tokens["collector"], person["idNumber"], YEAR, "400.00", date(2026, 10, 8))["userErrors"] == []
    medical = county.tokens["medical"]
    right = make_id_number("411325", date(1962, 7, 15), 522)  # older: a different age, sex F
    # only 医保局, with a reason, a valid number nobody else holds
    for role in ("collector", "township", "admin", "tax", "civil"):
        refused = mutate(client, county.tokens[role], CORRECT, "correctIdNumber", person=person["id"], idNumber=right, reason="户籍证明")
        assert codes(refused) == [("FORBIDDEN", None)], role
    assert codes(mutate(client, medical, CORRECT, "correctIdNumber", person=person["id"], idNumber=right, reason=" ")) == [
        ("REASON_REQUIRED", ["reason"])
    ]
    broken = right[:-1] + ("0" if right[-1] != "0" else "1")
    assert codes(mutate(client, medical, CORRECT, "correctIdNumber", person=person["id"], idNumber=broken, reason="户籍证明")) == [
        ("INVALID_ID_CHECKSUM", ["idNumber"])
    ]
    taken = mutate(client, medical, CORRECT, "correctIdNumber", person=person["id"], idNumber=other["idNumber"], reason="户籍证明")
    assert codes(taken) == [("ID_NUMBER_IN_USE", ["idNumber"])] and "李营村" in taken["userErrors"][0]["message"]
    assert codes(mutate(client, medical, CORRECT, "correctIdNumber", person=person["id"], idNumber=person["idNumber"],
                        reason="户籍证明")) == [("ID_NUMBER_UNCHANGED", ["idNumber"])]
    assert read(client, medical, right) is None  # nothing written
    corrected = mutate(client, medical, CORRECT, "correctIdNumber", person=person["id"], idNumber=right.lower(),
                       reason=f"户籍证明，原号码 {person['idNumber']} 有误")
    assert corrected == {"person": {"idNumber": right, "birthDate": "1962-07-15", "sex": "F"}, "userErrors": []}
    assert read(client, medical, person["idNumber"]) is None
    after = read(client, medical, right)
    assert after["id"] == person["id"] and after["enrollment"] == {"status": "PAID", "paidAmount": "400.00"}
    [change] = after["changes"]
    assert (change["field"], change["before"], change["after"]) == ("idNumber", person["idNumber"], right)
    # readers who see numbers masked get both numbers masked, the reason too
    [masked] = read(client, county.tokens["civil"], right)["changes"]
    assert (masked["before"], masked["after"]) == (mask(person["idNumber"]), mask(right))
    assert person["idNumber"] not in masked["reason"]
    audited = json.dumps(audit_rows(owner_db, county, "correctIdNumber"), ensure_ascii=False)
    assert person["idNumber"] not in audited and right not in audited and mask(right) in audited
    no_drift(owner_db, county)


def test_transfer_moves_the_person_and_the_tallies(client, new_county, clock, owner_db, county_b):
    county, _ = campaign(client, new_county, clock, today=date(2026, 10, 8))
    paid = register(client, county)
    unpaid = register(client, county, name="李四")
    assert pay(client, county.tokens["collector"], paid["idNumber"], YEAR, "400.00", date(2026, 10, 8))["userErrors"] == []
    collector, receiving = county.tokens["collector"], county.tokens["collector2"]
    units = county.units
    # the receiving side may not pull a person; the unit must hold persons, be another, be in the county
    assert codes(mutate(client, receiving, TRANSFER, "transferPerson", person=paid["id"], to=units["300201"])) == [
        ("NOT_FOUND", ["person"])
    ]
    assert codes(mutate(client, collector, TRANSFER, "transferPerson", person=paid["id"], to=units["300"])) == [
        ("INVALID_UNIT", ["to"])
    ]
    assert codes(mutate(client, collector, TRANSFER, "transferPerson", person=paid["id"], to=units["100201"])) == [
        ("SAME_UNIT", ["to"])
    ]
    assert codes(mutate(client, collector, TRANSFER, "transferPerson", person=paid["id"], to=county_b.units["300201"])) == [
        ("NOT_FOUND", ["to"])
    ]
    assert codes(mutate(client, county_b.tokens["admin"], TRANSFER, "transferPerson", person=paid["id"], to=units["300201"])) == [
        ("NOT_FOUND", ["person"])
    ]
    assert codes(mutate(client, county.tokens["finance"], TRANSFER, "transferPerson", person=paid["id"], to=units["300201"])) == [
        ("FORBIDDEN", None)
    ]
    before = {r["unit"]["code"]: r for r in client.data(PROGRESS, None, county.tokens["admin"])["quotaProgress"]}
    moved = mutate(client, collector, TRANSFER, "transferPerson", person=paid["id"], to=units["300201"])
    assert moved == {"person": None, "userErrors": []}  # out of the sender's scope now
    assert read(client, collector, paid["idNumber"]) is None
    seen = read(client, receiving, paid["idNumber"])
    assert seen["unit"]["code"] == county.code + "300201" and seen["enrollment"]["status"] == "PAID"
    assert seen["changes"][0]["field"] == "unit" and "李营村" in seen["changes"][0]["after"]
    # township staff move a person of their subtree; the county (医保局) anywhere
    assert mutate(client, county.tokens["township"], TRANSFER, "transferPerson", person=unpaid["id"], to=units["100001"])[
        "userErrors"] == []
    assert mutate(client, county.tokens["medical"], TRANSFER, "transferPerson", person=unpaid["id"], to=units["300202"])[
        "userErrors"] == []
    after = {r["unit"]["code"]: r for r in client.data(PROGRESS, None, county.tokens["admin"])["quotaProgress"]}
    town, township = county.code + "100", county.code + "300"
    assert (after[town]["paid"], after[town]["unpaid"]) == (before[town]["paid"] - 1, before[town]["unpaid"] - 1)
    assert (after[township]["paid"], after[township]["unpaid"]) == (before[township]["paid"] + 1, before[township]["unpaid"] + 1)
    unpaid_list = client.data(UNPAID, {"year": YEAR}, county.tokens["collector2"])["unpaidPersons"]
    assert unpaid_list["totalCount"] == 0
    no_drift(owner_db, county)


def test_a_life_event_excuses_the_year_and_offers_the_matching_refund(client, new_county, clock, owner_db, county_b):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 20))
    died = register(client, county, name="王五")
    employed = register(client, county, name="赵六")
    collector = county.tokens["collector"]
    assert pay(client, collector, employed["idNumber"], YEAR, "400.00", date(2026, 11, 2))["userErrors"] == []
    listed = {e["node"]["idNumber"] for e in client.data(UNPAID, {"year": YEAR}, collector)["unpaidPersons"]["edges"]}
    assert died["idNumber"] in listed
    never = {e["node"]["idNumber"] for e in client.data(NEVER, {"unit": None}, collector)["neverEnrolled"]["edges"]}
    assert died["idNumber"] in never
    town = county.code + "100"
    persons_before = {r["unit"]["code"]: r for r in client.data(PROGRESS, None, county.tokens["admin"])["quotaProgress"]}[town]
    # refused: in the future, before birth, another village's collector, another county
    assert codes(mutate(client, collector, RECORD, "recordPersonEvent", person=died["id"], kind="DECEASED", date="2026-11-21")) == [
        ("EVENT_IN_FUTURE", ["date"])
    ]
    assert codes(mutate(client, collector, RECORD, "recordPersonEvent", person=died["id"], kind="DECEASED", date="1970-01-01")) == [
        ("EVENT_BEFORE_BIRTH", ["date"])
    ]
    for token in (county.tokens["collector2"], county_b.tokens["medical"]):
        assert codes(mutate(client, token, RECORD, "recordPersonEvent", person=died["id"], kind="DECEASED", date="2026-11-01")) == [
            ("NOT_FOUND", ["person"])
        ]
    recorded = mutate(client, collector, RECORD, "recordPersonEvent", person=died["id"], kind="DECEASED", date="2026-11-01",
                      note="死亡证明")
    assert recorded["userErrors"] == [] and recorded["person"]["enrollment"]["status"] == "EXCUSED"
    assert recorded["event"]["refundOffered"] is None  # nothing paid
    assert codes(mutate(client, collector, RECORD, "recordPersonEvent", person=died["id"], kind="DECEASED", date="2026-11-02")) == [
        ("EVENT_EXISTS", ["kind"])
    ]
    # off the unpaid list, the 漏保 list, out of the persons who must enrol
    listed = {e["node"]["idNumber"] for e in client.data(UNPAID, {"year": YEAR}, collector)["unpaidPersons"]["edges"]}
    assert died["idNumber"] not in listed
    never = {e["node"]["idNumber"] for e in client.data(NEVER, {"unit": None}, collector)["neverEnrolled"]["edges"]}
    assert died["idNumber"] not in never
    now = {r["unit"]["code"]: r for r in client.data(PROGRESS, None, county.tokens["admin"])["quotaProgress"]}[town]
    assert (now["persons"], now["unpaid"], now["excused"]) == (
        persons_before["persons"] - 1, persons_before["unpaid"] - 1, persons_before["excused"] + 1
    )
    no_drift(owner_db, county)
    # paid already: the employee-insurance reason is offered for the paid year
    joined = mutate(client, collector, RECORD, "recordPersonEvent", person=employed["id"], kind="JOINED_EMPLOYEE_INSURANCE",
                    date="2026-11-15")
    assert joined["event"]["refundOffered"] == "JOINED_EMPLOYEE_INSURANCE" and joined["event"]["refundYears"] == [YEAR]
    assert joined["person"]["enrollment"]["status"] == "PAID"
    # withdrawn: the earlier state again
    other = county.tokens["collector2"]
    assert codes(mutate(client, other, WITHDRAW, "withdrawPersonEvent", event=recorded["event"]["id"])) == [("NOT_FOUND", ["event"])]
    withdrawn = mutate(client, collector, WITHDRAW, "withdrawPersonEvent", event=recorded["event"]["id"])
    assert withdrawn["userErrors"] == [] and withdrawn["event"]["withdrawn"] is True
    assert withdrawn["person"]["enrollment"]["status"] == "UNPAID"
    assert codes(mutate(client, collector, WITHDRAW, "withdrawPersonEvent", event=recorded["event"]["id"])) == [
        ("EVENT_WITHDRAWN", ["event"])
    ]
    listed = {e["node"]["idNumber"] for e in client.data(UNPAID, {"year": YEAR}, collector)["unpaidPersons"]["edges"]}
    assert died["idNumber"] in listed
    seen = read(client, county.tokens["admin"], died["idNumber"])
    assert [(e["kind"], e["withdrawn"]) for e in seen["events"]] == [("DECEASED", True)]
    no_drift(owner_db, county)
    audited = json.dumps(audit_rows(owner_db, county, "recordPersonEvent"), ensure_ascii=False)
    assert died["idNumber"] not in audited


def test_an_event_after_the_window_closed_leaves_the_year_but_explains_the_gap(client, new_county, clock, owner_db):
    county, _ = campaign(client, new_county, clock, today=date(2027, 1, 20))
    moved = register(client, county)
    collector = county.tokens["collector"]
    for kind in ("MOVED_OUT_OF_REGION", "ENLISTED"):
        recorded = mutate(client, collector, RECORD, "recordPersonEvent", person=moved["id"], kind=kind, date="2027-01-10")
        assert recorded["userErrors"] == [] and recorded["person"]["enrollment"]["status"] == "UNPAID"
    never = {e["node"]["idNumber"] for e in client.data(NEVER, {"unit": None}, collector)["neverEnrolled"]["edges"]}
    assert moved["idNumber"] not in never
    no_drift(owner_db, county)


def test_a_transfer_racing_a_payment_leaves_one_consistent_state(client, new_county, clock, owner_db):
    county, _ = campaign(client, new_county, clock, today=date(2026, 10, 8))
    persons = [register(client, county, name=f"并发{i}") for i in range(6)]
    results: dict[str, list] = {"pay": [], "move": []}

    def pay_one(person):
        results["pay"].append(pay(client, county.tokens["tax"], person["idNumber"], YEAR, "400.00", date(2026, 10, 8),
                                  channel="TAX_HALL"))

    def move_one(person):
        results["move"].append(mutate(client, county.tokens["township"], TRANSFER, "transferPerson", person=person["id"],
                                      to=county.units["300202"]))

    threads = [threading.Thread(target=f, args=(p,)) for p in persons for f in (pay_one, move_one)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r["userErrors"] == [] for r in results["pay"] + results["move"])
    for person in persons:
        seen = read(client, county.tokens["medical"], person["idNumber"])
        assert seen["unit"]["code"] == county.code + "300202" and seen["enrollment"]["status"] == "PAID"
    no_drift(owner_db, county)


def test_events_and_history_are_the_countys_own_and_never_rewritten(client, new_county, clock, urls, settings):
    import psycopg

    from api.database import connection_options

    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 20))
    person = register(client, county)
    collector = county.tokens["collector"]
    assert mutate(client, collector, UPDATE, "updatePerson", person=person["id"], name="张三丰")["userErrors"] == []
    recorded = mutate(client, collector, RECORD, "recordPersonEvent", person=person["id"], kind="DECEASED", date="2026-11-01")
    assert recorded["userErrors"] == []
    tenant = from_global_id(county.id)[1]
    with psycopg.connect(urls.app, options=connection_options(settings)) as conn:
        for table in ("person_event", "person_change"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table  # no county set
            conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant + 10_000),))
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table  # another county
            conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant),))
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 1, table
            conn.execute("RESET app.tenant_id")
        for statement in ("DELETE FROM person_event", "UPDATE person_event SET kind = 'ENLISTED'", "DELETE FROM person_change",
                          "UPDATE person_change SET after = 'x'"):
            conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant),))
            try:
                conn.execute(statement)
            except psycopg.errors.InsufficientPrivilege:
                conn.rollback()
            else:
                raise AssertionError(f"{statement} was allowed")


HISTORY = "query($id: String!) { enrollmentHistory(idNumber: $id) { year enrolled } }"
HISTORY_HEADER = ("证件号码", "姓名", "年度", "参保状态")
LAPSED = "query { lapsedPersons(year: 2027) { edges { node { idNumber } } } }"


def test_history_follows_a_corrected_number_and_an_event_explains_a_lapse(client, new_county, clock, owner_db):
    from tests.payment_import_support import csv_file, import_history

    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 20))
    person = register(client, county)
    medical = county.tokens["medical"]
    rows = [(person["idNumber"], "", 2025, "已参保"), (person["idNumber"], "", 2026, "已参保")]
    assert import_history(client, medical, csv_file(rows, header=HISTORY_HEADER))["userErrors"] == []
    lapsed = {e["node"]["idNumber"] for e in client.data(LAPSED, None, medical)["lapsedPersons"]["edges"]}
    assert person["idNumber"] in lapsed
    right = make_id_number("411325", date(1979, 3, 4), 611)
    corrected = mutate(client, medical, CORRECT, "correctIdNumber", person=person["id"], idNumber=right, reason="身份证复印件")
    assert corrected["userErrors"] == []
    assert [(h["year"], h["enrolled"]) for h in client.data(HISTORY, {"id": right}, medical)["enrollmentHistory"]] == [
        (2025, True), (2026, True)
    ]
    assert client.data(HISTORY, {"id": person["idNumber"]}, medical)["enrollmentHistory"] == []
    lapsed = {e["node"]["idNumber"] for e in client.data(LAPSED, None, medical)["lapsedPersons"]["edges"]}
    assert right in lapsed  # 断保 still, now under the right number
    recorded = mutate(client, county.tokens["collector"], RECORD, "recordPersonEvent", person=person["id"], kind="ENLISTED",
                      date="2026-10-01")
    assert recorded["userErrors"] == [] and recorded["person"]["enrollment"]["status"] == "EXCUSED"
    lapsed = {e["node"]["idNumber"] for e in client.data(LAPSED, None, medical)["lapsedPersons"]["edges"]}
    assert right not in lapsed
    no_drift(owner_db, county)


def test_the_offered_reason_refunds_the_paid_year(client, new_county, clock, owner_db):
    from tests.payment_support import decide, request_refund

    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 20))
    person = register(client, county)
    collector = county.tokens["collector"]
    paid = pay(client, collector, person["idNumber"], YEAR, "400.00", date(2026, 11, 2))
    assert paid["userErrors"] == []
    recorded = mutate(client, collector, RECORD, "recordPersonEvent", person=person["id"], kind="DECEASED", date="2026-11-10")
    reason = recorded["event"]["refundOffered"]
    assert reason == "DECEASED" and recorded["event"]["refundYears"] == [YEAR]
    requested = request_refund(client, collector, paid["payment"]["id"], reason, eventDate="2026-11-10")
    assert requested["userErrors"] == [], requested
    assert decide(client, county.tokens["tax"], requested["refund"]["id"])["userErrors"] == []
    seen = read(client, county.tokens["admin"], person["idNumber"])
    assert seen["enrollment"]["status"] == "REFUNDED"
    assert seen["events"][0]["refundOffered"] is None  # nothing paid is left to give back
    no_drift(owner_db, county)
