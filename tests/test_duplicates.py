"""重复参保 across counties: fingerprints, warnings, cases on both sides, resolution,
and what a county can (not) learn about another."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from api.database import connection_options
from domain.enrollment.store import recompute_persons
from domain.matching.rules import Facts, Side, Situation, Suggestion, suggest
from domain.progress.store import tally_drift
from schema.relay import from_global_id
from tests.payment_import_support import csv_file
from tests.payment_support import campaign, decide, shanghai
from tests.subsidy_support import csv_list, enrollment, register_person, upload
from tests.support import REGISTER

YEAR = 2027
WINDOW = date(2026, 9, 1)

RECORD = """
mutation($input: RecordPaymentInput!) {
  recordPayment(input: $input) {
    payment { id status }
    userErrors { field code message }
    warnings { code message params { name value } }
  }
}"""

CASES = """
query($year: Int!, $status: DuplicateCaseStatus, $unit: ID) {
  duplicateEnrollments(year: $year, status: $status, unit: $unit) {
    totalCount
    edges { node { id year otherTenantCode otherTenantName otherSince since status resolvedHere note
                   suggestion suggestionKey person { name } } }
  }
}"""

RESOLVE = """
mutation($input: ResolveDuplicateInput!) {
  resolveDuplicate(input: $input) {
    case { id status resolvedHere note }
    refund { id reason status amount }
    userErrors { field code message }
  }
}"""

IMPORT = """
mutation($input: ImportPaymentsInput!) {
  importPayments(input: $input) { accepted rejected warnings { code message params { name value } } userErrors { code } }
}"""

UPLOAD = """
mutation($input: UploadSubsidyListInput!) {
  uploadSubsidyList(input: $input) {
    batch { rowsAccepted } rowErrors { code } userErrors { code }
    warnings { code message params { name value } }
  }
}"""


@pytest.fixture
def two_counties(client, new_county, clock):
    """Two counties (A, B) in their 2027 campaign on its first day, in one database."""
    county_a, _ = campaign(client, new_county, clock)
    county_b, _ = campaign(client, new_county, clock)
    return county_a, county_b


def register_same(client, county, id_number: str, name: str = "重复人", unit: str = "100201") -> None:
    variables = {"input": {"idNumber": id_number, "name": name, "unit": county.units[unit]}}
    payload = client.data(REGISTER, variables, county.tokens["admin"])["registerPerson"]
    assert payload["userErrors"] == [], payload


def record(client, token, id_number, receipt, hour: int = 10):
    variables = {"input": {"idNumber": id_number, "year": YEAR, "amount": "400", "channel": "CASH_AGENT",
                           "paidAt": shanghai(WINDOW, hour).isoformat(), "receiptNo": receipt}}
    return client.data(RECORD, variables, token)["recordPayment"]


def cases(client, token, **variables) -> list[dict]:
    data = client.data(CASES, {"year": YEAR, **variables}, token)["duplicateEnrollments"]
    assert data["totalCount"] == len(data["edges"])
    return [e["node"] for e in data["edges"]]


def tenant_id(county) -> int:
    return from_global_id(county.id)[1]


@pytest.fixture
def app_conn(urls, settings):
    with psycopg.connect(urls.app, options=connection_options(settings)) as conn:
        yield conn


def bind(conn, county) -> None:
    conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant_id(county)),))


def test_paid_in_both_counties_warns_opens_two_cases_and_one_resolution_closes_both(client, two_counties, owner_db):
    county_a, county_b = two_counties
    number = register_person(client, county_a, date(1985, 3, 4), "重复人")
    register_same(client, county_b, number)

    first = record(client, county_a.tokens["collector"], number, "DUP-A-1")
    assert first["userErrors"] == [] and first["warnings"] == []
    second = record(client, county_b.tokens["collector"], number, "DUP-B-1", hour=11)
    assert second["userErrors"] == [] and second["payment"]["status"] == "ACCEPTED"  # a warning, not a refusal
    [warning] = second["warnings"]
    assert warning["code"] == "ENROLLED_ELSEWHERE"
    params = {p["name"]: p["value"] for p in warning["params"]}
    assert params["otherTenantCode"] == county_a.code and params["year"] == str(YEAR)
    assert f"测试县{county_a.code}" in warning["message"] and "重复人" in warning["message"]
    assert number not in json.dumps(second)

    [case_a] = cases(client, county_a.tokens["medical"])
    [case_b] = cases(client, county_b.tokens["medical"])
    assert (case_a["status"], case_a["otherTenantCode"]) == ("OPEN", county_b.code)
    assert (case_b["status"], case_b["otherTenantCode"]) == ("OPEN", county_a.code)
    assert case_a["otherSince"] == case_b["since"] == "2026-09-01"
    # B enrolled later: the later registration place keeps (unless the person chooses otherwise)
    assert case_b["suggestionKey"] == Suggestion.KEEP_LATER and "后参保地" in case_b["suggestion"]
    assert case_a["suggestionKey"] == Suggestion.RELEASE_LATER
    # township staff in scope see it; a collector may not
    assert [c["id"] for c in cases(client, county_a.tokens["township"])] == [case_a["id"]]
    assert client.gql(CASES, {"year": YEAR}, county_a.tokens["collector"])["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # another county's case id is simply not found
    foreign = client.data(RESOLVE, {"input": {"case": case_b["id"], "keep": True}}, county_a.tokens["medical"])
    assert [e["code"] for e in foreign["resolveDuplicate"]["userErrors"]] == ["NOT_FOUND"]
    assert cases(client, county_b.tokens["medical"], status="OPEN")[0]["id"] == case_b["id"]

    # A releases: the DUPLICATE_ENROLLMENT refund is requested; both sides close
    released = client.data(
        RESOLVE, {"input": {"case": case_a["id"], "keep": False, "note": "本人选择在B县参保"}}, county_a.tokens["medical"]
    )["resolveDuplicate"]
    assert released["userErrors"] == []
    assert released["case"] == {"id": case_a["id"], "status": "RELEASED", "resolvedHere": True, "note": "本人选择在B县参保"}
    assert (released["refund"]["reason"], released["refund"]["status"], released["refund"]["amount"]) == (
        "DUPLICATE_ENROLLMENT", "REQUESTED", "400.00")
    [closed_b] = cases(client, county_b.tokens["medical"])
    assert (closed_b["status"], closed_b["resolvedHere"], closed_b["note"]) == ("KEPT", False, None)
    assert cases(client, county_b.tokens["medical"], status="OPEN") == []
    again = client.data(RESOLVE, {"input": {"case": closed_b["id"], "keep": False}}, county_b.tokens["medical"])
    assert [e["code"] for e in again["resolveDuplicate"]["userErrors"]] == ["CASE_CLOSED"]
    assert cases(client, county_b.tokens["medical"])[0]["status"] == "KEPT"  # nothing changed

    # the refund approved: A's enrolment ends, and its fingerprint with it
    approved = decide(client, county_a.tokens["tax"], released["refund"]["id"])
    assert approved["userErrors"] == []
    fingerprints = owner_db(lambda db: _fingerprints(db, number))
    assert [t for t, _ in fingerprints] == [tenant_id(county_b)]

    audit = owner_db(lambda db: _audit(db, "resolveDuplicate"), tenant_id(county_a))
    assert ("ok", "duplicate_case") in audit


async def _fingerprints(db, number: str):
    from sqlalchemy import text

    rows = await db.execute(
        text("SELECT f.tenant_id, f.fingerprint FROM enrolment_fingerprint f WHERE f.year = :y AND f.fingerprint = "
             "(SELECT sha256(k.opad || sha256(k.ipad || convert_to(:n, 'UTF8'))) FROM match_key k) ORDER BY 1"),
        {"y": YEAR, "n": number},
    )
    return [(r[0], bytes(r[1])) for r in rows]


async def _audit(db, operation: str):
    from sqlalchemy import text

    rows = await db.execute(text("SELECT outcome, entity FROM audit_log WHERE operation = :o"), {"o": operation})
    return [tuple(r) for r in rows]


def test_fingerprint_is_hmac_sha256_of_the_number_with_the_platform_secret(client, two_counties, owner_db, settings):
    county_a, _ = two_counties
    number = register_person(client, county_a, date(1979, 1, 2))
    assert record(client, county_a.tokens["collector"], number, "FP-1")["userErrors"] == []
    [(tenant, fingerprint)] = owner_db(lambda db: _fingerprints(db, number))
    assert tenant == tenant_id(county_a)
    assert fingerprint == hmac.new(settings.match_secret.encode(), number.encode(), hashlib.sha256).digest()


def test_serving_role_cannot_read_fingerprints_nor_write_cases(app_conn, two_counties):
    county_a, _ = two_counties
    bind(app_conn, county_a)
    for statement in (
        "SELECT * FROM enrolment_fingerprint",
        "SELECT * FROM match_key",
        "SELECT match_apply(1, 2027, '{}', '{}')",
        "SELECT match_refingerprint()",
        "INSERT INTO duplicate_case (tenant_id, year, person_id, pair_id, other_tenant_id, since, at_school, other_since,"
        " other_at_school) VALUES (1, 2027, 1, gen_random_uuid(), 2, now(), false, now(), false)",
        "UPDATE duplicate_case SET status = 'KEPT'",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app_conn.execute(statement)
        app_conn.rollback()
        bind(app_conn, county_a)


def test_match_function_answers_only_about_the_callers_own_persons(client, two_counties, new_county, app_conn, clock):
    county_a, county_b = two_counties
    county_c, _ = campaign(client, new_county, clock)
    number = register_person(client, county_a, date(1990, 7, 8), "甲")
    register_same(client, county_b, number, "甲")
    assert record(client, county_a.tokens["collector"], number, "M-A")["userErrors"] == []
    assert record(client, county_b.tokens["collector"], number, "M-B")["warnings"]

    bind(app_conn, county_b)
    rows = app_conn.execute("SELECT * FROM match_elsewhere(%s)", (YEAR,)).fetchall()
    assert [(r[1], r[2]) for r in rows] == [(county_a.code, f"测试县{county_a.code}")]
    assert all(number not in str(value) for r in rows for value in r)
    # C does not have the person: nothing, whatever it asks for
    bind(app_conn, county_c)
    assert app_conn.execute("SELECT * FROM match_elsewhere(%s)", (YEAR,)).fetchall() == []
    assert app_conn.execute("SELECT * FROM match_elsewhere(%s, %s)", (YEAR, [rows[0][0]])).fetchall() == []
    # no county bound: nothing
    app_conn.execute("SELECT set_config('app.tenant_id', '', false)")
    assert app_conn.execute("SELECT * FROM match_elsewhere(%s)", (YEAR,)).fetchall() == []
    # C cannot close A's or B's cases either
    bind(app_conn, county_c)
    case_ids = [r[0] for r in app_conn.execute("SELECT id FROM duplicate_case").fetchall()]
    assert case_ids == []  # row-level security: its own cases only
    assert app_conn.execute("SELECT match_resolve_case(1, true, null, 'x')").fetchone()[0] == "NOT_FOUND"
    assert app_conn.execute("SELECT match_reopen_case(1, null, 'x')").fetchone()[0] == "NOT_FOUND"


def test_import_and_list_upload_warn_about_persons_enrolled_elsewhere(client, two_counties):
    county_a, county_b = two_counties
    paid = register_person(client, county_a, date(1970, 2, 3), "导入人")
    listed = register_person(client, county_a, date(1950, 4, 5), "特困人")
    register_same(client, county_b, paid, "导入人")
    register_same(client, county_b, listed, "特困人")
    assert record(client, county_a.tokens["collector"], paid, "IMP-A")["userErrors"] == []
    assert record(client, county_a.tokens["collector"], listed, "IMP-A2")["userErrors"] == []

    moment = shanghai(WINDOW, 11).isoformat(sep=" ")
    data = csv_file([(paid, "导入人", "400", "微信", moment, "WX-DUP-1")])
    body = client.upload(IMPORT, {"input": {"year": YEAR, "file": None}}, "variables.input.file", "c.csv", data,
                         county_b.tokens["tax"])
    result = body["data"]["importPayments"]
    assert result["accepted"] == 1 and result["userErrors"] == []
    assert [w["code"] for w in result["warnings"]] == ["ENROLLED_ELSEWHERE"]
    assert "导入人" in result["warnings"][0]["message"] and paid not in json.dumps(result)

    listing = csv_list([("特困人", listed, "张庄村", "2026-08-01", "")])
    body = client.upload(UPLOAD, {"input": {"year": YEAR, "category": "tekun", "file": None}}, "variables.input.file",
                         "l.csv", listing, county_b.tokens["civil"])
    uploaded = body["data"]["uploadSubsidyList"]
    assert uploaded["userErrors"] == [] and uploaded["batch"]["rowsAccepted"] == 1
    assert [w["code"] for w in uploaded["warnings"]] == ["ENROLLED_ELSEWHERE"]
    assert listed not in json.dumps(uploaded)
    assert sorted(c["person"]["name"] for c in cases(client, county_a.tokens["medical"])) == ["导入人", "特困人"]


def test_a_file_of_more_persons_than_are_locked_one_by_one_finds_exactly_the_duplicates(client, two_counties, owner_db):
    """Over 200 persons enrolled by one statement take the year's lock and are read as
    one set (migration 0019a): every one fingerprinted, only the shared ones matched."""
    county_a, county_b = two_counties
    shared = [register_person(client, county_a, date(1960, 1, 1 + n), f"两地{n}") for n in range(3)]
    for n, number in enumerate(shared):
        assert record(client, county_a.tokens["collector"], number, f"BIG-A{n}")["userErrors"] == []
    for n, number in enumerate(shared):
        register_same(client, county_b, number, f"两地{n}")
    only_here = [register_person(client, county_b, date(1980, 1 + n % 12, 1 + n % 28), f"本地{n}") for n in range(230)]
    moment = shanghai(WINDOW, 11).isoformat(sep=" ")
    names = [f"本地{n}" for n in range(len(only_here))] + [f"两地{n}" for n in range(len(shared))]
    rows = [(number, name, "400", "微信", moment, f"WX-BIG-{n}")
            for n, (number, name) in enumerate(zip(only_here + shared, names, strict=True))]
    body = client.upload(IMPORT, {"input": {"year": YEAR, "file": None}}, "variables.input.file", "big.csv",
                         csv_file(rows), county_b.tokens["tax"])
    result = body["data"]["importPayments"]
    assert result["userErrors"] == [] and result["accepted"] == len(rows)
    assert sorted(w["message"][:3] for w in result["warnings"]) == ["两地0", "两地1", "两地2"]
    for county in (county_a, county_b):
        assert sorted(c["person"]["name"] for c in cases(client, county.tokens["medical"])) == ["两地0", "两地1", "两地2"]
    counted = owner_db(lambda db: _fingerprint_count(db, tenant_id(county_b)))
    assert counted == len(rows)


async def _fingerprint_count(db, tenant: int) -> int:
    from sqlalchemy import text

    return await db.scalar(
        text("SELECT count(*) FROM enrolment_fingerprint WHERE tenant_id = :t AND year = :y"), {"t": tenant, "y": YEAR}
    )


def _subsidised_here_paid_there(client, county_a, county_b, names: list[str]) -> dict[str, tuple[str, dict, dict]]:
    """Persons on A's 特困 list (SUBSIDIZED) whom B then enrols by payments: a case each
    side. name → (ID number, A's case, B's case)."""
    numbers = [register_person(client, county_a, date(1950, 4, 5 + n), name) for n, name in enumerate(names)]
    for number, name in zip(numbers, names, strict=True):
        register_same(client, county_b, number, name)
    listing = csv_list([(name, number, "张庄村", "2026-08-01", "") for number, name in zip(numbers, names, strict=True)])
    assert upload(client, county_a.tokens["civil"], YEAR, "tekun", listing)["batch"]["rowsAccepted"] == len(names)
    for n, number in enumerate(numbers):
        assert enrollment(client, county_a.tokens["admin"], number, YEAR)["status"] == "SUBSIDIZED"
        paid = record(client, county_b.tokens["collector"], number, f"SUB-{n}")
        assert paid["warnings"], paid
    by_name = {side: {c["person"]["name"]: c for c in cases(client, county.tokens["medical"], status="OPEN")}
               for side, county in (("a", county_a), ("b", county_b))}
    return {name: (number, by_name["a"][name], by_name["b"][name]) for number, name in zip(numbers, names, strict=True)}


def test_a_subsidised_year_released_leaves_the_scheme_here_whoever_decides(client, two_counties, owner_db):
    """Released by A's own decision or by B keeping the person, A's subsidised year is
    EXCUSED at once (no refund: nothing was paid here), its fingerprint goes, the
    tallies follow, and A's recompute finds nothing left to change."""
    county_a, county_b = two_counties
    a = tenant_id(county_a)
    pairs = _subsidised_here_paid_there(client, county_a, county_b, ["特困甲", "特困乙"])
    released, case_a, _ = pairs["特困甲"]
    kept_there, _, case_b = pairs["特困乙"]
    # A releases one; B keeps the other, which releases A's side by B's decision
    payload = client.data(RESOLVE, {"input": {"case": case_a["id"], "keep": False}}, county_a.tokens["medical"])
    assert payload["resolveDuplicate"]["userErrors"] == [] and payload["resolveDuplicate"]["refund"] is None
    payload = client.data(RESOLVE, {"input": {"case": case_b["id"], "keep": True}}, county_b.tokens["medical"])
    assert payload["resolveDuplicate"]["userErrors"] == []
    statuses = {c["person"]["name"]: (c["status"], c["resolvedHere"]) for c in cases(client, county_a.tokens["medical"])}
    assert statuses == {"特困甲": ("RELEASED", True), "特困乙": ("RELEASED", False)}

    for number in (released, kept_there):
        year = enrollment(client, county_a.tokens["admin"], number, YEAR)
        assert (year["status"], year["benefitStart"]) == ("EXCUSED", None), year
        assert [t for t, _ in owner_db(lambda db, n=number: _fingerprints(db, n))] == [tenant_id(county_b)]
    assert owner_db(lambda db: tally_drift(db, a, YEAR), a) == []
    progress = client.data(PROGRESS, {"year": YEAR}, county_a.tokens["admin"])["quotaProgress"]
    assert sum(row["subsidized"] for row in progress) == 0 and sum(row["excused"] for row in progress) == 2
    # what the database did for B's decision is what A's own recompute makes of it
    assert owner_db(lambda db: _recompute(db, a, [released, kept_there]), a) == 0
    assert {enrollment(client, county_a.tokens["admin"], n, YEAR)["status"] for n in (released, kept_there)} == {"EXCUSED"}
    # B's paid years are untouched
    assert {enrollment(client, county_b.tokens["admin"], n, YEAR)["status"] for n in (released, kept_there)} == {"PAID"}
    # A's own trail says what B's decision did to A's records
    trail = owner_db(lambda db: _trail(db, "resolveDuplicate"), a)
    assert [(actor.split("/")[0], after) for actor, after in trail if actor.startswith("county:")] == [
        (f"county:{county_b.code}", {"status": "RELEASED", "enrollment": "EXCUSED"})]
    # insured elsewhere: not 漏保 (nor 断保) for A's village collectors to chase
    gaps = client.data(GAPS, {"year": YEAR}, county_a.tokens["admin"])
    assert not {"特困甲", "特困乙"} & {e["node"]["name"] for key in gaps for e in gaps[key]["edges"]}


