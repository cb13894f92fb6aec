"""Helpers for policy and subsidy-list tests: seed policies over GraphQL, CSV lists."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from tests.support import REGISTER, new_id_number

POLICIES = Path(__file__).resolve().parent.parent / "examples" / "policies"

SET_POLICY = """
mutation($input: YearPolicyInput!) {
  setYearPolicy(input: $input) {
    recomputed
    policy { year standard categories { code amount mode owner } }
    userErrors { field code message }
  }
}"""

UPLOAD = """
mutation($input: UploadSubsidyListInput!) {
  uploadSubsidyList(input: $input) {
    batch { id year category version rowsTotal rowsAccepted rowsRejected added removed pending dryRun }
    rowErrors { row column code message }
    userErrors { field code message }
  }
}"""

# UPLOAD with who each version removes and what it costs them.
UPLOAD_REMOVALS = """
mutation($input: UploadSubsidyListInput!) {
  uploadSubsidyList(input: $input) {
    batch { id year category version rowsTotal rowsAccepted rowsRejected added removed pending dryRun }
    rowErrors { row column code message }
    removalsTotal
    removals {
      idNumber name statusBefore statusAfter amountDueBefore amountDueAfter subsidyBefore subsidyAfter
      categoryBefore categoryAfter person { idNumber name } unit { code }
    }
    userErrors { field code message }
  }
}"""

ENROLLMENT = """
query($id: String!, $year: Int!) {
  person(idNumber: $id) {
    enrollment(year: $year) {
      status amountDue paidAmount subsidyCategory subsidyAmount subsidyMode reimbursementDue benefitStart
      subsidies { category amount mode applied }
    }
  }
}"""


def policy_input(file_name: str, **overrides) -> dict:
    document = json.loads((POLICIES / file_name).read_text(encoding="utf-8"))
    for key in ("tenant", "source", "notes"):
        document.pop(key, None)
    document.update(overrides)
    return document


def campaign_day(policy: dict) -> datetime:
    """Noon in Shanghai on the first day of the window: lists are open."""
    day = date.fromisoformat(policy["windowStart"])
    return datetime(day.year, day.month, day.day, 4, tzinfo=UTC)


def set_policy(client, token: str, policy: dict) -> dict:
    payload = client.data(SET_POLICY, {"input": policy}, token)["setYearPolicy"]
    assert payload["userErrors"] == [], payload["userErrors"]
    return payload


def csv_list(rows: list[tuple], encoding: str = "utf-8", header: str = "姓名,证件号码,村/社区,认定日期,备注") -> bytes:
    lines = [header] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def upload(
    client, token: str, year: int, category: str, data: bytes, name: str = "list.csv", dry_run: bool = False,
    confirm_removals: bool = False, query: str = UPLOAD,
) -> dict:
    """`confirm_removals`: the version may remove many members (domain/subsidy_lists/rules.py)."""
    variables = {"input": {"year": year, "category": category, "file": None, "dryRun": dry_run,
                           "confirmRemovals": confirm_removals}}
    body = client.upload(query, variables, "variables.input.file", name, data, token)
    assert not body.get("errors"), body
    return body["data"]["uploadSubsidyList"]


def register_person(client, county, born: date, name: str = "测试", unit: str = "100201", region: str = "411325") -> str:
    number = new_id_number(region=region, born=born)
    variables = {"input": {"idNumber": number, "name": name, "unit": county.units[unit]}}
    payload = client.data(REGISTER, variables, county.tokens["admin"])["registerPerson"]
    assert payload["userErrors"] == [], payload
    return number


def enrollment(client, token: str, id_number: str, year: int) -> dict:
    return client.data(ENROLLMENT, {"id": id_number, "year": year}, token)["person"]["enrollment"]
