"""A county's batch jobs share a few slots (tenants/batch_slots.py): with its slots taken,
its uploads, imports and downloads are refused at once, and another county's run."""
from __future__ import annotations

import psycopg

from schema.relay import from_global_id
from tenants.batch_slots import slot_key, user_key_sql
from tests.payment_import_support import csv_file, import_history
from tests.support import new_id_number
from tests.test_downloads import download
from tests.test_rosters import UPLOAD

SLOTS = 2  # the default ZHENGJIAO_BATCH_SLOTS


def roster(client, county) -> dict:
    body = client.upload(UPLOAD, {"input": {"kind": "DECEASED", "year": 2026, "file": None, "dryRun": True}},
                         "variables.input.file", "名册.csv",
                         csv_file([(new_id_number(), "", "2026-10-01")], header=("证件号码", "姓名", "日期")),
                         county.tokens["medical"])
    return body["data"]["uploadRoster"]


def test_a_county_with_its_slots_taken_waits_and_the_others_do_not(client, urls, new_county):
    from tests.conftest import ALL_DEPARTMENTS

    busy, other = new_county(ALL_DEPARTMENTS), new_county(ALL_DEPARTMENTS)
    tenant = from_global_id(busy.id)[1]
    with psycopg.connect(urls.owner, autocommit=True) as holder:
        for slot in range(SLOTS):
            holder.execute("SELECT pg_advisory_lock(%s, %s)", slot_key(tenant, slot))
        refused = roster(client, busy)
        assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [(["file"], "TOO_BUSY")]
        assert "2 个批量任务" in refused["userErrors"][0]["message"]
        history = import_history(client, busy.tokens["medical"],
                                 csv_file([(new_id_number(), "", 2025, "已参保")], header=("证件号码", "姓名", "年度", "参保状态")))
        assert [e["code"] for e in history["userErrors"]] == ["TOO_BUSY"]
        response = download(client, busy.tokens["admin"], busy.code + "100201", "unpaid", year=2026)
        assert response.status_code == 429 and response.json()["errors"][0]["extensions"]["code"] == "TOO_BUSY"
        assert roster(client, other)["userErrors"] == []  # another county is not held up
        holder.execute("SELECT pg_advisory_unlock_all()")
    assert roster(client, busy)["userErrors"] == []


def test_one_job_at_a_time_per_user(client, urls, new_county):
    from tests.conftest import ALL_DEPARTMENTS

    county = new_county(ALL_DEPARTMENTS)
    tenant = from_global_id(county.id)[1]
    users = client.data("{ users(first: 50) { edges { node { id username } } } }", {}, county.tokens["admin"])
    medical = next(e["node"]["id"] for e in users["users"]["edges"] if e["node"]["username"] == "medical")
    subject = f"u:{from_global_id(medical)[1]}"
    with psycopg.connect(urls.owner, autocommit=True) as holder:
        key = holder.execute(user_key_sql().replace(":tenant", "%(tenant)s").replace(":user", "%(user)s"),
                             {"tenant": str(tenant), "user": subject}).fetchone()
        holder.execute("SELECT pg_advisory_lock(%s, %s)", key)
        refused = roster(client, county)
        assert [(e["code"], e["message"]) for e in refused["userErrors"]] == [
            ("TOO_BUSY", "您已有一个批量任务（上传、导入或下载名单）正在进行，请等它完成后再试。")
        ]
        # the county's other users are not held up
        assert download(client, county.tokens["admin"], county.code + "100201", "unpaid", year=2026).status_code == 200
        holder.execute("SELECT pg_advisory_unlock_all()")
    assert roster(client, county)["userErrors"] == []