def test_a_keep_there_waits_for_a_list_upload_of_the_year_here(client, two_counties, owner_db, urls):
    """B keeping the person ends A's subsidised year; a list upload of A's year in
    progress (its policy row held, as an upload holds it) recomputes the person without
    seeing that release, so B's decision waits for it and is not written over."""
    county_a, county_b = two_counties
    a = tenant_id(county_a)
    number, _, case_b = _subsidised_here_paid_there(client, county_a, county_b, ["特困丙"])["特困丙"]
    outcome: list[dict] = []
    with psycopg.connect(urls.owner) as upload_in_progress:
        bind(upload_in_progress, county_a)
        upload_in_progress.execute(
            "SELECT 1 FROM year_policy WHERE tenant_id = %s AND year = %s FOR NO KEY UPDATE", (a, YEAR))
        keeper = threading.Thread(target=lambda: outcome.append(client.data(
            RESOLVE, {"input": {"case": case_b["id"], "keep": True}}, county_b.tokens["medical"])))
        keeper.start()
        _until_someone_waits_for(upload_in_progress)
        assert outcome == [] and enrollment(client, county_a.tokens["admin"], number, YEAR)["status"] == "SUBSIDIZED"
        upload_in_progress.commit()
    keeper.join(timeout=60)
    assert outcome and outcome[0]["resolveDuplicate"]["userErrors"] == []
    assert enrollment(client, county_a.tokens["admin"], number, YEAR)["status"] == "EXCUSED"
    assert owner_db(lambda db: tally_drift(db, a, YEAR), a) == []


