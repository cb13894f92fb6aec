"""Helpers for payment tests: a county in its campaign, payments and refunds over GraphQL."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from tests.subsidy_support import policy_input, register_person, set_policy

SHANGHAI = ZoneInfo("Asia/Shanghai")

RECORD = """
mutation($input: RecordPaymentInput!) {
  recordPayment(input: $input) {
    payment { id status amount channel timing benefitStart receiptNo externalId paidAt person { idNumber } }
    enrollment { status amountDue paidAmount benefitStart }
    refund { id reason amount status automatic }
    userErrors { field code message }
  }
}"""

REQUEST_REFUND = """
mutation($input: RequestRefundInput!) {
  requestRefund(input: $input) { refund { id reason amount status } userErrors { field code message } }
}"""

DECIDE_REFUND = """
mutation($input: DecideRefundInput!) {
  decideRefund(input: $input) { refund { id status amount } userErrors { field code message } }
}"""

COMPLETE_REFUND = """
mutation($input: CompleteRefundInput!) {
  completeRefund(input: $input) { refund { id status completionRef } userErrors { field code message } }
}"""

PAYMENT_REFUNDS = """
query($id: ID!) { node(id: $id) { ... on Payment { status refunds { id reason amount status automatic } } } }
"""


def shanghai(day: date, hour: int = 10) -> datetime:
    """A moment on a Shanghai calendar day."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI)


def campaign(client, new_county, clock, policy_file: str = "neixiang-2027.json", today: date | None = None, **overrides):
    """A county with every department, a policy set by 医保局, the clock on `today`
    (default: the window's first day)."""
    from tests.conftest import ALL_DEPARTMENTS

    county = new_county(ALL_DEPARTMENTS)
    policy = policy_input(policy_file, **overrides)
    day = today or date.fromisoformat(policy["windowStart"])
    clock.travel_to(shanghai(day, 12))
    set_policy(client, county.tokens["medical"], policy)
    return county, policy


def pay(client, token: str, id_number: str, year: int, amount: str | Decimal, paid_on: date, channel: str = "CASH_AGENT",
        receipt: str | None = None, external: str | None = None, **extra) -> dict:
    receipt = receipt if receipt is not None or channel != "CASH_AGENT" else f"R{id_number[-8:]}{paid_on:%m%d}{extra.pop('n', '')}"
    variables = {
        "input": {
            "idNumber": id_number, "year": year, "amount": str(amount), "channel": channel,
            "paidAt": shanghai(paid_on).isoformat(), "receiptNo": receipt, "externalId": external, **extra,
        }
    }
    return client.data(RECORD, variables, token)["recordPayment"]


def new_person(client, county, born: date = date(1980, 1, 1), unit: str = "100201", name: str = "缴费人") -> str:
    return register_person(client, county, born, name, unit)


def request_refund(client, token: str, payment_id: str, reason: str, **extra) -> dict:
    return client.data(REQUEST_REFUND, {"input": {"payment": payment_id, "reason": reason, **extra}}, token)["requestRefund"]


def decide(client, token: str, refund_id: str, approve: bool = True) -> dict:
    return client.data(DECIDE_REFUND, {"input": {"refund": refund_id, "approve": approve}}, token)["decideRefund"]


def tally_matches_recount(owner_db, county_global_id: str) -> tuple[list, list]:
    """(tallies, recount) per unit, year and status, read as the owner in that tenant."""
    from sqlalchemy import text

    from schema.relay import from_global_id

    tenant_id = from_global_id(county_global_id)[1]

    async def read(db):
        tallies = await db.execute(
            text(
                """SELECT year, unit_id, unpaid, paid, subsidized, refunded, exempt FROM enrollment_tally
                    WHERE tenant_id = :t AND (unpaid, paid, subsidized, refunded, exempt) <> (0, 0, 0, 0, 0)
                    ORDER BY 1, 2"""
            ),
            {"t": tenant_id},
        )
        recount = await db.execute(
            text(
                """SELECT e.year, p.unit_id,
                          count(*) FILTER (WHERE e.status = 'UNPAID'), count(*) FILTER (WHERE e.status = 'PAID'),
                          count(*) FILTER (WHERE e.status = 'SUBSIDIZED'), count(*) FILTER (WHERE e.status = 'REFUNDED'),
                          count(*) FILTER (WHERE e.status = 'EXEMPT')
                     FROM enrollment e JOIN person p ON p.tenant_id = e.tenant_id AND p.id = e.person_id
                    WHERE e.tenant_id = :t GROUP BY 1, 2 ORDER BY 1, 2"""
            ),
            {"t": tenant_id},
        )
        return [tuple(r) for r in tallies], [tuple(r) for r in recount]

    return owner_db(read, tenant_id)
