"""Helpers for channel-file and history-file tests: files as bytes, uploads over GraphQL."""
from __future__ import annotations

import io

import openpyxl

IMPORT = """
mutation($input: ImportPaymentsInput!) {
  importPayments(input: $input) {
    accepted duplicates alreadyImported rejected rowsTotal dryRun atomic written importId
    paymentImport { id fileName rowsTotal accepted duplicates alreadyImported rejected importedBy checksum }
    rowErrors { row column code message }
    userErrors { field code message }
  }
}"""

IMPORT_HISTORY = """
mutation($input: ImportEnrollmentHistoryInput!) {
  importEnrollmentHistory(input: $input) {
    rowsTotal accepted rejected inserted updated unchanged dryRun
    rowErrors { row column code message }
    userErrors { field code message }
  }
}"""

IMPORTS = """
query($year: Int) {
  paymentImports(year: $year) {
    totalCount edges { node { id year fileName rowsTotal accepted duplicates alreadyImported rejected importedBy } }
  }
}"""

PERSON_PAYMENTS = """
query($filter: PaymentFilter) {
  payments(filter: $filter) {
    totalCount
    edges { node { status amount channel timing benefitStart externalId receiptNo refunds { reason amount status automatic } } }
  }
}"""

HEADER = ("证件号码", "姓名", "金额", "渠道", "缴费时间", "流水号")


def csv_file(rows: list[tuple], header: tuple = HEADER, encoding: str = "utf-8") -> bytes:
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in row) for row in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def xlsx_file(rows: list[tuple], header: tuple = HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def import_payments(client, token: str, year: int, data: bytes, name: str = "channel.csv", **options) -> dict:
    variables = {"input": {"year": year, "file": None, **options}}
    body = client.upload(IMPORT, variables, "variables.input.file", name, data, token)
    assert not body.get("errors"), body
    return body["data"]["importPayments"]


def import_history(client, token: str, data: bytes, name: str = "history.csv", **options) -> dict:
    variables = {"input": {"file": None, **options}}
    body = client.upload(IMPORT_HISTORY, variables, "variables.input.file", name, data, token)
    assert not body.get("errors"), body
    return body["data"]["importEnrollmentHistory"]


def payments_of(client, token: str, id_number: str) -> list[dict]:
    data = client.data(PERSON_PAYMENTS, {"filter": {"idNumber": id_number}}, token)["payments"]
    return [e["node"] for e in reversed(data["edges"])]  # oldest first


def row_codes(result: dict) -> list[tuple[int, str]]:
    return [(e["row"], e["code"]) for e in result["rowErrors"]]