REOPEN = """
mutation($input: ReopenDuplicateInput!) {
  reopenDuplicate(input: $input) { case { id status resolvedHere note } userErrors { field code message } }
}"""


def reopen(client, token: str, case_id: str, note: str | None = None) -> dict:
    return client.data(REOPEN, {"input": {"case": case_id, "note": note}}, token)["reopenDuplicate"]


def test_the_county_that_decided_undoes_its_decision_and_what_it_did(client, two_counties, owner_db):
    """A released one person (its subsidised year ended here); B kept the other (A's
    subsidised year ended by B's decision). Each decision is undone by the county that
    made it, never by the other: both sides OPEN, the years SUBSIDIZED again as A's own
    recompute makes them, the tallies right, A's trail told."""
    county_a, county_b = two_counties
    a = tenant_id(county_a)
    pairs = _subsidised_here_paid_there(client, county_a, county_b, ["特困丁", "特困戊"])
    released, case_a, released_b = pairs["特困丁"]
    kept_there, kept_a, case_b = pairs["特困戊"]
    medical_a, medical_b = county_a.tokens["medical"], county_b.tokens["medical"]
    assert [e["code"] for e in reopen(client, medical_a, case_a["id"])["userErrors"]] == ["CASE_NOT_REOPENABLE"]  # open
    client.data(RESOLVE, {"input": {"case": case_a["id"], "keep": False}}, medical_a)
    client.data(RESOLVE, {"input": {"case": case_b["id"], "keep": True}}, medical_b)
    assert {enrollment(client, county_a.tokens["admin"], n, YEAR)["status"] for n in (released, kept_there)} == {"EXCUSED"}

    # not by the other county
    refused = reopen(client, medical_b, released_b["id"])["userErrors"]
    assert [(e["code"], e["message"]) for e in refused] == [("CASE_NOT_REOPENABLE", "这条重复参保记录由对方县作出处理决定，只能由对方撤销。")]
    assert [e["code"] for e in reopen(client, medical_a, kept_a["id"])["userErrors"]] == ["CASE_NOT_REOPENABLE"]

    undone = reopen(client, medical_a, case_a["id"], "误操作，本人仍在本县参保")
    assert undone["userErrors"] == [] and undone["case"]["status"] == "OPEN" and undone["case"]["resolvedHere"] is None
    undone = reopen(client, medical_b, case_b["id"])
    assert undone["userErrors"] == []
    for county in (county_a, county_b):
        assert {c["person"]["name"]: c["status"] for c in cases(client, county.tokens["medical"])} == {
            "特困丁": "OPEN", "特困戊": "OPEN"}
    for number in (released, kept_there):
        year = enrollment(client, county_a.tokens["admin"], number, YEAR)
        assert (year["status"], year["benefitStart"]) == ("SUBSIDIZED", "2027-01-01"), year
        assert [t for t, _ in owner_db(lambda db, n=number: _fingerprints(db, n))] == [a, tenant_id(county_b)]
    assert owner_db(lambda db: tally_drift(db, a, YEAR), a) == []
    assert owner_db(lambda db: _recompute(db, a, [released, kept_there]), a) == 0
    trail = owner_db(lambda db: _trail(db, "reopenDuplicate"), a)
    assert [(actor.split("/")[0], after) for actor, after in trail if actor.startswith("county:")] == [
        (f"county:{county_b.code}", {"status": "OPEN", "enrollment": "SUBSIDIZED"})]
    # decided again, as anyone would after a correction
    again = client.data(RESOLVE, {"input": {"case": case_a["id"], "keep": True}}, medical_a)["resolveDuplicate"]
    assert again["userErrors"] == [] and again["case"]["status"] == "KEPT"


