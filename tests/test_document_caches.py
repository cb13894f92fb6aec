"""Parsed and validated documents are kept per process (schema/build.py, schema/limits.py):
what a cached document may do still depends on each request's variables and language."""
from __future__ import annotations

from tests.test_request_limits import codes

NODE = "unit { name } enrollment(year: 2027) { subsidies { category } }"
PAGES = "query($n: Int) { " + " ".join(f"c{i}: persons(first: $n) {{ edges {{ node {{ {NODE} }} }} }}" for i in range(20)) + " }"


def test_a_document_found_valid_is_still_measured_with_each_requests_variables(client, county_a):
    token = county_a.tokens["admin"]
    for _ in range(2):
        assert not client.gql(PAGES, {"n": 10}, token).get("errors")
        assert codes(client.gql(PAGES, {"n": 500}, token)) == ["QUERY_TOO_COSTLY"]


def test_an_invalid_document_is_refused_every_time(client, county_a):
    token, query = county_a.tokens["admin"], "{ persons(first: 1) { edges { node { noSuchField } } } }"
    for _ in range(3):
        body = client.gql(query, None, token)
        assert body["data"] is None and len(body["errors"]) == 1
        assert "noSuchField" in body["errors"][0]["message"]
