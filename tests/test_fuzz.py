"""A bounded fuzz run: schemathesis generates queries and mutations from schema.graphql
(hypothesis-graphql), with hostile scalars among the values, and sends them to a
production-mode server as a county admin. Any unhandled exception (HTTP 5xx, or an
error masked as INTERNAL) fails the test. Deterministic (derandomized), a few hundred
cases, so CI stays quick and a failure reproduces."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from tests.conftest import ALL_DEPARTMENTS, start_server

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_PER_FIELD = 8

HOSTILE_TEXT = ["", "\x00", "a\ud800", "=cmd|' /C calc'!A0", "'; DROP TABLE person; --", "9" * 40, "张" * 3000]
schemathesis.graphql.scalar(
    "Decimal",
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1000, max_value=100000).map(str),
        st.sampled_from(["1e30", "1E+400", "NaN", "-Infinity", "0.000001", "99999999999.99", "abc"]),
    ).map(nodes.String),
)
schemathesis.graphql.scalar(
    "Date",
    st.one_of(st.dates().map(lambda d: d.isoformat()), st.sampled_from(["0001-01-01", "2022-02-30", "x"])).map(nodes.String),
)
schemathesis.graphql.scalar(
    "DateTime",
    st.one_of(
        st.datetimes().map(lambda d: d.isoformat() + "+08:00"), st.sampled_from(["0001-01-01T00:00:00", "now"])
    ).map(nodes.String),
)
schemathesis.graphql.scalar("Upload", st.just(nodes.Null))


@pytest.fixture(scope="module")
def production_url(settings, urls):
    server, thread, url = start_server(replace(settings, env="production"), urls)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def _unhandled(response) -> str | None:  # noqa: ANN001 (schemathesis' Response)
    if response.status_code >= 500:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    try:
        body = json.loads(response.text)
    except ValueError:
        return None  # a plain-text HTTP 4xx
    if isinstance(body, dict):
        for error in body.get("errors") or []:
            if (error.get("extensions") or {}).get("code") == "INTERNAL":
                return f"INTERNAL: {error.get('path')}"
    return None


def test_generated_requests_never_cause_an_unhandled_exception(production_url, new_county):
    county = new_county(ALL_DEPARTMENTS)  # the fuzz may add units and users: its own county
    headers = {"Authorization": f"Bearer {county.tokens['admin']}"}
    schema = schemathesis.graphql.from_file((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    failures: list[str] = []

    for result in schema.get_all_operations():
        _fuzz(result.ok(), production_url + "/graphql", headers, failures)
    assert not failures, "\n\n".join(failures[:5])


def _fuzz(operation, url: str, headers: dict[str, str], failures: list[str]) -> None:  # noqa: ANN001
    """Send EXAMPLES_PER_FIELD generated requests for one root field."""

    @settings(
        max_examples=EXAMPLES_PER_FIELD, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy())
    def send(case) -> None:  # noqa: ANN001
        problem = _unhandled(case.call(base_url=url, headers=headers))
        if problem:
            failures.append(f"{operation.label}: {problem}\n{case.body}")

    send()