def test_a_release_with_its_refund_standing_is_not_undone_until_the_refund_is_rejected(client, two_counties):
    county_a, county_b = two_counties
    number = register_person(client, county_a, date(1986, 5, 6), "退费人")
    register_same(client, county_b, number, "退费人")
    assert record(client, county_a.tokens["collector"], number, "RF-A")["userErrors"] == []
    assert record(client, county_b.tokens["collector"], number, "RF-B", hour=11)["warnings"]
    [case_a] = cases(client, county_a.tokens["medical"])
    released = client.data(RESOLVE, {"input": {"case": case_a["id"], "keep": False}}, county_a.tokens["medical"])
    refund = released["resolveDuplicate"]["refund"]
    refused = reopen(client, county_a.tokens["medical"], case_a["id"])["userErrors"]
    assert [e["code"] for e in refused] == ["RELEASE_REFUND_STANDS"] and "REQUESTED" in refused[0]["message"]
    assert decide(client, county_a.tokens["tax"], refund["id"], approve=False)["userErrors"] == []
    assert reopen(client, county_a.tokens["medical"], case_a["id"])["userErrors"] == []
    assert enrollment(client, county_a.tokens["admin"], number, YEAR)["status"] == "PAID"
    assert [c["status"] for c in cases(client, county_b.tokens["medical"])] == ["OPEN"]


