"""Helpers for the newborn tests: persons born on an exact day, exemptions over GraphQL."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date

from domain.persons.idnumber import make_id_number

REGISTER_NEWBORN = """
mutation($input: RegisterPersonInput!) {
  registerPerson(input: $input) {
    person { id idNumber birthDate }
    userErrors { field code message }
  }
}"""

DECLARE = """
mutation($input: DeclareNewbornExemptionInput!) {
  declareNewbornExemption(input: $input) {
    exemption { year basis parentIdNumber proofReference declaredBy withdrawnAt }
    enrollment { year status amountDue paidAmount benefitStart }
    userErrors { field code message }
  }
}"""

WITHDRAW = """
mutation($input: WithdrawNewbornExemptionInput!) {
  withdrawNewbornExemption(input: $input) {
    exemption { year basis withdrawnAt withdrawalReason }
    enrollment { year status amountDue paidAmount benefitStart }
    userErrors { field code message }
  }
}"""

ENROLLMENT = """
query($id: String!, $year: Int!) {
  person(idNumber: $id) {
    enrollment(year: $year) {
      year status amountDue paidAmount benefitStart subsidyCategory
      exemption { year basis parentIdNumber proofReference }
    }
  }
}"""

_sequence = itertools.count(1)


@dataclass(frozen=True)
class Born:
    """A person registered with an exact birth date (tests/support.new_id_number drifts
    by a day every 900 numbers, which boundary days cannot have)."""

    id_number: str
    id: str  # global ID


def register(
    client, county, born: date, name: str = "新生儿", unit: str = "100201", newborn: dict | None = None,
    token: str | None = None,
) -> dict:
    """registerPerson's payload for a person born on `born` (newborn: the exemption part)."""
    number = make_id_number("411325", born, next(_sequence) % 999 + 1)
    variables = {"input": {"idNumber": number, "name": name, "unit": county.units[unit], "newborn": newborn}}
    payload = client.data(REGISTER_NEWBORN, variables, token or county.tokens["collector"])["registerPerson"]
    payload["number"] = number
    return payload


def born(client, county, day: date, **kw) -> Born:
    payload = register(client, county, day, **kw)
    assert payload["userErrors"] == [], payload["userErrors"]
    assert payload["person"]["birthDate"] == day.isoformat()
    return Born(payload["number"], payload["person"]["id"])


def declare(client, token: str, person: Born, basis: str, **fields) -> dict:
    variables = {"input": {"person": person.id, "basis": basis, **fields}}
    return client.data(DECLARE, variables, token)["declareNewbornExemption"]


def withdraw(client, token: str, person: Born, reason: str) -> dict:
    return client.data(WITHDRAW, {"input": {"person": person.id, "reason": reason}}, token)["withdrawNewbornExemption"]


def enrollment_of(client, token: str, person: Born, year: int) -> dict:
    return client.data(ENROLLMENT, {"id": person.id_number, "year": year}, token)["person"]["enrollment"]


def errors(payload: dict) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]
