"""Reads the online path runs as plain statements (straight on psycopg) beside the
SQLAlchemy forms the rest of the code builds: the same rows for the same question.

- a unit's page of persons (`_subtree_page`) and `_conditions` + keyset in SQLAlchemy;
- the units loader (`units_by_ids`) and `visible_to` in SQLAlchemy."""
from __future__ import annotations

from sqlalchemy import and_, select, tuple_

from domain.persons.store import _COLUMNS as PERSON_COLUMNS
from domain.persons.store import PersonQuery, _conditions, _row, list_persons, registered_below
from domain.persons.tables import Person
from schema.relay import from_global_id
from tenants.models import Unit
from tenants.units import _COLUMNS as UNIT_COLUMNS
from tenants.units import _row as unit_row
from tenants.units import units_by_ids, visible_to
from tests.payment_support import new_person


def test_the_plain_person_page_reads_what_the_conditions_select(client, new_county, owner_db) -> None:
    county = new_county()
    for code, count in (("100201", 7), ("300201", 5)):
        for n in range(count):
            new_person(client, county, unit=code, name=f"比对{n}")
    tenant = from_global_id(county.id)[1]

    async def compare(db) -> int:  # noqa: ANN001
        paths = ["/"] + [
            r.path for r in await db.execute(select(Unit.path).where(Unit.tenant_id == tenant).order_by(Unit.path))
        ]
        compared = 0
        for path in paths:
            query = PersonQuery(tenant_id=tenant, path=path)
            after = None
            while True:
                page = await list_persons(db, query, 3, after, counted=True)
                conditions = _conditions(query)
                if after is not None:
                    conditions.append(tuple_(Person.unit_path, Person.id) > tuple_(*after))
                twin = [_row(r) for r in await db.execute(
                    select(*PERSON_COLUMNS).where(and_(*conditions)).order_by(Person.unit_path, Person.id).limit(4)
                )]
                assert page.rows == twin[:3] and page.has_next == (len(twin) > 3), (path, after)
                total = page.total if isinstance(page.total, int) else await page.total()
                assert total == await registered_below(db, tenant, path)
                compared += len(page.rows)
                if not page.has_next:
                    break
                after = (page.rows[-1].unit_path, page.rows[-1].id)
        return compared

    assert owner_db(compare, tenant) >= 2 * 12  # the county and at least its two villages' subtrees


def test_the_units_loader_reads_what_visible_to_selects(new_county, owner_db) -> None:
    county = new_county()
    tenant = from_global_id(county.id)[1]

    async def compare(db) -> int:  # noqa: ANN001
        units = [unit_row(r) for r in await db.execute(select(*UNIT_COLUMNS).where(Unit.tenant_id == tenant))]
        ids = [u.id for u in units]
        for scope in ["/", *(u.path for u in units)]:
            plain = await units_by_ids(db, tenant, scope, ids)
            twin = {r.id: unit_row(r) for r in await db.execute(
                select(*UNIT_COLUMNS).where(Unit.tenant_id == tenant, Unit.id.in_(ids), visible_to(scope))
            )}
            assert plain == twin, scope
        return len(units)

    assert owner_db(compare, tenant) > 3


def test_units_and_totals_read_ahead_whichever_way_they_are_asked(client, new_county) -> None:
    """The page reads units and its total with itself only when asked (`asks_for`):
    aliases, fragments and a bare page get the same answers, and a garbage token none."""
    county = new_county()
    for n in range(3):
        new_person(client, county, unit="100201", name=f"别名{n}")
    token = county.tokens["admin"]
    plain = client.data("{ persons(first: 5) { totalCount edges { node { idNumber unit { code } } } } }", {}, token)
    shapes = [
        "{ p: persons(first: 5) { n: totalCount edges { node { idNumber u: unit { code } } } } }",
        "{ p: persons(first: 5) { ...Page } } fragment Page on PersonConnection { n: totalCount edges { node { "
        "idNumber ... on Person { u: unit { code } } } } }",
    ]
    expected = {
        "n": plain["persons"]["totalCount"],
        "edges": [{"node": {"idNumber": e["node"]["idNumber"], "u": e["node"]["unit"]}} for e in plain["persons"]["edges"]],
    }
    assert expected["n"] == 3 and all(e["node"]["u"]["code"].endswith("100201") for e in expected["edges"])
    for query in shapes:
        assert client.data(query, {}, token)["p"] == expected, query
    bare = client.data("{ persons(first: 5) { edges { node { idNumber } } } }", {}, token)["persons"]["edges"]
    assert [e["node"]["idNumber"] for e in bare] == [e["node"]["idNumber"] for e in expected["edges"]]
    refused = client.gql("{ persons(first: 5) { totalCount } }", {}, "x" * 5000)
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["UNAUTHENTICATED"]