def test_a_careless_or_crafted_reopen_changes_nothing(client, two_counties):
    """Garbage and foreign IDs, a NUL byte, a huge note, no token: refused, said why,
    the decision and the year as they were."""
    county_a, county_b = two_counties
    pairs = _subsidised_here_paid_there(client, county_a, county_b, ["特困己"])
    number, case_a, case_b = pairs["特困己"]
    medical_a = county_a.tokens["medical"]
    client.data(RESOLVE, {"input": {"case": case_a["id"], "keep": False}}, medical_a)

    def codes(case_id, note=None, token=medical_a):
        body = client.gql(REOPEN, {"input": {"case": case_id, "note": note}}, token)
        if body.get("errors"):
            return [e["extensions"]["code"] for e in body["errors"]]
        return [(e["code"], e["field"]) for e in body["data"]["reopenDuplicate"]["userErrors"]]

    assert codes("not-an-id") == [("NOT_FOUND", ["case"])]
    assert codes(case_b["id"]) == [("NOT_FOUND", ["case"])]  # B's side of the same pair
    assert codes(case_a["id"], note="误\x00操作")[0][0] == "INVALID_TEXT"
    assert codes(case_a["id"], note="备" * 100_000)[0][0] in ("TEXT_TOO_LONG", "INVALID_TEXT")
    assert codes(case_a["id"], token=None) == [("UNAUTHENTICATED", None)]
    assert codes(case_a["id"], token=county_a.tokens["collector"]) == [("FORBIDDEN", None)]
    [still] = cases(client, medical_a)
    assert (still["status"], still["resolvedHere"]) == ("RELEASED", True)
    assert enrollment(client, county_a.tokens["admin"], number, YEAR)["status"] == "EXCUSED"


