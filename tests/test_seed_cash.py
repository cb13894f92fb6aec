"""Seeds 001 (八公山) and 000 (灞桥) on money that goes back and money counted by period.

1. 八公山 特困 is FULL AUTO_ENROLL: a person who paid 320 and is listed afterwards gets
   the 320 back and is then enrolled by the subsidy (SUBSIDIZED, from 1 January), and
   unpaid again (320 due) should the listing end.
2. 八公山 九、退费办理: cash not yet remitted goes back from the collector's hands
   ("社区…将收取的他人现金交给该申请人"); remitted cash through the tax bureau.
3. 灞桥: "按月开展收入核对", "按日…汇总上划": reconciliation by day and by month, adding up.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

from tests.payment_support import (
    COMPLETE_REFUND,
    PAYMENT_REFUNDS,
    RECORD,
    SHANGHAI,
    campaign,
    decide,
    new_person,
    pay,
    request_refund,
    shanghai,
    tally_matches_recount,
)
from tests.quota_support import UNPAID, by_code, progress
from tests.subsidy_support import csv_list, enrollment, upload
from tests.support import CREATE_USER, PASSWORD

BAIGONGSHAN = "baigongshan-2022.json"
YEAR = 2022

RECONCILE = """
query($year: Int!, $parent: ID, $from: Date, $until: Date) {
  reconciliation(year: $year, parent: $parent, from: $from, until: $until) {
    lines { unit { code } channel payments collected acceptedCount accepted duplicateCount duplicate refundedCount
            refunded refundsApproved refundsCompleted kept cashConfirmed cashDeclared cashUndeclared cashHandedBack }
    totals { payments collected acceptedCount accepted duplicateCount duplicate refundedCount refunded refundsApproved
             refundsCompleted kept cashConfirmed cashDeclared cashUndeclared cashHandedBack }
  }
}"""
MONEY = ("collected", "accepted", "duplicate", "refunded", "refundsApproved", "refundsCompleted", "kept",
         "cashConfirmed", "cashDeclared", "cashUndeclared", "cashHandedBack")
COUNTS = ("payments", "acceptedCount", "duplicateCount", "refundedCount")

HELD = """
query($year: Int!) {
  cashHeld(year: $year) { username payments amount daysHeld overdue overAmount }
  remittanceAlerts(year: $year) { username amount overdue overAmount }
}"""
CREATE_REMITTANCE = """
mutation($input: CreateRemittanceInput!) {
  createRemittance(input: $input) { remittance { id payments total status } userErrors { field code message } }
}"""
CONFIRM_REMITTANCE = """
mutation($input: ConfirmRemittanceInput!) {
  confirmRemittance(input: $input) { remittance { id status } userErrors { field code message } }
}"""
REFUND = "query($id: ID!) { node(id: $id) { ... on Refund { status amount payback completionRef } } }"
PAYMENT = "query($id: ID!) { node(id: $id) { ... on Payment { status } } }"


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def complete(client, token: str, refund_id: str, reference: str | None = None) -> dict:
    variables = {"input": {"refund": refund_id, "reference": reference}}
    return client.data(COMPLETE_REFUND, variables, token)["completeRefund"]


def refund_of(client, county, payment_id: str) -> dict:
    refunds = client.data(PAYMENT_REFUNDS, {"id": payment_id}, county.tokens["tax"])["node"]["refunds"]
    assert len(refunds) == 1, refunds
    return refunds[0]


def refund_node(client, county, refund_id: str) -> dict:
    return client.data(REFUND, {"id": refund_id}, county.tokens["tax"])["node"]


def payment_status(client, county, payment_id: str) -> str:
    return client.data(PAYMENT, {"id": payment_id}, county.tokens["tax"])["node"]["status"]


def reconcile(client, token: str, since: date | None = None, until: date | None = None, parent: str | None = None) -> dict:
    variables = {"year": YEAR, "parent": parent, "from": since and since.isoformat(), "until": until and until.isoformat()}
    return client.data(RECONCILE, variables, token)["reconciliation"]


def line(report: dict, unit: str, channel: str) -> dict:
    found = [x for x in report["lines"] if x["unit"]["code"].endswith(unit) and x["channel"] == channel]
    assert len(found) == 1, report["lines"]
    return found[0]


CASH_PARTS = ("cashConfirmed", "cashDeclared", "cashUndeclared", "cashHandedBack")


def cash_adds_up(report: dict) -> None:
    """Every yuan of cash on one line: confirmed + declared + undeclared + handed back = collected."""
    cash_lines = [x for x in report["lines"] if x["channel"] == "CASH_AGENT"]
    for x in cash_lines:
        assert sum(Decimal(x[p]) for p in CASH_PARTS) == Decimal(x["collected"]), x
    totals = report["totals"]
    assert sum(Decimal(totals[p]) for p in CASH_PARTS) == sum(Decimal(x["collected"]) for x in cash_lines), totals


def unpaid_numbers(client, county) -> set[str]:
    page = client.data(UNPAID, {"year": YEAR, "first": 500}, county.tokens["admin"])["unpaidPersons"]
    return {edge["node"]["idNumber"] for edge in page["edges"]}


def village(client, county) -> dict:
    return by_code(progress(client, county.tokens["admin"], YEAR, county.units["100"]))[county.code + "100201"]


def tekun_list(client, county, members: list[tuple[str, str]], confirm: bool = False) -> dict:
    rows = [(name, number, "张庄村", None, None) for name, number in members]
    listed = upload(client, county.tokens["civil_affairs"], YEAR, "tekun", csv_list(rows), confirm_removals=confirm)
    assert listed["rowErrors"] == [] and listed["userErrors"] == [], listed
    return listed


# -- 1. paid, then listed as fully subsidised -------------------------------------------


def test_paid_then_listed_tekun_is_refunded_whole_and_enrolled_by_the_subsidy(client, new_county, clock, owner_db):
    """八公山 2022: paid 320 on WeChat, then listed 特困 (FULL, AUTO_ENROLL)."""
    county, _ = campaign(client, new_county, clock, BAIGONGSHAN, today=date(2021, 11, 1))
    person = new_person(client, county, name="后特困")
    other = new_person(client, county, name="一直特困")
    paid = pay(client, county.tokens["tax"], person, YEAR, "320.00", date(2021, 10, 8), channel="WECHAT", external="WX-TK-1")
    assert paid["userErrors"] == [] and paid["enrollment"]["status"] == "PAID"

    tekun_list(client, county, [("后特困", person), ("一直特困", other)])
    refund = refund_of(client, county, paid["payment"]["id"])
    assert (refund["reason"], refund["amount"], refund["status"], refund["automatic"]) == (
        "SUBSIDY_OVERPAID", "320.00", "REQUESTED", True,
    )
    before = enrollment(client, county.tokens["admin"], person, YEAR)
    assert (before["status"], before["amountDue"], before["paidAmount"]) == ("PAID", "0.00", "320.00")  # nothing moves yet

    assert decide(client, county.tokens["tax"], refund["id"])["refund"]["status"] == "APPROVED"
    e = enrollment(client, county.tokens["admin"], person, YEAR)
    assert (e["status"], e["amountDue"], e["paidAmount"], e["benefitStart"], e["subsidyCategory"]) == (
        "SUBSIDIZED", "0.00", "0.00", "2022-01-01", "tekun",
    )
    assert e == enrollment(client, county.tokens["admin"], other, YEAR)  # like any 特困
    assert payment_status(client, county, paid["payment"]["id"]) == "REFUNDED"  # every yuan went back

    done = complete(client, county.tokens["tax"], refund["id"], "WX-BACK-TK")
    assert done["userErrors"] == [] and refund_node(client, county, refund["id"])["payback"] == "CHANNEL"

    row = village(client, county)
    assert (row["persons"], row["enrolled"], row["paid"], row["subsidized"], row["unpaid"], row["refunded"]) == (2, 2, 0, 2, 0, 0)
    assert person not in unpaid_numbers(client, county)
    wechat = line(reconcile(client, county.tokens["finance"]), "100", "WECHAT")
    assert (wechat["acceptedCount"], wechat["refundedCount"], wechat["refunded"], wechat["refundsCompleted"], wechat["kept"]) == (
        0, 1, "320.00", "320.00", "0.00",
    )
    tallies, recount = tally_matches_recount(owner_db, county.id)
    assert tallies == recount

    # 特困 ends (民政 removes the person): they have their money back, so they owe 320 again
    tekun_list(client, county, [("一直特困", other)], confirm=True)
    e = enrollment(client, county.tokens["admin"], person, YEAR)
    assert (e["status"], e["amountDue"], e["paidAmount"], e["benefitStart"], e["subsidyCategory"]) == (
        "UNPAID", "320.00", "0.00", None, None,
    )
    assert person in unpaid_numbers(client, county)
    row = village(client, county)
    assert (row["enrolled"], row["paid"], row["subsidized"], row["unpaid"]) == (1, 0, 1, 1)
    tallies, recount = tally_matches_recount(owner_db, county.id)
    assert tallies == recount

    # … and paying again is a new ACCEPTED payment, not a duplicate of the refunded one
    again = pay(client, county.tokens["collector"], person, YEAR, "320.00", date(2021, 11, 1), receipt="TK-AGAIN")
    assert again["userErrors"] == [] and again["payment"]["status"] == "ACCEPTED" and again["refund"] is None
    assert (again["enrollment"]["status"], again["enrollment"]["paidAmount"]) == ("PAID", "320.00")
    tallies, recount = tally_matches_recount(owner_db, county.id)
    assert tallies == recount


def test_a_subsidy_refund_is_not_approved_once_the_listing_ended(client, new_county, clock, owner_db):
    """Listed 特困 after paying, removed before the refund was decided: 320 is due again,
    so the 320 refund may not go through (it would leave a PAID year with nothing paid)."""
    county, _ = campaign(client, new_county, clock, BAIGONGSHAN, today=date(2021, 11, 1))
    person, other = new_person(client, county, name="短特困"), new_person(client, county, name="特困")
    paid = pay(client, county.tokens["collector"], person, YEAR, "320.00", date(2021, 10, 9), receipt="TK-2")
    tekun_list(client, county, [("短特困", person), ("特困", other)])
    refund = refund_of(client, county, paid["payment"]["id"])
    tekun_list(client, county, [("特困", other)], confirm=True)

    refused = decide(client, county.tokens["tax"], refund["id"])
    assert codes(refused) == ["SUBSIDY_CHANGED"]
    e = enrollment(client, county.tokens["admin"], person, YEAR)
    assert (e["status"], e["amountDue"], e["paidAmount"]) == ("PAID", "320.00", "320.00")
    assert decide(client, county.tokens["tax"], refund["id"], approve=False)["refund"]["status"] == "REJECTED"
    assert payment_status(client, county, paid["payment"]["id"]) == "ACCEPTED"
    tallies, recount = tally_matches_recount(owner_db, county.id)
    assert tallies == recount


# -- 2. cash refunded before it was remitted --------------------------------------------


def _collector(client, county, username: str, unit: str) -> str:
    grant = {"role": "VILLAGE_COLLECTOR", "scope": county.units[unit]}
    created = client.data(CREATE_USER, {"input": {"username": username, "password": PASSWORD, **grant}}, county.tokens["admin"])
    assert created["createUser"]["userErrors"] == []
    return client.login(county.code, username, PASSWORD)


def test_undeclared_cash_goes_back_from_the_collectors_cash_book(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, BAIGONGSHAN, today=date(2021, 11, 1), remitAmount="100.00")
    collector = county.tokens["collector"]
    old, new = new_person(client, county, name="放弃"), new_person(client, county, name="低保户")
    gave_up = pay(client, collector, old, YEAR, "320.00", date(2021, 10, 20), receipt="C-OLD")["payment"]["id"]
    low = pay(client, collector, new, YEAR, "320.00", date(2021, 10, 30), receipt="C-LOW")["payment"]["id"]
    held = client.data(HELD, {"year": YEAR}, collector)
    assert [(h["payments"], h["amount"], h["daysHeld"]) for h in held["cashHeld"]] == [(2, "640.00", 12)]
    assert [(a["overdue"], a["overAmount"]) for a in held["remittanceAlerts"]] == [(True, True)]

    # 低保 listed after paying: 288 back (partial), paid out of the cash the collector holds
    upload(client, county.tokens["civil_affairs"], YEAR, "dibao", csv_list([("低保户", new, "张庄村", None, None)]))
    partial = refund_of(client, county, low)
    assert partial["amount"] == "288.00"
    decide(client, county.tokens["tax"], partial["id"])
    assert client.data(HELD, {"year": YEAR}, collector)["cashHeld"][0]["amount"] == "640.00"  # decided, still in hand
    assert codes(complete(client, county.tokens["tax"], partial["id"])) == ["CASH_NOT_REMITTED"]
    assert codes(complete(client, county.tokens["finance"], partial["id"])) == ["FORBIDDEN"]
    assert codes(complete(client, county.tokens["collector2"], partial["id"])) == ["NOT_FOUND"]  # another village
    neighbour = _collector(client, county, "collector3", "100201")
    assert codes(complete(client, neighbour, partial["id"])) == ["NOT_YOUR_CASH"]  # same village, another book
    assert complete(client, collector, partial["id"], "退款签收-1")["userErrors"] == []
    assert refund_node(client, county, partial["id"]) == {
        "status": "COMPLETED", "amount": "288.00", "payback": "CASH_BOOK", "completionRef": "退款签收-1",
    }
    held = client.data(HELD, {"year": YEAR}, collector)["cashHeld"]
    assert [(h["payments"], h["amount"]) for h in held] == [(2, "352.00")]

    # a whole refund, handed back by the township for its collector
    whole = request_refund(client, collector, gave_up, "GAVE_UP", eventDate="2021-10-25")["refund"]
    decide(client, county.tokens["medical"], whole["id"])
    assert complete(client, county.tokens["township"], whole["id"])["userErrors"] == []
    assert refund_node(client, county, whole["id"])["payback"] == "CASH_BOOK"
    held = client.data(HELD, {"year": YEAR}, collector)
    # only the 32 of 10-30 is left: neither too old (2 days) nor too much (≤ 100)
    assert [(h["payments"], h["amount"], h["daysHeld"]) for h in held["cashHeld"]] == [(1, "32.00", 2)]
    assert held["remittanceAlerts"] == []

    report = reconcile(client, county.tokens["finance"])
    cash = line(report, "100", "CASH_AGENT")
    assert (cash["collected"], cash["refunded"], cash["refundsCompleted"], cash["kept"], cash["cashUndeclared"],
            cash["cashHandedBack"]) == ("640.00", "320.00", "608.00", "32.00", "32.00", "608.00")
    cash_adds_up(report)

    declared = client.data(CREATE_REMITTANCE, {"input": {}}, collector)["createRemittance"]
    assert (declared["remittance"]["payments"], declared["remittance"]["total"]) == (1, "32.00")  # the 32 only
    assert codes(client.data(CREATE_REMITTANCE, {"input": {}}, collector)["createRemittance"]) == ["NOTHING_TO_REMIT"]
    report = reconcile(client, county.tokens["finance"])
    cash = line(report, "100", "CASH_AGENT")
    assert (cash["cashDeclared"], cash["cashUndeclared"], cash["cashHandedBack"], cash["kept"]) == (
        "32.00", "0.00", "608.00", "32.00",
    )
    cash_adds_up(report)


def test_remitted_cash_goes_back_through_the_tax_bureau(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, BAIGONGSHAN, today=date(2021, 11, 1))
    collector, tax = county.tokens["collector"], county.tokens["tax"]
    persons = [new_person(client, county, name=f"现金{n}") for n in range(3)]
    payments = [pay(client, collector, p, YEAR, "320.00", date(2021, 10, 25), receipt=f"C-T{n}")["payment"]["id"]
                for n, p in enumerate(persons)]
    # the first refund is decided while the cash is held, but the cash is declared before it goes back
    held_then_declared = request_refund(client, collector, payments[0], "GAVE_UP", eventDate="2021-10-26")["refund"]["id"]
    decide(client, tax, held_then_declared)
    first = client.data(CREATE_REMITTANCE, {"input": {"upTo": shanghai(date(2021, 10, 26)).isoformat()}}, collector)
    remittance = first["createRemittance"]["remittance"]
    assert (remittance["payments"], remittance["total"]) == (3, "960.00")
    confirmed = client.data(CONFIRM_REMITTANCE, {"input": {"remittance": remittance["id"], "confirmationNo": "QR-9"}}, tax)
    assert confirmed["confirmRemittance"]["userErrors"] == []

    declared_only = new_person(client, county, name="已申报")
    payment = pay(client, collector, declared_only, YEAR, "320.00", date(2021, 10, 31), receipt="C-D")["payment"]["id"]
    client.data(CREATE_REMITTANCE, {"input": {}}, collector)
    refunds = [held_then_declared]
    for payment_id, event in ((payments[1], "2021-10-27"), (payment, "2021-10-31")):
        refund = request_refund(client, collector, payment_id, "DECEASED", eventDate=event)["refund"]["id"]
        decide(client, tax, refund)
        refunds.append(refund)

    for n, refund in enumerate(refunds):  # confirmed twice, declared once: none of it is in the collector's hands
        assert codes(complete(client, collector, refund)) == ["FORBIDDEN"]
        assert codes(complete(client, county.tokens["township"], refund)) == ["FORBIDDEN"]
        assert complete(client, tax, refund, f"BANK-{n}")["userErrors"] == []
        assert refund_node(client, county, refund)["payback"] == "CHANNEL"
    assert client.data(HELD, {"year": YEAR}, collector)["cashHeld"] == []

    report = reconcile(client, county.tokens["finance"])
    cash = line(report, "100", "CASH_AGENT")
    assert (cash["collected"], cash["cashConfirmed"], cash["cashDeclared"], cash["cashUndeclared"], cash["cashHandedBack"]) == (
        "1280.00", "960.00", "320.00", "0.00", "0.00",
    )
    assert (cash["refunded"], cash["refundsCompleted"], cash["kept"]) == ("960.00", "960.00", "320.00")
    cash_adds_up(report)


# -- 3. reconciliation by period ----------------------------------------------------------


def _at(y: int, m: int, d: int, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, second, tzinfo=SHANGHAI)


def _pay_at(client, clock, token: str, person: str, moment: datetime, channel: str, reference: str, **extra) -> dict:
    clock.travel_to(moment + timedelta(seconds=30))
    key = "receiptNo" if channel == "CASH_AGENT" else "externalId"
    variables = {"input": {"idNumber": person, "year": YEAR, "amount": "320.00", "channel": channel,
                           "paidAt": moment.isoformat(), key: reference, **extra}}
    result = client.data(RECORD, variables, token)["recordPayment"]
    assert result["userErrors"] == [], result
    return result


def _sum_reports(reports: list[dict]) -> tuple[dict, dict]:
    """(lines keyed by unit and channel, totals), added up field by field."""
    lines: dict = defaultdict(lambda: defaultdict(Decimal))
    totals: dict = defaultdict(Decimal)
    for report in reports:
        for x in report["lines"]:
            for field in (*MONEY, *COUNTS):
                lines[(x["unit"]["code"], x["channel"])][field] += Decimal(str(x[field]))
        for field in (*MONEY, *COUNTS):
            totals[field] += Decimal(str(report["totals"][field]))
    return {k: dict(v) for k, v in lines.items()}, dict(totals)


def _as_sums(report: dict) -> tuple[dict, dict]:
    return _sum_reports([report])


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _month_ends(y: int, m: int) -> tuple[date, date]:
    start = date(y, m, 1)
    following = date(y + (m == 12), m % 12 + 1, 1)
    return start, following - timedelta(days=1)


def test_days_add_up_to_months_and_months_to_the_year(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, BAIGONGSHAN, today=date(2021, 10, 1))
    collector, tax = county.tokens["collector"], county.tokens["tax"]
    a, b, c, d, e, f = (new_person(client, county, name=f"对账{n}") for n in range(6))
    g = new_person(client, county, unit="300201", name="李营")

    _pay_at(client, clock, collector, a, _at(2021, 10, 31, 23, 59), "CASH_AGENT", "P-A")  # last minute of October
    first_of_november = _pay_at(client, clock, tax, b, _at(2021, 11, 1, 0, 0), "WECHAT", "P-B")
    duplicate = _pay_at(client, clock, tax, a, _at(2021, 11, 1, 0, 1), "WECHAT", "P-A2")
    _pay_at(client, clock, tax, c, _at(2021, 11, 30, 23, 59, 59), "ALIPAY", "P-C")
    low = _pay_at(client, clock, collector, d, _at(2021, 12, 1, 0, 0, 30), "CASH_AGENT", "P-D")
    _pay_at(client, clock, tax, e, _at(2021, 12, 31, 23, 59), "WECHAT", "P-E")  # the window's last minute
    _pay_at(client, clock, tax, f, _at(2022, 1, 1, 0, 0), "WECHAT", "P-F", extensionProof="务工证明")
    _pay_at(client, clock, county.tokens["collector2"], g, _at(2021, 11, 15), "CASH_AGENT", "P-G")

    # the duplicate: decided on 11-30 at 23:59, paid back on 12-01 at 00:01 (it counts on 12-01)
    clock.travel_to(_at(2021, 11, 30, 23, 59))
    decide(client, tax, duplicate["refund"]["id"])
    clock.travel_to(_at(2021, 12, 1, 0, 1))
    complete(client, tax, duplicate["refund"]["id"])
    # 低保 for d (288 back): decided at the first second of 2022, handed back from the cash book on 01-02
    clock.travel_to(_at(2021, 12, 2))
    upload(client, county.tokens["civil_affairs"], YEAR, "dibao", csv_list([("对账3", d, "张庄村", None, None)]))
    overpaid = refund_of(client, county, low["payment"]["id"])["id"]
    clock.travel_to(_at(2022, 1, 1, 0, 0, 0))
    decide(client, tax, overpaid)
    clock.travel_to(_at(2022, 1, 2))
    assert complete(client, collector, overpaid)["userErrors"] == []
    # b gave up: decided at the last second of 2021, not yet paid back
    clock.travel_to(_at(2021, 12, 31, 23, 59, 59))
    gave_up = request_refund(client, tax, first_of_november["payment"]["id"], "GAVE_UP", eventDate="2021-11-20")["refund"]["id"]
    decide(client, tax, gave_up)
    clock.travel_to(_at(2022, 3, 1))
    client.data(CREATE_REMITTANCE, {"input": {}}, county.tokens["collector2"])  # g's cash: declared

    token = county.tokens["finance"]
    year = reconcile(client, token)
    cash_adds_up(year)
    assert year["totals"]["payments"] == 8 and year["totals"]["collected"] == "2560.00"
    # kept: 2,560 − 320 duplicate − 288 subsidy part − 320 given up
    assert year["totals"]["kept"] == "1632.00"

    # the boundary days, one by one
    october_31 = reconcile(client, token, date(2021, 10, 31), date(2021, 10, 31))
    assert (october_31["totals"]["payments"], october_31["totals"]["collected"]) == (1, "320.00")
    assert line(october_31, "100", "CASH_AGENT")["cashHandedBack"] == "0.00"
    november_1 = reconcile(client, token, date(2021, 11, 1), date(2021, 11, 1))
    assert (november_1["totals"]["payments"], november_1["totals"]["duplicateCount"]) == (2, 0)  # refunded since
    november_30 = reconcile(client, token, date(2021, 11, 30), date(2021, 11, 30))
    assert (november_30["totals"]["collected"], november_30["totals"]["refundsApproved"]) == ("320.00", "0.00")
    december_1 = reconcile(client, token, date(2021, 12, 1), date(2021, 12, 1))
    assert (december_1["totals"]["collected"], december_1["totals"]["refundsCompleted"], december_1["totals"]["kept"]) == (
        "320.00", "320.00", "0.00",
    )
    assert line(december_1, "100", "CASH_AGENT")["cashHandedBack"] == "288.00"  # the cash of 12-01, handed back later
    december_31 = reconcile(client, token, date(2021, 12, 31), date(2021, 12, 31))
    assert (december_31["totals"]["collected"], december_31["totals"]["refundsApproved"], december_31["totals"]["kept"]) == (
        "320.00", "320.00", "0.00",
    )
    january_1 = reconcile(client, token, date(2022, 1, 1), date(2022, 1, 1))
    assert (january_1["totals"]["collected"], january_1["totals"]["refundsApproved"]) == ("320.00", "0.00")
    january_2 = reconcile(client, token, date(2022, 1, 2), date(2022, 1, 2))
    assert (january_2["totals"]["payments"], january_2["totals"]["refundsCompleted"], january_2["totals"]["kept"]) == (
        0, "288.00", "-288.00",
    )
    assert line(january_2, "100", "CASH_AGENT")["collected"] == "0.00"  # a line of refunds only

    # days → months → the year, line by line and in total
    months = [(y, m) for y, m in ((2021, 9), (2021, 10), (2021, 11), (2021, 12), (2022, 1), (2022, 2), (2022, 3))]
    monthly = []
    for y, m in months:
        first, last = _month_ends(y, m)
        month = reconcile(client, token, first, last)
        cash_adds_up(month)
        if (y, m) in ((2021, 10), (2021, 11), (2021, 12), (2022, 1)):
            days = [reconcile(client, token, day, day) for day in _days(first, last)]
            assert _sum_reports(days) == _as_sums(month), (y, m)
        monthly.append(month)
    assert _sum_reports(monthly) == _as_sums(year)
    assert _as_sums(reconcile(client, token, date(2021, 9, 1), date(2022, 3, 31))) == _as_sums(year)
    # open-ended periods split the year in two
    before = reconcile(client, token, until=date(2021, 11, 30))
    after = reconcile(client, token, since=date(2021, 12, 1))
    assert _sum_reports([before, after]) == _as_sums(year)

    township = reconcile(client, county.tokens["township"], date(2021, 11, 1), date(2021, 11, 30))
    assert township["totals"]["collected"] == "960.00"  # b, the duplicate and c: 李营村's g is 板场乡's

    bad = client.gql(RECONCILE, {"year": YEAR, "from": "2021-12-02", "until": "2021-12-01"}, token)
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_PERIOD"
