"""A county's batch jobs share a few slots (tenants/batch_slots.py): with its slots taken,
its uploads, imports and downloads are refused at once, and another county's run."""
from __future__ import annotations

import psycopg

from schema.relay import from_global_id
from tenants.batch_slots import slot_key
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
