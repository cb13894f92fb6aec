"""importEnrollmentHistory, and the waiting periods it causes, through GraphQL."""
from __future__ import annotations

from datetime import date

import pytest

from tests.payment_import_support import (
    csv_file,
    import_history,
    import_payments,
    row_codes,
)
from tests.payment_support import campaign, new_person, pay
from tests.subsidy_support import enrollment
from tests.support import new_id_number

HISTORY = "query($id: String!) { enrollmentHistory(idNumber: $id) { year enrolled source } }"
HEADER = ("证件号码", "姓名", "年度", "参保状态")
IN_WINDOW = date(2026, 11, 1)


@pytest.fixture
def county(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    return county


def history(client, token: str, id_number: str) -> list[tuple[int, bool]]:
    return [(h["year"], h["enrolled"]) for h in client.data(HISTORY, {"id": id_number}, token)["enrollmentHistory"]]


def domain_example(id_number: str, name: str = "") -> list[tuple]:
    """DOMAIN.md: enrolled in 2024, not in 2025 and 2026."""
    return [(id_number, name, 2024, "已参保"), (id_number, name, 2025, "未参保"), (id_number, name, 2026, "否")]


def test_a_break_delays_benefits_for_record_payment_and_for_imports(client, county):
    one_by_one, back_year, from_file = (new_person(client, county, name=f"断保{n}") for n in range(3))
    rows = domain_example(one_by_one) + domain_example(back_year) + domain_example(from_file, "断保2")
    result = import_history(client, county.tokens["medical"], csv_file(rows, header=HEADER))
    assert result["userErrors"] == [] and result["rowErrors"] == []
    assert (result["accepted"], result["inserted"], result["updated"]) == (9, 9, 0)

    collector = county.tokens["collector"]
    paid = pay(client, collector, one_by_one, 2027, "400.00", IN_WINDOW)
    assert (paid["payment"]["timing"], paid["payment"]["benefitStart"]) == ("WINDOW", "2027-05-01")
    # one back year (补缴) at the current standard removes the variable month
    repaired = pay(client, collector, back_year, 2027, "800.00", IN_WINDOW, backYears=1)
    assert repaired["userErrors"] == [] and repaired["payment"]["benefitStart"] == "2027-04-01"

    file = csv_file([(from_file, "断保2", "400.00", "微信", "2026-11-01 10:00", "WX-H1")])
    imported = import_payments(client, county.tokens["tax"], 2027, file)
    assert imported["accepted"] == 1 and imported["rowErrors"] == []
    assert enrollment(client, county.tokens["admin"], from_file, 2027)["benefitStart"] == "2027-05-01"


def test_history_is_upserted_by_id_number(client, county):
    registered = new_person(client, county, name="王五")
    unregistered = new_id_number()  # history needs no registration
    token = county.tokens["medical"]
    first = import_history(client, token, csv_file(
        [(registered, "王五", "2023", "Y"), (unregistered, "", "2024年", "1"), (unregistered, "", 2025, "NOT_ENROLLED")],
        header=HEADER,
    ))
    assert (first["inserted"], first["updated"], first["unchanged"]) == (3, 0, 0)
    assert history(client, token, unregistered) == [(2024, True), (2025, False)]
    second = import_history(client, token, csv_file(
        [(unregistered, "", 2025, "已参保"), (unregistered, "", 2024, "是"), (registered, "", 2022, "N")], header=HEADER,
    ))
    assert (second["inserted"], second["updated"], second["unchanged"]) == (1, 1, 1)
    assert history(client, token, unregistered) == [(2024, True), (2025, True)]
    assert history(client, token, registered) == [(2022, False), (2023, True)]


def test_history_row_errors_and_dry_run(client, county):
    person = new_person(client, county, name="李四")
    other = new_id_number()
    rows = [
        (person, "李四", 2024, "已参保"),  # row 2: fine
        ("411325199001011234", "", 2024, "已参保"),  # bad check character
        (person, "张三", 2023, "已参保"),  # not the registered name
        (other, "", 1999, "已参保"),
        (other, "", 2027, "已参保"),  # after the current year (2026)
        (other, "", 2024, "也许"),
        (other, "", 2023, "已参保"),
        (other, "", 2023, "未参保"),  # the same year twice with two statuses
    ]
    token = county.tokens["medical"]
    dry = import_history(client, token, csv_file(rows, header=HEADER), dryRun=True)
    assert [(e["row"], e["column"], e["code"]) for e in dry["rowErrors"]] == [
        (3, "证件号码", "INVALID_ID_CHECKSUM"),
        (4, "姓名", "NAME_MISMATCH"),
        (5, "年度", "INVALID_YEAR"),
        (6, "年度", "INVALID_YEAR"),
        (7, "参保状态", "INVALID_STATUS"),
        (8, "证件号码", "CONFLICT_IN_FILE"),
        (9, "证件号码", "CONFLICT_IN_FILE"),
    ]
    assert (dry["dryRun"], dry["accepted"], dry["rejected"], dry["inserted"]) == (True, 1, 7, 1)
    assert history(client, token, person) == []
    written = import_history(client, token, csv_file(rows, header=HEADER))
    assert written["inserted"] == 1 and history(client, token, person) == [(2024, True)]


def test_only_medical_security_imports_history(client, county):
    person = new_person(client, county)
    data = csv_file([(person, "", 2024, "已参保")], header=HEADER)
    for role in ("tax", "collector", "admin"):
        assert [e["code"] for e in import_history(client, county.tokens[role], data)["userErrors"]] == ["FORBIDDEN"], role
    assert history(client, county.tokens["medical"], person) == []
    bad = import_history(client, county.tokens["medical"], "证件号码,姓名\n".encode())
    assert [e["code"] for e in bad["userErrors"]] == ["MISSING_COLUMNS"]


def test_history_stays_in_its_county(client, county, new_county, clock):
    person = new_person(client, county)
    other, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    import_history(client, other.tokens["medical"], csv_file([(person, "", 2025, "未参保")], header=HEADER))
    assert history(client, county.tokens["medical"], person) == []
    paid = pay(client, county.tokens["collector"], person, 2027, "400.00", IN_WINDOW)
    assert paid["payment"]["benefitStart"] == "2027-01-01"  # another county's record counts for nothing here


def test_a_row_without_an_id_number_is_reported(client, county):
    result = import_history(client, county.tokens["medical"], csv_file([("", "某人", 2024, "是")], header=HEADER))
    assert row_codes(result) == [(2, "MISSING_ID")]
