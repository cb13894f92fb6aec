"""Cash: the collector's cash book, remittances, the tax bureau's confirmation, 双限 alerts."""
from __future__ import annotations

from datetime import date

from tests.payment_support import campaign, new_person, pay, shanghai

CREATE = """
mutation($input: CreateRemittanceInput!) {
  createRemittance(input: $input) { remittance { id payments total status collectorId } userErrors { field code message } }
}"""
CONFIRM = """
mutation($input: ConfirmRemittanceInput!) {
  confirmRemittance(input: $input) { remittance { id status confirmationNo } userErrors { field code message } }
}"""
HELD = """
query($year: Int!) {
  cashHeld(year: $year) { collectorId username payments amount daysHeld overdue overAmount unit { code } }
  remittanceAlerts(year: $year) { username amount daysHeld overdue overAmount }
}"""


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def cash(client, county, days: list[date], unit: str = "100201", who: str = "collector") -> None:
    for n, day in enumerate(days):
        person = new_person(client, county, unit=unit)
        result = pay(client, county.tokens[who], person, 2027, "400.00", day, receipt=f"{who}-{unit}-{n}")
        assert result["userErrors"] == [], result


def test_cash_is_declared_then_confirmed(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    cash(client, county, [date(2026, 11, 20), date(2026, 11, 21)])
    held = client.data(HELD, {"year": 2027}, county.tokens["collector"])["cashHeld"]
    assert [(h["payments"], h["amount"], h["daysHeld"], h["unit"]["code"]) for h in held] == [
        (2, "800.00", 3, county.code + "100201")
    ]
    declared = client.data(CREATE, {"input": {}}, county.tokens["collector"])["createRemittance"]
    assert declared["userErrors"] == []
    assert (declared["remittance"]["payments"], declared["remittance"]["total"], declared["remittance"]["status"]) == (
        2, "800.00", "DECLARED",
    )
    again = client.data(CREATE, {"input": {}}, county.tokens["collector"])["createRemittance"]
    assert codes(again) == ["NOTHING_TO_REMIT"]
    assert client.data(HELD, {"year": 2027}, county.tokens["collector"])["cashHeld"] == []

    remittance = declared["remittance"]["id"]
    refused = client.data(CONFIRM, {"input": {"remittance": remittance, "confirmationNo": "QR-1"}}, county.tokens["collector"])
    assert codes(refused["confirmRemittance"]) == ["FORBIDDEN"]
    confirmed = client.data(CONFIRM, {"input": {"remittance": remittance, "confirmationNo": "QR-1"}}, county.tokens["tax"])
    assert confirmed["confirmRemittance"]["remittance"]["status"] == "CONFIRMED"
    twice = client.data(CONFIRM, {"input": {"remittance": remittance, "confirmationNo": "QR-1"}}, county.tokens["tax"])
    assert codes(twice["confirmRemittance"]) == ["ALREADY_CONFIRMED"]


def test_township_declares_for_its_collectors_only(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    cash(client, county, [date(2026, 11, 22)])
    cash(client, county, [date(2026, 11, 22)], unit="300201", who="collector2")
    held = client.data(HELD, {"year": 2027}, county.tokens["township"])["cashHeld"]
    assert [h["username"] for h in held] == ["collector"]  # 城关镇 sees its own village only
    mine = held[0]["collectorId"]
    everyone = client.data(HELD, {"year": 2027}, county.tokens["tax"])["cashHeld"]
    other = next(h["collectorId"] for h in everyone if h["username"] == "collector2")
    assert codes(client.data(CREATE, {"input": {"collector": other}}, county.tokens["township"])["createRemittance"]) == ["NOT_FOUND"]
    assert client.data(CREATE, {"input": {"collector": mine}}, county.tokens["township"])["createRemittance"]["userErrors"] == []


def test_alerts_name_who_holds_cash_too_long_or_too_much(client, new_county, clock, county_b):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23), remitAmount="1000.00")
    cash(client, county, [date(2026, 11, 10)])  # 13 days: overdue
    cash(client, county, [date(2026, 11, 22)] * 3, unit="300201", who="collector2")  # 1,200 > 1,000
    alerts = client.data(HELD, {"year": 2027}, county.tokens["tax"])["remittanceAlerts"]
    assert [(a["username"], a["overdue"], a["overAmount"]) for a in alerts] == [
        ("collector", True, False), ("collector2", False, True),
    ]
    assert client.data(HELD, {"year": 2027}, county.tokens["collector2"])["remittanceAlerts"][0]["amount"] == "1200.00"
    assert client.data(HELD, {"year": 2027}, county_b.tokens["tax"])["remittanceAlerts"] == []
    # declaring clears the alert
    client.data(CREATE, {"input": {}}, county.tokens["collector"])
    alerts = client.data(HELD, {"year": 2027}, county.tokens["tax"])["remittanceAlerts"]
    assert [a["username"] for a in alerts] == ["collector2"]


def test_up_to_declares_only_earlier_cash(client, new_county, clock):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    cash(client, county, [date(2026, 11, 18), date(2026, 11, 22)])
    cut = shanghai(date(2026, 11, 20)).isoformat()
    declared = client.data(CREATE, {"input": {"upTo": cut}}, county.tokens["collector"])["createRemittance"]
    assert (declared["remittance"]["payments"], declared["remittance"]["total"]) == (1, "400.00")
