"""Test helpers: a GraphQL client over real HTTP, and small builders."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from domain.persons.idnumber import make_id_number


class GraphQLClient:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=60)

    def post(self, query: str, variables: dict | None = None, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers, **kw)

    def gql(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        response = self.post(query, variables, token)
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, query: str, variables: dict | None = None, token: str | None = None) -> dict:
        body = self.gql(query, variables, token)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def upload(self, query: str, variables: dict, file_path: str, name: str, data: bytes, token: str) -> dict:
        """A GraphQL multipart request (the spec clients use for `Upload`)."""
        operations = json.dumps({"query": query, "variables": variables})
        files = {"0": (name, data, "application/octet-stream")}
        form = {"operations": operations, "map": json.dumps({"0": [file_path]})}
        response = self.http.post("/graphql", data=form, files=files, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        return response.json()

    def login(self, tenant_code: str | None, username: str, password: str) -> str:
        data = self.data(LOGIN, {"input": {"tenantCode": tenant_code, "username": username, "password": password}})
        payload = data["login"]
        assert payload["userErrors"] == [], payload["userErrors"]
        return payload["token"]


LOGIN = """
mutation($input: LoginInput!) {
  login(input: $input) { token viewer { username role department } userErrors { field code message } }
}"""

ONBOARD = """
mutation($input: OnboardTenantInput!) {
  onboardTenant(input: $input) { tenant { id code name } userErrors { field code message } }
}"""

CREATE_USER = """
mutation($input: CreateUserInput!) {
  createUser(input: $input) { viewer { username role department scope { code } } userErrors { field code message } }
}"""

REGISTER = """
mutation($input: RegisterPersonInput!) {
  registerPerson(input: $input) {
    person { id idNumber name birthDate sex unit { code name } }
    userErrors { field code message }
  }
}"""

PERSONS = """
query($filter: PersonFilter, $first: Int, $after: String) {
  persons(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id idNumber name unit { code } } }
  }
}"""

UNIT_BY_CODE = "query($code: String!) { unitByCode(code: $code) { id code name kind path } }"

PASSWORD = "Passw0rd-for-tests"


def unit(code: str, name: str, kind: str, children: list | None = None) -> dict:
    return {"code": code, "name": name, "kind": kind, "children": children or []}


def small_tree(county: str) -> list[dict]:
    """Two townships with two villages each, a special unit with a school."""
    return [
        unit(f"{county}100", "城关镇", "TOWN", [
            unit(f"{county}100001", "东关社区", "COMMUNITY"),
            unit(f"{county}100201", "张庄村", "VILLAGE"),
        ]),
        unit(f"{county}300", "板场乡", "TOWNSHIP", [
            unit(f"{county}300201", "李营村", "VILLAGE"),
            unit(f"{county}300202", "王沟村", "VILLAGE"),
        ]),
        unit(f"{county}900", "县教体局", "SPECIAL", [unit(f"{county}900001", "第一中学", "SCHOOL")]),
    ]


_sequence = iter(range(1, 10**6))


def new_id_number(region: str = "411325", born: date = date(1990, 5, 17)) -> str:
    seq = next(_sequence)
    day = date.fromordinal(born.toordinal() + seq // 900)
    return make_id_number(region, day, seq % 900 + 1)


@dataclass
class County:
    """An onboarded county with one account per role, logged in."""

    code: str
    id: str
    tokens: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)  # code → global id


def english(problem) -> str:  # noqa: ANN001 - a Problem or a RowProblem
    """A problem as the catalogue words it in English."""
    from tenants.messages import text

    return text(problem.message_id, "en", problem.params)


def chinese(problem) -> str:  # noqa: ANN001
    from tenants.messages import text

    return text(problem.message_id, "zh_CN", problem.params)
