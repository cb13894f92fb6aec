"""Quota tables, target roll-up and ranking as pure functions."""
from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import pytest

from domain.progress.files import (
    QuotaFormatError,
    quota_table_from_dict,
    read_quota_file,
)
from domain.progress.rules import (
    Counts,
    Point,
    QuotaEntry,
    check_entries,
    competition_ranks,
    rolled_targets,
    weekly,
)

QUOTAS = Path(__file__).resolve().parent.parent / "examples" / "quotas"


def test_baigongshan_2022_table_totals_70000():
    table = read_quota_file(QUOTAS / "baigongshan-2022.json")
    targets = {e.name: e.target for e in table.entries}
    assert (table.year, table.total, table.sum, len(targets)) == (2022, 70_000, 70_000, 7)
    assert targets == {
        "山王镇": 22688, "八公山镇": 8776, "新庄孜街道": 17678, "土坝孜街道": 10100, "毕家岗街道": 6641,
        "区残联": 1400, "区教体局": 2717,
    }


def test_neixiang_2023_table_totals_604120_on_the_demo_codes():
    from api.demo import TENANT_CODE, TOWNSHIPS

    table = read_quota_file(QUOTAS / "neixiang-2023.json")
    assert (table.year, table.total, table.sum, len(table.entries)) == (2023, 604_120, 604_120, 16)
    demo = {TENANT_CODE + suffix: (name, quota) for suffix, name, _, quota in TOWNSHIPS}
    assert {e.code: (e.name, e.target) for e in table.entries} == demo
    assert dict((e.name, e.target) for e in table.entries)["岞曲镇"] == 27330


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"total": 70_001}, "total"),
        ({"year": "2022"}, "year"),
        ({"quotas": []}, "quotas"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_quota_files_name_the_key(change, key):
    document = json.loads((QUOTAS / "baigongshan-2022.json").read_text(encoding="utf-8"))
    document.update(change)
    with pytest.raises(QuotaFormatError) as caught:
        quota_table_from_dict(document)
    assert caught.value.key == key


def test_bad_quota_entries_name_the_entry():
    document = json.loads((QUOTAS / "baigongshan-2022.json").read_text(encoding="utf-8"))
    document["quotas"][2]["target"] = -5
    document["total"] = None
    with pytest.raises(QuotaFormatError) as caught:
        quota_table_from_dict(document)
    assert caught.value.key == "quotas[2].target"
    document["quotas"][2]["target"] = 5
    document["quotas"][3]["unit"] = document["quotas"][0]["unit"]
    with pytest.raises(QuotaFormatError) as caught:
        quota_table_from_dict(document)
    assert caught.value.key == "quotas"


def test_request_problems_are_all_reported():
    problems = check_entries(1999, [QuotaEntry(None, 5), QuotaEntry(7, -1), QuotaEntry(7, 3)], replace=False)
    assert [(p.code, p.field) for p in problems] == [
        ("INVALID_YEAR", ["year"]),
        ("NOT_FOUND", ["quotas", "0", "unit"]),
        ("INVALID_TARGET", ["quotas", "1", "target"]),
        ("DUPLICATE_UNIT", ["quotas", "2", "unit"]),
    ]
    assert [p.code for p in check_entries(2023, [], replace=False)] == ["EMPTY"]
    assert check_entries(2023, [], replace=True) == []


def test_targets_roll_up_from_the_topmost_quotas():
    quotas = {"/1/": 100, "/1/11/": 30, "/2/21/": 40, "/2/22/": 50, "/2/23/231/": 5, "/3/": 0}
    paths = ["/", "/1/", "/1/12/", "/2/", "/2/23/", "/3/", "/4/"]
    assert rolled_targets(quotas, paths) == {
        "/": 100 + 40 + 50 + 5 + 0,  # the township's own 100 wins over its village's 30
        "/1/": 100,
        "/1/12/": 0,
        "/2/": 95,
        "/2/23/": 5,
        "/3/": 0,
        "/4/": 0,
    }


def test_paths_never_match_a_longer_id():
    assert rolled_targets({"/12/": 7, "/1/": 3}, ["/1/", "/12/"]) == {"/1/": 3, "/12/": 7}


def _rolled_literally(quotas: dict[str, int], paths: list[str]) -> dict[str, int]:
    """The rule as written: a unit's own quota, else the sum of the quotas inside its
    subtree that have no other quota above them inside it."""
    result = {}
    for path in paths:
        inside = [q for q in quotas if q.startswith(path)]
        topmost = [q for q in inside if not any(q != a and q.startswith(a) for a in inside)]
        result[path] = quotas[path] if path in quotas else sum(quotas[q] for q in topmost)
    return result


def test_rolled_targets_equal_the_literal_rule_on_random_trees():
    rng = random.Random(20261202)
    for _ in range(2_000):
        nodes = ["/"]
        for _ in range(rng.randint(1, 25)):
            nodes.append(f"{rng.choice(nodes)}{rng.randint(1, 130)}/")  # ids sharing prefixes: 1, 12, 120
        nodes = list(dict.fromkeys(nodes))
        quotas = {n: rng.randint(0, 50) for n in rng.sample(nodes, rng.randint(0, len(nodes)))}
        assert rolled_targets(quotas, nodes) == _rolled_literally(quotas, nodes), (quotas, nodes)


def test_equal_rates_share_a_rank_and_keep_code_order():
    ranks = competition_ranks([
        ("B", 100, 50),   # 50%
        ("A", 200, 100),  # 50%
        ("C", 100, 60),   # 60%
        ("E", 0, 10),     # no quota: after every unit with one
        ("D", 3, 1),      # 33.3%
        ("F", 6, 2),      # 33.3%, the same rate exactly
    ])
    assert ranks == {"C": 1, "A": 2, "B": 2, "D": 4, "F": 4, "E": 6}
    again = competition_ranks([("F", 6, 2), ("E", 0, 10), ("D", 3, 1), ("C", 100, 60), ("B", 100, 50), ("A", 200, 100)])
    assert again == ranks


def test_weekly_keeps_the_last_snapshot_of_each_week():
    days = [date(2026, 11, d) for d in (2, 3, 8, 9, 10, 16)]  # Mon, Tue, Sun | Mon, Tue | Mon
    points = [Point(d, 10, Counts(paid=i), i, 3) for i, d in enumerate(days)]
    assert [p.day for p in weekly(points)] == [date(2026, 11, 8), date(2026, 11, 10), date(2026, 11, 16)]
