"""Refunds: the seven reasons, their rules, who decides, and what moves in the books."""
from __future__ import annotations

from datetime import date

from tests.payment_support import (
    COMPLETE_REFUND,
    PAYMENT_REFUNDS,
    campaign,
    decide,
    new_person,
    pay,
    request_refund,
    tally_matches_recount,
)
from tests.subsidy_support import csv_list, enrollment, upload

IN_WINDOW = date(2026, 11, 5)


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def paid_person(client, county, receipt: str) -> tuple[str, str]:
    person = new_person(client, county)
    result = pay(client, county.tokens["collector"], person, 2027, "400.00", IN_WINDOW, receipt=receipt)
    return person, result["payment"]["id"]


def test_gave_up_refund_requested_approved_and_completed(client, new_county, clock, owner_db):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    person, payment = paid_person(client, county, "G-1")
    asked = request_refund(client, county.tokens["collector"], payment, "GAVE_UP", eventDate="2026-11-20", note="本人放弃")
    assert asked["userErrors"] == []
    refund = asked["refund"]
    assert (refund["reason"], refund["amount"], refund["status"]) == ("GAVE_UP", "400.00", "REQUESTED")
    assert enrollment(client, county.tokens["admin"], person, 2027)["status"] == "PAID"  # nothing moves yet

    assert codes(decide(client, county.tokens["collector"], refund["id"])) == ["FORBIDDEN"]
    approved = decide(client, county.tokens["tax"], refund["id"])
    assert approved["refund"]["status"] == "APPROVED"
    e = enrollment(client, county.tokens["admin"], person, 2027)
    assert (e["status"], e["paidAmount"], e["benefitStart"]) == ("REFUNDED", "0.00", None)
    node = client.data(PAYMENT_REFUNDS, {"id": payment}, county.tokens["tax"])["node"]
    assert node["status"] == "REFUNDED"  # the payment stays on record, marked

    assert codes(decide(client, county.tokens["tax"], refund["id"])) == ["ALREADY_DECIDED"]
    # cash the collector has not declared goes back from the collector's hands, not the tax bureau's
    by_tax = client.data(COMPLETE_REFUND, {"input": {"refund": refund["id"]}}, county.tokens["tax"])["completeRefund"]
    assert codes(by_tax) == ["CASH_NOT_REMITTED"]
    done = client.data(COMPLETE_REFUND, {"input": {"refund": refund["id"], "reference": "退-1"}}, county.tokens["collector"])
    assert done["completeRefund"]["refund"] == {"id": refund["id"], "status": "COMPLETED", "completionRef": "退-1"}
    tallies, recount = tally_matches_recount(owner_db, county.id)
    assert tallies == recount


def test_reasons_have_their_rules(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=date(2027, 1, 10))
    _, payment = paid_person(client, county, "R-1")
    collector = county.tokens["collector"]
    assert codes(request_refund(client, collector, payment, "DUPLICATE_PAYMENT")) == ["NOT_A_DUPLICATE"]
    assert codes(request_refund(client, collector, payment, "DECEASED")) == ["EVENT_DATE_REQUIRED"]
    assert codes(request_refund(client, collector, payment, "DECEASED", eventDate="2027-01-02")) == ["EVENT_AFTER_WINDOW"]
    assert codes(request_refund(client, collector, payment, "SUBSIDY_OVERPAID")) == ["NOTHING_TO_REFUND"]
    # moving to another pooling region has no window rule
    moved = request_refund(client, collector, payment, "MOVED_REGION", note="迁往郑州")
    assert moved["userErrors"] == [] and moved["refund"]["amount"] == "400.00"
    # one whole refund per payment
    again = request_refund(client, collector, payment, "JOINED_EMPLOYEE_INSURANCE", eventDate="2026-12-01")
    assert codes(again) == ["REFUND_EXISTS"]


def test_claims_close_at_the_policy_deadline(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    _, payment = paid_person(client, county, "L-1")
    clock.travel_to(clock.now().replace(year=2027, month=2, day=1))  # 内乡: claims until 01-31
    result = request_refund(client, county.tokens["collector"], payment, "GAVE_UP", eventDate="2026-11-30")
    assert codes(result) == ["CLAIM_DEADLINE_PASSED"]


def test_duplicate_refund_gives_back_the_duplicate_only(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    person, _ = paid_person(client, county, "DU-1")
    second = pay(client, county.tokens["tax"], person, 2027, "400.00", IN_WINDOW, channel="WECHAT", external="WX-DU")
    refund = second["refund"]
    assert decide(client, county.tokens["tax"], refund["id"])["refund"]["status"] == "APPROVED"
    e = enrollment(client, county.tokens["admin"], person, 2027)
    assert (e["status"], e["paidAmount"]) == ("PAID", "400.00")
    assert client.data(PAYMENT_REFUNDS, {"id": second["payment"]["id"]}, county.tokens["tax"])["node"]["status"] == "REFUNDED"


def test_a_subsidy_granted_after_payment_opens_a_refund_of_the_subsidy_part(client, new_county, clock, owner_db):
    """八公山 2022: 低保 is DEDUCT 90% (due 32). Paid 320 first, listed later → 288 back."""
    county, _ = campaign(client, new_county, clock, "baigongshan-2022.json", today=date(2021, 11, 1))
    person = new_person(client, county, name="后认定")
    paid = pay(client, county.tokens["collector"], person, 2022, "320.00", date(2021, 10, 8), receipt="BG-1")
    listed = upload(client, county.tokens["civil_affairs"], 2022, "dibao", csv_list([("后认定", person, "张庄村", None, None)]))
    assert listed["rowErrors"] == []
    refunds = client.data(PAYMENT_REFUNDS, {"id": paid["payment"]["id"]}, county.tokens["tax"])["node"]["refunds"]
    assert [(r["reason"], r["amount"], r["status"], r["automatic"]) for r in refunds] == [
        ("SUBSIDY_OVERPAID", "288.00", "REQUESTED", True)
    ]
    # the same list again opens nothing more
    upload(client, county.tokens["civil_affairs"], 2022, "dibao", csv_list([("后认定", person, "张庄村", None, None)]))
    assert len(client.data(PAYMENT_REFUNDS, {"id": paid["payment"]["id"]}, county.tokens["tax"])["node"]["refunds"]) == 1
    decide(client, county.tokens["tax"], refunds[0]["id"])
    e = enrollment(client, county.tokens["admin"], person, 2022)
    assert (e["status"], e["amountDue"], e["paidAmount"]) == ("PAID", "32.00", "32.00")
    tallies, recount = tally_matches_recount(owner_db, county.id)
    assert tallies == recount


def test_refunds_are_invisible_across_counties(client, new_county, clock, county_b):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    _, payment = paid_person(client, county, "X-1")
    refund = request_refund(client, county.tokens["collector"], payment, "MOVED_REGION")["refund"]
    assert codes(request_refund(client, county_b.tokens["tax"], payment, "MOVED_REGION")) == ["NOT_FOUND"]
    assert codes(decide(client, county_b.tokens["tax"], refund["id"])) == ["NOT_FOUND"]
    listed = client.data("{ refunds { totalCount } }", token=county_b.tokens["tax"])["refunds"]
    assert listed["totalCount"] == 0
