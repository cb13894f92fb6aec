"""An import racing recordPayment for the same persons: never two ACCEPTED payments."""
from __future__ import annotations

import json
import threading
from datetime import date

import httpx

from tests.payment_import_support import IMPORT, csv_file, payments_of
from tests.payment_support import (
    RECORD,
    campaign,
    new_person,
    shanghai,
    tally_matches_recount,
)
from tests.subsidy_support import enrollment

PERSONS = 30


def test_import_and_record_payment_race_for_the_same_persons(client, new_county, clock, server_url, owner_db):
    county, _ = campaign(client, new_county, clock, today=date(2026, 11, 23))
    persons = [new_person(client, county, name=f"竞{n}") for n in range(PERSONS)]
    data = csv_file([(p, "", "400.00", "微信", "2026-11-05 10:00", f"RACE-{n}") for n, p in enumerate(persons)])
    results: dict[str, object] = {}
    barrier = threading.Barrier(3)

    def importer() -> None:
        with httpx.Client(base_url=server_url, timeout=120) as http:
            barrier.wait()
            form = {"operations": json.dumps({"query": IMPORT, "variables": {"input": {"year": 2027, "file": None}}}),
                    "map": json.dumps({"0": ["variables.input.file"]})}
            response = http.post("/graphql", data=form, files={"0": ("race.csv", data, "text/csv")},
                                 headers={"Authorization": f"Bearer {county.tokens['tax']}"})
        results["import"] = response.json()["data"]["importPayments"]

    def collector(name: str, token: str, order: list[str]) -> None:
        outcomes = []
        with httpx.Client(base_url=server_url, timeout=120) as http:
            barrier.wait()
            for n, person in enumerate(order):
                variables = {"input": {"idNumber": person, "year": 2027, "amount": "400.00", "channel": "CASH_AGENT",
                                       "paidAt": shanghai(date(2026, 11, 4)).isoformat(), "receiptNo": f"{name}-{n}"}}
                response = http.post("/graphql", json={"query": RECORD, "variables": variables},
                                     headers={"Authorization": f"Bearer {token}"})
                outcomes.append(response.json()["data"]["recordPayment"])
        results[name] = outcomes

    threads = [
        threading.Thread(target=importer),
        threading.Thread(target=collector, args=("C1", county.tokens["collector"], persons)),
        threading.Thread(target=collector, args=("C2", county.tokens["township"], list(reversed(persons)))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    imported = results["import"]
    assert imported["userErrors"] == [] and imported["rowErrors"] == []
    assert imported["accepted"] + imported["duplicates"] == PERSONS
    assert all(r["userErrors"] == [] for name in ("C1", "C2") for r in results[name])
    tax = county.tokens["tax"]
    for person in persons:
        statuses = sorted(p["status"] for p in payments_of(client, tax, person))
        assert statuses == ["ACCEPTED", "DUPLICATE", "DUPLICATE"], (person, statuses)
        assert enrollment(client, county.tokens["admin"], person, 2027)["paidAmount"] == "400.00"
    tallies, recount = tally_matches_recount(owner_db, county.id)
    assert tallies == recount
