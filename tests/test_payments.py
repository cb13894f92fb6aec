"""recordPayment through GraphQL: windows, amounts, idempotency, duplicates, scope, concurrency."""
from __future__ import annotations

import threading
from datetime import date

import httpx

from tests.payment_support import (
    RECORD,
    campaign,
    new_person,
    pay,
    shanghai,
    tally_matches_recount,
)
from tests.subsidy_support import csv_list, enrollment, upload

IN_WINDOW = date(2026, 11, 5)


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def test_cash_payment_in_the_window_enrols_from_january_first(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    person = new_person(client, county)
    result = pay(client, county.tokens["collector"], person, 2027, "400.00", IN_WINDOW, receipt="NX-0001")
    assert result["userErrors"] == []
    payment = result["payment"]
    assert (payment["status"], payment["amount"], payment["timing"], payment["benefitStart"]) == (
        "ACCEPTED", "400.00", "WINDOW", "2027-01-01",
    )
    assert payment["receiptNo"] == "NX-0001" and payment["person"]["idNumber"] == person
    assert result["enrollment"] == {"status": "PAID", "amountDue": "400.00", "paidAmount": "400.00", "benefitStart": "2027-01-01"}


def test_amount_must_equal_the_amount_due(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    person = new_person(client, county)
    result = pay(client, county.tokens["collector"], person, 2027, "350.00", IN_WINDOW)
    assert codes(result) == ["AMOUNT_MISMATCH"] and "400.00" in result["userErrors"][0]["message"]
    assert result["payment"] is None
    assert enrollment(client, county.tokens["admin"], person, 2027)["status"] == "UNPAID"


def test_subsidised_amount_due_and_fully_subsidised_persons(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "baigongshan-2022.json", today=date(2021, 11, 1))
    dibao, tekun = new_person(client, county, name="低保户"), new_person(client, county, name="特困户")
    listed = [("低保户", dibao, "张庄村", None, None)]
    assert upload(client, county.tokens["civil_affairs"], 2022, "dibao", csv_list(listed))["rowErrors"] == []
    upload(client, county.tokens["civil_affairs"], 2022, "tekun", csv_list([("特困户", tekun, "张庄村", None, None)]))
    collector = county.tokens["collector"]
    assert codes(pay(client, collector, dibao, 2022, "320.00", date(2021, 10, 8))) == ["AMOUNT_MISMATCH"]
    assert pay(client, collector, dibao, 2022, "32.00", date(2021, 10, 8))["payment"]["status"] == "ACCEPTED"
    assert codes(pay(client, collector, tekun, 2022, "320.00", date(2021, 10, 8))) == ["NOTHING_DUE"]


def test_windows_extension_and_late_rules(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "baigongshan-2022.json", today=date(2022, 3, 10))
    collector = county.tokens["collector"]
    early, extension, proofless, closed = (new_person(client, county) for _ in range(4))
    assert codes(pay(client, collector, early, 2022, "320.00", date(2021, 8, 20))) == ["WINDOW_NOT_OPEN"]
    assert codes(pay(client, collector, proofless, 2022, "320.00", date(2022, 1, 15))) == ["EXTENSION_PROOF_REQUIRED"]
    paid = pay(client, collector, extension, 2022, "320.00", date(2022, 1, 15), extensionProof="务工证明 2022-01")
    assert (paid["payment"]["timing"], paid["payment"]["benefitStart"]) == ("EXTENSION", "2022-01-16")
    assert codes(pay(client, collector, closed, 2022, "320.00", date(2022, 3, 1), extensionProof="x")) == ["WINDOW_CLOSED"]


def test_zaozhuang_late_payers_pay_the_fiscal_part_and_wait_thirty_days(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, "zaozhuang-2022.json", today=date(2022, 1, 20))
    person = new_person(client, county, born=date(1985, 3, 3))
    collector = county.tokens["collector"]
    assert "830.00" in pay(client, collector, person, 2022, "280.00", date(2021, 12, 25))["userErrors"][0]["message"]
    paid = pay(client, collector, person, 2022, "830.00", date(2021, 12, 25))
    assert (paid["payment"]["timing"], paid["payment"]["benefitStart"]) == ("LATE", "2022-01-24")


def test_future_payments_and_missing_receipts_are_refused(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    person = new_person(client, county)
    collector = county.tokens["collector"]
    assert codes(pay(client, collector, person, 2027, "400.00", date(2026, 12, 1))) == ["PAID_AT_IN_FUTURE"]
    assert codes(pay(client, collector, person, 2027, "400.00", IN_WINDOW, receipt="")) == ["RECEIPT_REQUIRED"]
    assert codes(pay(client, collector, person, 2028, "400.00", IN_WINDOW)) == ["NO_POLICY"]
    assert codes(pay(client, collector, person, 2027, "400.001", IN_WINDOW)) == ["INVALID_AMOUNT"]


def test_external_id_is_idempotent_per_channel(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    person, other = new_person(client, county), new_person(client, county)
    tax = county.tokens["tax"]
    first = pay(client, tax, person, 2027, "400.00", IN_WINDOW, channel="WECHAT", external="WX-20261105-1")
    again = pay(client, tax, person, 2027, "400.00", IN_WINDOW, channel="WECHAT", external="WX-20261105-1")
    assert again["userErrors"] == [] and again["payment"]["id"] == first["payment"]["id"]
    assert again["payment"]["status"] == "ACCEPTED" and again["refund"] is None
    conflict = pay(client, tax, other, 2027, "400.00", IN_WINDOW, channel="WECHAT", external="WX-20261105-1")
    assert codes(conflict) == ["EXTERNAL_ID_CONFLICT"]
    # the same number on another channel is another payment (here: a duplicate of the first)
    alipay = pay(client, tax, person, 2027, "400.00", IN_WINDOW, channel="ALIPAY", external="WX-20261105-1")
    assert alipay["payment"]["status"] == "DUPLICATE"


def test_receipt_numbers_are_unique_in_the_county(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    first, second = new_person(client, county), new_person(client, county)
    collector = county.tokens["collector"]
    assert pay(client, collector, first, 2027, "400.00", IN_WINDOW, receipt="NX-7")["userErrors"] == []
    assert codes(pay(client, collector, second, 2027, "400.00", IN_WINDOW, receipt="NX-7")) == ["RECEIPT_NO_USED"]
    assert enrollment(client, county.tokens["admin"], second, 2027)["status"] == "UNPAID"


def test_a_second_payment_is_kept_as_duplicate_with_a_refund_opened(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    person = new_person(client, county)
    pay(client, county.tokens["collector"], person, 2027, "400.00", IN_WINDOW, receipt="D-1")
    second = pay(client, county.tokens["tax"], person, 2027, "400.00", date(2026, 11, 6), channel="ALIPAY", external="A-9")
    assert second["userErrors"] == []
    assert second["payment"]["status"] == "DUPLICATE"
    assert {k: second["refund"][k] for k in ("reason", "amount", "status", "automatic")} == {
        "reason": "DUPLICATE_PAYMENT", "amount": "400.00", "status": "REQUESTED", "automatic": True,
    }
    assert second["enrollment"]["paidAmount"] == "400.00"  # counted once


def test_collectors_pay_only_for_their_own_village(client, new_county, clock, county_b):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    elsewhere = new_person(client, county, unit="300201")  # 李营村, collector2's village
    result = pay(client, county.tokens["collector"], elsewhere, 2027, "400.00", IN_WINDOW)
    assert codes(result) == ["OUT_OF_SCOPE"]
    assert pay(client, county.tokens["collector2"], elsewhere, 2027, "400.00", IN_WINDOW)["userErrors"] == []
    # another county's collector does not even learn that the person exists
    assert codes(pay(client, county_b.tokens["collector"], elsewhere, 2027, "400.00", IN_WINDOW)) == ["PERSON_NOT_FOUND"]
    # departments that do not collect may not record payments
    assert codes(pay(client, county.tokens["civil"], elsewhere, 2027, "400.00", IN_WINDOW, channel="WECHAT")) == ["FORBIDDEN"]


def test_ten_concurrent_payments_give_one_accepted_and_nine_duplicates(client, new_county, clock, server_url):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    person = new_person(client, county)
    token = county.tokens["collector"]
    results: list[dict] = []
    barrier = threading.Barrier(10)

    def one(n: int) -> None:
        variables = {"input": {"idNumber": person, "year": 2027, "amount": "400.00", "channel": "CASH_AGENT",
                               "paidAt": shanghai(IN_WINDOW).isoformat(), "receiptNo": f"C-{n}"}}
        with httpx.Client(base_url=server_url, timeout=60) as http:
            barrier.wait()
            response = http.post("/graphql", json={"query": RECORD, "variables": variables},
                                 headers={"Authorization": f"Bearer {token}"})
        results.append(response.json()["data"]["recordPayment"])

    threads = [threading.Thread(target=one, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r["payment"]["status"] for r in results)
    assert statuses == ["ACCEPTED"] + ["DUPLICATE"] * 9
    assert all(r["refund"]["reason"] == "DUPLICATE_PAYMENT" for r in results if r["payment"]["status"] == "DUPLICATE")
    assert enrollment(client, county.tokens["admin"], person, 2027)["paidAmount"] == "400.00"


def test_tallies_follow_payments(client, new_county, clock, owner_db):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    people = [new_person(client, county) for _ in range(3)]
    for n, person in enumerate(people[:2]):
        pay(client, county.tokens["collector"], person, 2027, "400.00", IN_WINDOW, receipt=f"T-{n}")
    tallies, recount = tally_matches_recount(owner_db, county.id)
    assert tallies == recount
    assert [row[2:] for row in tallies if row[0] == 2027] == [(1, 2, 0, 0, 0)]


PAYMENTS = """
query($filter: PaymentFilter) {
  payments(filter: $filter) { totalCount edges { node { id status amount person { idNumber } } } }
}"""


def test_payments_list_stays_in_scope(client, new_county, clock, county_b):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    mine, theirs = new_person(client, county), new_person(client, county, unit="300201")
    pay(client, county.tokens["collector"], mine, 2027, "400.00", IN_WINDOW, receipt="S-1")
    pay(client, county.tokens["collector2"], theirs, 2027, "400.00", IN_WINDOW, receipt="S-2")
    seen = client.data(PAYMENTS, {"filter": {"year": 2027}}, county.tokens["collector"])["payments"]
    assert seen["totalCount"] == 1 and seen["edges"][0]["node"]["person"]["idNumber"] == mine
    assert client.data(PAYMENTS, {"filter": {"year": 2027}}, county.tokens["tax"])["payments"]["totalCount"] == 2
    assert client.data(PAYMENTS, {}, county_b.tokens["tax"])["payments"]["totalCount"] == 0
    foreign = seen["edges"][0]["node"]["id"]
    node = client.data("query($id: ID!) { node(id: $id) { id } }", {"id": foreign}, county_b.tokens["admin"])
    assert node["node"] is None
