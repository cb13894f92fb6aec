"""quotaProgress keeps a unit's children and their targets in the process
(`ChildrenCache`) and reads them again whenever the county's tree version has moved
(migration 0020b): every change of the tree or of a quota is seen by the next request,
while registrations and payments, which move only counts, leave the version alone."""
from __future__ import annotations

from datetime import date

from sqlalchemy import text

from schema.relay import from_global_id
from tests.conftest import start_server
from tests.payment_support import campaign, new_person, pay
from tests.quota_support import by_code, progress, set_quotas
from tests.support import GraphQLClient
from tests.test_units_day_two import merge, update

YEAR = 2027
DAY = date(2026, 10, 10)


def tree_version(owner_db, county) -> int:
    tenant = int(from_global_id(county.id)[1])

    async def read(db):  # noqa: ANN001, ANN202
        return (await db.execute(text("SELECT tree_version FROM tenant WHERE id = :id"), {"id": tenant})).scalar()

    return owner_db(read)


def test_each_tree_or_quota_change_reaches_the_next_request(client, new_county, clock, owner_db):
    county, _ = campaign(client, new_county, clock, today=DAY)
    admin, code = county.tokens["admin"], county.code
    top = lambda: by_code(progress(client, admin, YEAR))  # noqa: E731
    below = lambda unit: by_code(progress(client, admin, YEAR, county.units[unit]))  # noqa: E731
    first, villages = top(), below("300")
    assert top() == first and below("300") == villages  # now kept by the process
    version = tree_version(owner_db, county)

    # counts move, the tree does not: the kept children serve, with the new figures
    person = new_person(client, county, unit="100201")
    assert pay(client, county.tokens["tax"], person, YEAR, "400.00", DAY, channel="TAX_HALL")["userErrors"] == []
    assert tree_version(owner_db, county) == version
    now = top()[code + "100"]
    assert (now["persons"], now["paid"]) == (first[code + "100"]["persons"] + 1, first[code + "100"]["paid"] + 1)

    # a quota: the township's target, and the village's inside its township
    assert set_quotas(client, admin, YEAR, {county.units["300"]: 7, county.units["300201"]: 3})["userErrors"] == []
    assert tree_version(owner_db, county) > version
    assert top()[code + "300"]["target"] == 7
    assert below("300")[code + "300201"]["target"] == 3

    # a new name
    assert update(client, admin, county.units["900"], name="新设管理区")["userErrors"] == []
    assert top()[code + "900"]["unit"]["name"] == "新设管理区"

    # a merge: the village merged away leaves its township's children
    assert merge(client, admin, county.units["300201"], county.units["300202"])["userErrors"] == []
    assert list(below("300")) == [code + "300202"]
    assert below("300")[code + "300202"]["target"] == 3


def test_another_process_sees_a_change_at_once(client, new_county, clock, settings, urls):
    """A second server on the same database stands for another worker: the children it
    keeps are read again once a change made through the first has moved the version."""
    county, _ = campaign(client, new_county, clock, today=DAY)
    admin, code = county.tokens["admin"], county.code
    server, thread, url = start_server(settings, urls)
    other = GraphQLClient(url)
    try:
        assert by_code(progress(other, admin, YEAR)) == by_code(progress(client, admin, YEAR))
        assert set_quotas(client, admin, YEAR, {county.units["100"]: 11})["userErrors"] == []
        assert by_code(progress(other, admin, YEAR))[code + "100"]["target"] == 11
        assert update(client, admin, county.units["100"], name="城关")["userErrors"] == []
        assert by_code(progress(other, admin, YEAR))[code + "100"]["unit"]["name"] == "城关"
    finally:
        other.http.close()
        server.should_exit = True
        thread.join(timeout=10)
