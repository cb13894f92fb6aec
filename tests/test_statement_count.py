"""No N+1: a page asking for every nested field runs as many SQL statements at 10 rows
as at 100. Statements are counted on the server's own engine (before_cursor_execute),
one request at a time."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import event

from tests.conftest import ALL_DEPARTMENTS
from tests.newborn_support import register as register_newborn
from tests.payment_support import pay, shanghai
from tests.subsidy_support import csv_list, policy_input, set_policy, upload
from tests.support import REGISTER, new_id_number

YEAR = 2023
PERSONS = 105  # more than the big page
WINDOW_DAY = date(2022, 11, 5)
NEWBORN_DAY = date(2023, 2, 5)

PERSONS_PAGE = """
query($first: Int!, $unit: ID) {
  persons(first: $first, filter: {unit: $unit}) {
    totalCount
    edges { node {
      id idNumber name birthDate age
      unit { name parent { name children(first: 3) { totalCount edges { node { name children(first: 2) { totalCount } } } } } }
      enrollment(year: 2023) {
        status amountDue subsidyCategory
        subsidies { category amount mode applied }
        exemption { basis proofReference }
      }
      subsidyHistory { year category version change }
      events { kind date refundYears refundOffered }
      changes { field before after }
    } }
  }
}"""

PAYMENTS_PAGE = """
query($first: Int!) {
  payments(first: $first) {
    totalCount
    edges { node {
      id amount status benefitStart
      person { name unit { name } enrollment(year: 2023) { status subsidies { category } } }
      refunds { id amount reason payment { id status refunds { id } } }
    } }
  }
}"""

REFUNDS_PAGE = """
query($first: Int!) {
  refunds(first: $first) {
    totalCount
    edges { node { id amount reason payment { id amount person { name unit { name } } refunds { id } } } }
  }
}"""

UNITS_PAGE = """
query($first: Int!) {
  units(first: $first) {
    edges { node { name children(first: $first) { totalCount edges { node { name parent { name }
      children(first: $first) { totalCount edges { node { name } } } } } } } }
  }
}"""

RECORD_EVENT = """
mutation($input: RecordPersonEventInput!) { recordPersonEvent(input: $input) { userErrors { field code message } } }"""

UPDATE = """
mutation($input: UpdatePersonInput!) { updatePerson(input: $input) { userErrors { field code message } } }"""


class StatementCounter:
    """Statements the server's engine sends, between `start` and `stop`."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        self.engine = engine.sync_engine
        self.count = 0
        self.statements: list[str] = []
        self._lock = threading.Lock()

    def _seen(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        with self._lock:
            self.count += 1
            self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        event.remove(self.engine, "before_cursor_execute", self._seen)


def _ok(payload: dict) -> None:
    assert payload["userErrors"] == [], payload["userErrors"]


def _register(client, county, born: date, name: str) -> tuple[str, str]:
    number = new_id_number(born=born)
    variables = {"input": {"idNumber": number, "name": name, "unit": county.units["100201"]}}
    payload = client.data(REGISTER, variables, county.tokens["admin"])["registerPerson"]
    _ok(payload)
    return number, payload["person"]["id"]


@pytest.fixture(scope="module")
def busy_county(server, client, onboard):
    """105 persons in one village, every nested field with something to show and spread
    over the pages: newborns exempt, listed persons, payments, duplicates with their
    automatic refunds, life events, edits."""
    clock = server.app_object.state.runtime.services.clock
    county = onboard(ALL_DEPARTMENTS)
    admin = county.tokens["admin"]
    clock.travel_to(shanghai(WINDOW_DAY, 12))
    set_policy(client, county.tokens["medical"], policy_input("neixiang-2023.json"))
    clock.travel_to(shanghai(NEWBORN_DAY, 12))
    adults: list[tuple[int, str, str]] = []
    for i in range(PERSONS):
        if i % 30 == 7:  # exempt newborns at 7, 37, 67, 97
            newborn = {"basis": "PARENT_COVER_DECLARED", "proofReference": f"证明{i}"}
            _ok(register_newborn(client, county, date(2023, 2, 1), name=f"新生儿{i}", newborn=newborn, token=admin))
        else:
            number, global_id = _register(client, county, date(1980, 1, 1), f"居民{i}")
            adults.append((i, number, global_id))
    clock.travel_to(shanghai(WINDOW_DAY, 12))
    listed = [(f"居民{i}", number, "张庄村", "2022-10-20", "") for i, number, _ in adults if i % 4 == 0]
    assert upload(client, county.tokens["civil"], YEAR, "dibao", csv_list(listed))["userErrors"] == []
    collector = county.tokens["collector"]
    for i, number, global_id in adults:
        _ok(pay(client, collector, number, YEAR, "350.00", WINDOW_DAY))
        if i % 3 == 0:  # a duplicate opens an automatic refund
            second = pay(client, collector, number, YEAR, "350.00", WINDOW_DAY, n="b")
            _ok(second)
            assert second["refund"]["reason"] == "DUPLICATE_PAYMENT"
        if i % 5 == 0:
            event_input = {"person": global_id, "kind": "MOVED_OUT_OF_REGION", "date": "2022-11-04"}
            _ok(client.data(RECORD_EVENT, {"input": event_input}, admin)["recordPersonEvent"])
        if i % 6 == 0:
            _ok(client.data(UPDATE, {"input": {"person": global_id, "name": f"居民{i}乙"}}, admin)["updatePerson"])
    yield county
    clock.travel_to(None)


def _count(server, client, query: str, variables: dict, token: str) -> tuple[StatementCounter, dict]:
    with StatementCounter(server.app_object.state.runtime.services.engine) as counter:
        data = client.data(query, variables, token)
    return counter, data


def _same_count(server, client, query: str, token: str, small: int = 10, big: int = 100, **variables) -> tuple[dict, dict]:
    few, small_data = _count(server, client, query, {"first": small, **variables}, token)
    many, big_data = _count(server, client, query, {"first": big, **variables}, token)
    # the statements run more often for more rows, for the message
    repeated = Counter(" ".join(s.split())[:160] for s in many.statements) - Counter(
        " ".join(s.split())[:160] for s in few.statements
    )
    assert few.count == many.count, f"{few.count} statements for {small} rows, {many.count} for {big}: {repeated.most_common(8)}"
    return small_data, big_data


def _nodes(data: dict, field: str) -> list[dict]:
    return [edge["node"] for edge in data[field]["edges"]]


def test_a_persons_page_runs_as_many_statements_at_100_rows_as_at_10(server, client, busy_county):
    county = busy_county
    small, big = _same_count(server, client, PERSONS_PAGE, county.tokens["admin"], unit=county.units["100"])
    few, many = _nodes(small, "persons"), _nodes(big, "persons")
    assert (len(few), len(many)) == (10, 100)
    # every nested field had rows to show, more of them in the big page
    for nodes, exempt, listed, events, changes in ((few, 1, 3, 2, 2), (many, 4, 25, 20, 17)):
        shown = [n["enrollment"] for n in nodes if n["enrollment"]["exemption"]]
        assert len(shown) == exempt and all(e["status"] == "EXEMPT" for e in shown)
        assert sum(1 for n in nodes if n["enrollment"]["subsidies"]) == listed
        assert sum(1 for n in nodes if n["subsidyHistory"]) == listed
        assert sum(len(n["events"]) for n in nodes) == events
        assert sum(1 for n in nodes if n["events"] and n["events"][0]["refundYears"] == [YEAR]) == events
        assert sum(1 for n in nodes if n["changes"]) == changes
    children = many[0]["unit"]["parent"]["children"]
    assert children["totalCount"] == 2 and all(e["node"]["children"]["totalCount"] == 0 for e in children["edges"])


def test_payment_and_refund_pages_run_as_many_statements_at_100_rows_as_at_10(server, client, busy_county):
    token = busy_county.tokens["admin"]
    small, big = _same_count(server, client, PAYMENTS_PAGE, token)
    assert (len(_nodes(small, "payments")), len(_nodes(big, "payments"))) == (10, 100)
    refunded = [n for n in _nodes(big, "payments") if n["refunds"]]
    assert len(refunded) > 10
    assert all(r["payment"]["id"] == n["id"] for n in refunded for r in n["refunds"])
    small, big = _same_count(server, client, REFUNDS_PAGE, token, small=5, big=50)
    assert (len(_nodes(small, "refunds")), len(_nodes(big, "refunds"))) == (5, 35)
    assert all(n["payment"]["refunds"] for n in _nodes(big, "refunds"))


def test_a_tree_page_runs_as_many_statements_for_every_child_as_for_one(server, client, busy_county):
    small, big = _same_count(server, client, UNITS_PAGE, busy_county.tokens["admin"], small=1, big=10)
    assert len(_nodes(big, "units")) == 3
    towns = {n["name"]: n["children"] for n in _nodes(big, "units")}
    assert towns["城关镇"]["totalCount"] == 2 and len(towns["城关镇"]["edges"]) == 2
    assert len(_nodes(small, "units")) == 1 and len(_nodes(small, "units")[0]["children"]["edges"]) == 1


CHILDREN_AFTER = """
query($id: ID!, $after: String) {
  node(id: $id) { ... on Unit { children(first: 1, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } } }
}"""


def test_children_pages_go_on_after_their_cursor(client, busy_county):
    token, town = busy_county.tokens["admin"], busy_county.units["100"]
    pages, after = [], None
    for _ in range(3):
        page = client.data(CHILDREN_AFTER, {"id": town, "after": after}, token)["node"]["children"]
        pages.append(([e["node"]["name"] for e in page["edges"]], page["totalCount"], page["pageInfo"]["hasNextPage"]))
        after = page["pageInfo"]["endCursor"] or after
    assert pages == [(["东关社区"], 2, True), (["张庄村"], 2, False), ([], 2, False)]
