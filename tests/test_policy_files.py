"""Policy files through the CLI path, and the subsidy-list template."""
from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from api.policies import apply_policy, read_policy_file
from domain.files.sheets import SUBSIDY_LIST_ALIASES, map_headers, read_table
from domain.policy.files import PolicyFormatError
from tenants.problems import Rejected
from tests.subsidy_support import POLICIES

YEAR_POLICY = "query($year: Int!) { yearPolicy(year: $year) { year standard windowStart categories { code amount } } }"


def test_policy_apply_sets_the_year(client, new_county, settings, urls):
    county = new_county(["RURAL_REVITALIZATION"])
    policy = read_policy_file(POLICIES / "neixiang-2027.json")
    asyncio.run(apply_policy(urls, settings, county.code, policy, "cli"))
    read = client.data(YEAR_POLICY, {"year": 2027}, county.tokens["collector"])["yearPolicy"]
    assert (read["year"], read["standard"], read["windowStart"]) == (2027, "400.00", "2026-09-01")
    assert {c["code"]: c["amount"] for c in read["categories"]}["tekun"] == "400.00"


def test_policy_apply_refuses_what_the_county_lacks(new_county, settings, urls):
    county = new_county()  # no 乡村振兴局
    policy = read_policy_file(POLICIES / "neixiang-2023.json")
    with pytest.raises(Rejected) as rejected:
        asyncio.run(apply_policy(urls, settings, county.code, policy, "cli"))
    assert {p.code for p in rejected.value.problems} == {"UNKNOWN_DEPARTMENT"}


def test_malformed_policy_file_names_the_key(tmp_path):
    document = json.loads((POLICIES / "neixiang-2023.json").read_text(encoding="utf-8"))
    document["categories"][1]["rule"] = "HALF"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(PolicyFormatError) as error:
        read_policy_file(path)
    assert error.value.key == "categories[1].rule"


def test_subsidy_list_template(client):
    response = httpx.get(client.base_url + "/templates/subsidy-list.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    table = read_table(response.content, "subsidy-list.xlsx")
    assert set(map_headers(table.headers, SUBSIDY_LIST_ALIASES)) == {"name", "id_number", "unit", "recognized_on", "note"}
