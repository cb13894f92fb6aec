"""对账: per township and channel, every yuan in exactly one column, totals adding up."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.payment_support import campaign, decide, new_person, pay, request_refund

RECONCILE = """
query($year: Int!) {
  reconciliation(year: $year) {
    lines { unit { code } channel payments collected accepted duplicate refunded refundsApproved refundsCompleted
            kept cashConfirmed cashDeclared cashUndeclared acceptedCount duplicateCount refundedCount }
    totals { payments collected accepted duplicate refunded refundsApproved refundsCompleted kept
             cashConfirmed cashDeclared cashUndeclared }
  }
}"""
MONEY = ("collected", "accepted", "duplicate", "refunded", "refundsApproved", "refundsCompleted", "kept",
         "cashConfirmed", "cashDeclared", "cashUndeclared")


def test_money_adds_up_per_unit_channel_and_in_total(client, new_county, clock, county_b):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    day = date(2026, 11, 10)
    a, b, c = (new_person(client, county) for _ in range(3))
    d = new_person(client, county, unit="300201")
    pay(client, county.tokens["collector"], a, 2027, "400.00", day, receipt="RC-1")
    pay(client, county.tokens["collector"], b, 2027, "400.00", day, receipt="RC-2")
    duplicate = pay(client, county.tokens["tax"], a, 2027, "400.00", day, channel="WECHAT", external="W-1")
    pay(client, county.tokens["tax"], c, 2027, "400.00", day, channel="WECHAT", external="W-2")
    gave_up = pay(client, county.tokens["collector2"], d, 2027, "400.00", day, receipt="RC-3")
    decide(client, county.tokens["tax"], duplicate["refund"]["id"])  # approved: owed back
    refund = request_refund(client, county.tokens["collector2"], gave_up["payment"]["id"], "GAVE_UP", eventDate="2026-11-20")
    decide(client, county.tokens["tax"], refund["refund"]["id"])
    client.data("mutation { createRemittance(input: {}) { userErrors { code } } }", token=county.tokens["collector"])

    report = client.data(RECONCILE, {"year": 2027}, county.tokens["finance"])["reconciliation"]
    lines = {(line["unit"]["code"][-3:], line["channel"]): line for line in report["lines"]}
    assert set(lines) == {("100", "CASH_AGENT"), ("100", "WECHAT"), ("300", "CASH_AGENT")}
    cash_100 = lines[("100", "CASH_AGENT")]
    assert (cash_100["collected"], cash_100["cashDeclared"], cash_100["cashUndeclared"]) == ("800.00", "800.00", "0.00")
    wechat = lines[("100", "WECHAT")]
    assert (wechat["collected"], wechat["accepted"], wechat["refunded"], wechat["refundsApproved"], wechat["kept"]) == (
        "800.00", "400.00", "400.00", "400.00", "400.00",
    )
    cash_300 = lines[("300", "CASH_AGENT")]
    assert (cash_300["refunded"], cash_300["kept"], cash_300["cashUndeclared"]) == ("400.00", "0.00", "400.00")

    totals = report["totals"]
    assert totals["payments"] == 5 and totals["collected"] == "2000.00"
    for field in MONEY:  # totals are exactly the sums of the lines
        assert Decimal(totals[field]) == sum(Decimal(line[field]) for line in report["lines"]), field
    for line in [*report["lines"], totals]:  # each payment in exactly one status
        assert Decimal(line["collected"]) == Decimal(line["accepted"]) + Decimal(line["duplicate"]) + Decimal(line["refunded"])
    assert Decimal(totals["kept"]) == Decimal("1200.00")  # 2000 − 400 duplicate − 400 gave up

    township = client.data(RECONCILE, {"year": 2027}, county.tokens["township"])["reconciliation"]
    assert township["totals"]["collected"] == "1600.00"  # 城关镇 only
    assert client.data(RECONCILE, {"year": 2027}, county_b.tokens["tax"])["reconciliation"]["totals"]["payments"] == 0
