"""Year policies are cached per process by the county's `policy_version` (0017a): a
policy saved is what the next request uses, in this process and in any other."""
from __future__ import annotations

from datetime import date

from schema.relay import from_global_id
from tests.payment_support import campaign, new_person, pay
from tests.subsidy_support import policy_input, set_policy

IN_WINDOW = date(2026, 11, 5)


def _codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["userErrors"]]


def _version(owner_db, county) -> int:
    from sqlalchemy import text

    tenant = from_global_id(county.id)[1]
    return owner_db(lambda db: db.scalar(text("SELECT policy_version FROM tenant WHERE id = :t"), {"t": tenant}), tenant)


def test_a_saved_policy_is_used_by_the_next_payment(client, new_county, clock, owner_db):
    county, _ = campaign(client, new_county, clock, today=IN_WINDOW)
    collector = county.tokens["collector"]
    before = _version(owner_db, county)
    assert _codes(pay(client, collector, new_person(client, county), 2027, "400.00", IN_WINDOW)) == []
    assert _codes(pay(client, collector, new_person(client, county), 2027, "400.00", IN_WINDOW)) == []  # cached

    set_policy(client, county.tokens["medical"], policy_input("neixiang-2027.json", standard="420.00"))
    assert _version(owner_db, county) == before + 1
    person = new_person(client, county)
    assert _codes(pay(client, collector, person, 2027, "400.00", IN_WINDOW)) == ["AMOUNT_MISMATCH"]
    assert _codes(pay(client, collector, person, 2027, "420.00", IN_WINDOW)) == []


def test_a_refused_policy_moves_nothing(client, new_county, clock, owner_db):
    county, _ = campaign(client, new_county, clock, today=IN_WINDOW)
    before = _version(owner_db, county)
    refused = client.data(
        "mutation($input: YearPolicyInput!) { setYearPolicy(input: $input) { userErrors { code } } }",
        {"input": policy_input("neixiang-2027.json", standard="-1.00")}, county.tokens["medical"],
    )["setYearPolicy"]
    assert refused["userErrors"]
    assert _version(owner_db, county) == before
    assert _codes(pay(client, county.tokens["collector"], new_person(client, county), 2027, "400.00", IN_WINDOW)) == []