def _until_someone_waits_for(conn) -> None:
    """Until another transaction waits for `conn`'s (a row it holds)."""
    for _ in range(400):
        waiting = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'"
            " AND transactionid = pg_current_xact_id()::xid"
        ).fetchone()[0]
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("nobody came to wait for the held row")


PROGRESS = "query($year: Int!) { quotaProgress(year: $year) { subsidized excused } }"
GAPS = """query($year: Int!) {
  lapsedPersons(year: $year, first: 100) { edges { node { name } } }
  neverEnrolled(year: $year, first: 100) { edges { node { name } } }
}"""


async def _trail(db, operation: str) -> list[tuple[str, dict]]:
    from sqlalchemy import text

    rows = await db.execute(text("SELECT actor, after FROM audit_log WHERE operation = :o ORDER BY id"), {"o": operation})
    return [(r.actor, r.after) for r in rows]


async def _recompute(db, tenant: int, numbers: list[str]) -> int:
    from sqlalchemy import text

    ids = [r[0] for r in await db.execute(
        text("SELECT id FROM person WHERE tenant_id = :t AND id_number = ANY(:n)"), {"t": tenant, "n": numbers})]
    return await recompute_persons(db, tenant, ids, [YEAR])


def test_dry_run_list_upload_opens_no_case(client, two_counties):
    county_a, county_b = two_counties
    listed = register_person(client, county_a, date(1951, 4, 5), "试算人")
    register_same(client, county_b, listed, "试算人")
    assert record(client, county_a.tokens["collector"], listed, "DRY-A")["userErrors"] == []
    result = upload(client, county_b.tokens["civil"], YEAR, "tekun", csv_list([("试算人", listed, "张庄村", "", "")]),
                    dry_run=True)
    assert result["userErrors"] == []
    assert cases(client, county_a.tokens["medical"]) == [] and cases(client, county_b.tokens["medical"]) == []


