"""Helpers for quota, progress, list and assessment tests."""
from __future__ import annotations

from collections import defaultdict

from tests.support import ONBOARD, PASSWORD, UNIT_BY_CODE, County

SET_QUOTAS = """
mutation($input: SetQuotasInput!) {
  setQuotas(input: $input) { quotas { year target unit { code } } userErrors { field code message } }
}"""

QUOTAS = "query($year: Int!) { quotas(year: $year) { year target unit { code name } } }"

PROGRESS = """
query($year: Int!, $parent: ID, $asOf: Date) {
  quotaProgress(year: $year, parent: $parent, asOf: $asOf) {
    unit { code name } target enrolled rate percent rank siblings remaining persons paid subsidized unpaid refunded
    measuredOn calledIn
  }
}"""

HISTORY = """
query($year: Int!, $unit: ID, $interval: HistoryInterval!) {
  progressHistory(year: $year, unit: $unit, interval: $interval) {
    day target enrolled percent rank siblings paid subsidized calledIn
  }
}"""

SNAPSHOT = """
mutation($input: TakeProgressSnapshotInput!) {
  takeProgressSnapshot(input: $input) { day units userErrors { field code message } }
}"""

ASSESSMENT = """
query($year: Int!) {
  assessment(year: $year) {
    unit { code } target enrolled reward penalty net
    lines { code persons perPerson amount on }
    measurements { on measuredOn enrolled }
  }
}"""

UNPAID = """
query($year: Int!, $unit: ID, $first: Int, $after: String) {
  unpaidPersons(year: $year, unit: $unit, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { idNumber name unit { code } } }
  }
}"""


def set_quotas(client, token: str, year: int, quotas: dict[str, int], replace: bool = False) -> dict:
    """quotas: unit global id → target."""
    variables = {"input": {"year": year, "quotas": [{"unit": u, "target": t} for u, t in quotas.items()], "replace": replace}}
    return client.data(SET_QUOTAS, variables, token)["setQuotas"]


def progress(client, token: str, year: int, parent: str | None = None, as_of: str | None = None) -> list[dict]:
    return client.data(PROGRESS, {"year": year, "parent": parent, "asOf": as_of}, token)["quotaProgress"]


def by_code(rows: list[dict]) -> dict[str, dict]:
    return {r["unit"]["code"]: r for r in rows}


def onboard_tree(client, operator_token: str, code: str, name: str, units: list[dict]) -> County:
    """A county with an arbitrary tree and its admin logged in; `units` maps every code."""
    payload = client.data(
        ONBOARD,
        {"input": {"code": code, "name": name, "units": units, "departments": ["MEDICAL_SECURITY", "TAX"],
                   "admin": {"username": "admin", "password": PASSWORD}}},
        operator_token,
    )["onboardTenant"]
    assert payload["userErrors"] == [], payload["userErrors"]
    county = County(code=code, id=payload["tenant"]["id"])
    county.tokens["admin"] = client.login(code, "admin", PASSWORD)

    def walk(nodes: list[dict]) -> None:
        for node in nodes:
            found = client.data(UNIT_BY_CODE, {"code": node["code"]}, county.tokens["admin"])["unitByCode"]
            county.units[node["code"]] = found["id"]
            walk(node.get("children") or [])

    walk(units)
    return county


def expected_rollup(recount: list[tuple], unit_paths: dict[int, str], year: int) -> dict[str, tuple[int, int]]:
    """From recount rows (year, unit_id, unpaid, paid, subsidized, refunded) and each
    leaf unit's path: (persons, enrolled) per path prefix (every ancestor)."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for y, unit_id, unpaid, paid, subsidized, refunded in recount:
        if y != year:
            continue
        path = unit_paths[unit_id]
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/" + "/".join(parts[:depth]) + "/"
            totals[prefix][0] += unpaid + paid + subsidized + refunded
            totals[prefix][1] += paid + subsidized
    return {k: (v[0], v[1]) for k, v in totals.items()}


def subtree_recount(owner_db, county: County, year: int, path: str) -> dict[str, int]:
    """Counted from the enrolment rows themselves, as the owner: the truth progress must equal."""
    from sqlalchemy import text

    from schema.relay import from_global_id

    tenant_id = from_global_id(county.id)[1]

    async def count(db):
        row = (
            await db.execute(
                text(
                    """SELECT count(*) AS persons,
                              count(*) FILTER (WHERE e.status IN ('PAID', 'SUBSIDIZED')) AS enrolled,
                              count(*) FILTER (WHERE e.status = 'PAID') AS paid,
                              count(*) FILTER (WHERE e.status = 'SUBSIDIZED') AS subsidized,
                              count(*) FILTER (WHERE e.status = 'UNPAID') AS unpaid,
                              count(*) FILTER (WHERE e.status = 'REFUNDED') AS refunded
                         FROM enrollment e JOIN person p ON p.tenant_id = e.tenant_id AND p.id = e.person_id
                        WHERE e.tenant_id = :t AND e.year = :y AND p.unit_path LIKE :path || '%'"""
                ),
                {"t": tenant_id, "y": year, "path": path},
            )
        ).mappings().one()
        return dict(row)

    return owner_db(count, tenant_id)


def unit_paths(client, county: County, codes: list[str]) -> dict[str, str]:
    """Unit code suffix → materialised path."""
    return {
        suffix: client.data(UNIT_BY_CODE, {"code": county.code + suffix}, county.tokens["admin"])["unitByCode"]["path"]
        for suffix in codes
    }