def test_keeping_records_the_person_stays_and_releases_the_other_side(client, two_counties):
    county_a, county_b = two_counties
    number = register_person(client, county_a, date(1988, 8, 8), "留下")
    register_same(client, county_b, number, "留下")
    record(client, county_a.tokens["collector"], number, "K-A")
    record(client, county_b.tokens["collector"], number, "K-B")
    [case_b] = cases(client, county_b.tokens["township"])
    # `unit`: that subtree only
    assert cases(client, county_b.tokens["medical"], unit=county_b.units["300"]) == []
    assert [c["id"] for c in cases(client, county_b.tokens["medical"], unit=county_b.units["100201"])] == [case_b["id"]]
    kept = client.data(RESOLVE, {"input": {"case": case_b["id"], "keep": True}}, county_b.tokens["township"])
    assert kept["resolveDuplicate"]["userErrors"] == [] and kept["resolveDuplicate"]["refund"] is None
    assert kept["resolveDuplicate"]["case"]["status"] == "KEPT"
    assert [(c["status"], c["resolvedHere"]) for c in cases(client, county_a.tokens["medical"])] == [("RELEASED", False)]


def test_an_enrolment_ending_otherwise_closes_the_open_case_on_both_sides(client, two_counties):
    county_a, county_b = two_counties
    number = register_person(client, county_a, date(1960, 6, 6), "放弃人")
    register_same(client, county_b, number, "放弃人")
    record(client, county_a.tokens["collector"], number, "G-A")
    paid_b = record(client, county_b.tokens["collector"], number, "G-B", hour=11)
    assert [c["status"] for c in cases(client, county_a.tokens["medical"])] == ["OPEN"]
    # B's payer gives up (reason 6) before the window closed: approved, B's enrolment ends
    refund = client.data(
        """mutation($input: RequestRefundInput!) { requestRefund(input: $input) { refund { id } userErrors { code } } }""",
        {"input": {"payment": paid_b["payment"]["id"], "reason": "GAVE_UP", "eventDate": "2026-09-01"}},
        county_b.tokens["medical"],
    )["requestRefund"]
    assert refund["userErrors"] == []
    assert decide(client, county_b.tokens["tax"], refund["refund"]["id"])["userErrors"] == []
    assert [(c["status"], c["resolvedHere"]) for c in cases(client, county_b.tokens["medical"])] == [("RELEASED", True)]
    assert [(c["status"], c["resolvedHere"]) for c in cases(client, county_a.tokens["medical"])] == [("KEPT", False)]


def test_two_counties_paying_the_same_person_at_once_both_get_one_case(client, two_counties):
    """Each transaction locks the fingerprint before looking for it elsewhere: the second
    waits for the first and sees it, whatever the timing."""
    import threading

    county_a, county_b = two_counties
    numbers = [register_person(client, county_a, date(1975, 1, 1 + n), f"同时{n}") for n in range(4)]
    for n, number in enumerate(numbers):
        register_same(client, county_b, number, f"同时{n}")
    barrier = threading.Barrier(2)
    results: dict[str, list] = {"a": [], "b": []}

    def pay_all(side: str, county, prefix: str) -> None:
        barrier.wait()
        for n, number in enumerate(numbers):
            results[side].append(record(client, county.tokens["collector"], number, f"{prefix}-{n}"))

    threads = [threading.Thread(target=pay_all, args=("a", county_a, "CA")),
               threading.Thread(target=pay_all, args=("b", county_b, "CB"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r["userErrors"] == [] for side in results.values() for r in side)
    # one warning per person, on whichever side came second
    assert sum(len(r["warnings"]) for side in results.values() for r in side) == len(numbers)
    for county in (county_a, county_b):
        assert sorted(c["person"]["name"] for c in cases(client, county.tokens["medical"])) == [f"同时{n}" for n in range(4)]


_T0 = datetime(2026, 9, 1, 10, tzinfo=UTC)
_LATER = _T0 + timedelta(hours=1)


@pytest.mark.parametrize(
    ("situation", "expected"),
    [
        (Situation(Facts(_T0), Facts(_LATER), employee_insured=True), Suggestion.RELEASE_EMPLOYEE),
        (Situation(Facts(_T0, True), Facts(_LATER), employee_insured=True), Suggestion.RELEASE_EMPLOYEE),
        (Situation(Facts(_T0), Facts(_LATER), chosen=Side.HERE), Suggestion.KEEP_CHOSEN),
        (Situation(Facts(_LATER, True), Facts(_T0), chosen=Side.ELSEWHERE), Suggestion.RELEASE_CHOSEN),
        (Situation(Facts(_T0, True), Facts(_LATER)), Suggestion.KEEP_STUDENT),
        (Situation(Facts(_LATER), Facts(_T0, True)), Suggestion.RELEASE_STUDENT),
        (Situation(Facts(_LATER, True), Facts(_T0, True)), Suggestion.KEEP_LATER),
        (Situation(Facts(_LATER), Facts(_T0)), Suggestion.KEEP_LATER),
        (Situation(Facts(_T0), Facts(_LATER)), Suggestion.RELEASE_LATER),
        (Situation(Facts(_T0), Facts(_T0)), None),
    ],
)
def test_suggestion_rules(situation, expected):
    assert suggest(situation) == expected


CORRECT = """
mutation($input: CorrectIdNumberInput!) {
  correctIdNumber(input: $input) { person { id } userErrors { field code message } }
}"""


def test_a_corrected_id_number_is_matched_under_its_new_fingerprint(client, two_counties):
    """A paid person registered under a wrong number in A; B has the right one, paid. The
    correction in A finds the duplicate at once (and the old number's fingerprint goes)."""
    county_a, county_b = two_counties
    right = register_person(client, county_b, date(1986, 7, 8), "改号人")
    assert record(client, county_b.tokens["collector"], right, "FIX-B-1")["userErrors"] == []
    wrong = register_person(client, county_a, date(1986, 7, 9), "改号人")
    assert record(client, county_a.tokens["collector"], wrong, "FIX-A-1", hour=11)["warnings"] == []
    assert cases(client, county_a.tokens["medical"]) == []

    person = client.data("query($n: String!) { person(idNumber: $n) { id } }", {"n": wrong},
                         county_a.tokens["medical"])["person"]["id"]
    corrected = client.data(CORRECT, {"input": {"person": person, "idNumber": right, "reason": "户口簿"}},
                            county_a.tokens["medical"])["correctIdNumber"]
    assert corrected["userErrors"] == []
    [case_a] = cases(client, county_a.tokens["medical"])
    [case_b] = cases(client, county_b.tokens["medical"])
    assert (case_a["otherTenantCode"], case_b["otherTenantCode"]) == (county_b.code, county_a.code)

    # the wrong number is enrolled nowhere now: B paying for it would find no one
    register_same(client, county_b, wrong, name="另一人")
    assert record(client, county_b.tokens["collector"], wrong, "FIX-B-2", hour=12)["warnings"] == []


ROSTER = """
mutation($input: UploadRosterInput!) { uploadRoster(input: $input) { matched userErrors { code } } }"""


def test_an_employee_insurance_roster_turns_the_suggestion_to_release(client, two_counties):
    """Employee insurance comes first: once A's 医保局 finds the person on the employee
    roster, A is advised to release whoever enrolled later."""
    county_a, county_b = two_counties
    number = register_person(client, county_a, date(1984, 2, 3), "职工重复")
    register_same(client, county_b, number, name="职工重复")
    assert record(client, county_a.tokens["collector"], number, "EMP-A-1")["userErrors"] == []
    assert record(client, county_b.tokens["collector"], number, "EMP-B-1", hour=11)["userErrors"] == []
    [before] = cases(client, county_a.tokens["medical"])
    assert before["suggestionKey"] == Suggestion.RELEASE_LATER  # A enrolled first

    roster = csv_file([(number, "职工重复", "2026-08-01")], header=("证件号码", "姓名", "参保日期"))
    body = client.upload(ROSTER, {"input": {"kind": "EMPLOYEE_INSURANCE", "year": YEAR, "file": None}},
                         "variables.input.file", "职工.csv", roster, county_a.tokens["medical"])
    assert body["data"]["uploadRoster"]["matched"] == 1
    [after] = cases(client, county_a.tokens["medical"])
    assert after["suggestionKey"] == Suggestion.RELEASE_EMPLOYEE and "职工医保" in after["suggestion"]
