"""/metrics through real HTTP: requests by root field and outcome, userErrors by code,
login failures, file rows, the pool; bounded labels; the token; several workers."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ALL_DEPARTMENTS, ROOT, TEST_DATABASE, _free_port, start_server
from tests.subsidy_support import campaign_day, csv_list, policy_input, register_person, set_policy, upload
from tests.support import LOGIN, REGISTER, new_id_number

# Every label a zhengjiao_ metric may carry: none can hold a person or a free text.
ALLOWED_LABELS = {"type", "operation", "outcome", "tenant", "code", "reason", "subject", "result", "state", "le"}


def scrape(http: httpx.Client, token: str | None = None) -> dict[tuple[str, tuple], float]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_by_root_field_and_outcome(client, county_a):
    before = scrape(client.http)
    client.data("{ viewer { username } }", token=county_a.tokens["collector"])
    valid = new_id_number()
    wrong_check = valid[:17] + ("1" if valid[17] != "1" else "2")
    bad_number = {"input": {"idNumber": wrong_check, "name": "张三", "unit": county_a.units["100201"]}}
    refused = client.data(REGISTER, bad_number, county_a.tokens["collector"])["registerPerson"]["userErrors"]
    assert refused and refused[0]["code"] == "INVALID_ID_CHECKSUM"
    client.gql("{ persons(first: 1) { totalCount } }")  # no token: UNAUTHENTICATED
    client.gql("{ nosuchfield }")
    assert client.http.post("/graphql", content=b"[1]", headers={"content-type": "application/json"}).status_code == 400
    after = scrape(client.http)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    total = "zhengjiao_graphql_requests_total"
    assert delta(total, type="query", operation="viewer", outcome="ok") == 1
    assert delta(total, type="mutation", operation="registerPerson", outcome="refused") == 1
    assert delta(total, type="query", operation="persons", outcome="error") == 1
    assert delta(total, type="-", operation="(invalid)", outcome="error") == 2
    assert delta("zhengjiao_user_errors_total", operation="registerPerson", code="INVALID_ID_CHECKSUM") == 1
    assert delta("zhengjiao_graphql_request_seconds_count", operation="viewer", outcome="ok") == 1
    assert delta("zhengjiao_graphql_request_seconds_sum", operation="viewer", outcome="ok") > 0
    # two signed-in requests of the county: the viewer and the refused registration
    assert delta("zhengjiao_tenant_requests_total", tenant=county_a.code) == 2
    assert delta("zhengjiao_tenant_request_seconds_total", tenant=county_a.code) > 0
    assert delta("zhengjiao_db_statement_seconds_count") > 0


def test_login_failures_by_county_never_by_user(client, county_a):
    before = scrape(client.http)
    for tenant, username in ((county_a.code, "collector"), ("999999", "nobody"), (None, "operator")):
        payload = client.data(LOGIN, {"input": {"tenantCode": tenant, "username": username, "password": "wrong-Passw0rd"}})
        assert payload["login"]["userErrors"][0]["code"] == "INVALID_CREDENTIALS"
    after = scrape(client.http)
    failures = "zhengjiao_login_failures_total"
    for county in (county_a.code, "(unknown)", "(platform)"):
        labels = {"tenant": county, "reason": "invalid"}
        assert value(after, failures, **labels) - value(before, failures, **labels) == 1, county
    assert value(after, "zhengjiao_user_errors_total", operation="login", code="INVALID_CREDENTIALS") >= 3
    assert not any("999999" in str(labels) for _, labels in after), "a typed county code became a label"


def test_upload_rows_and_seconds(client, new_county, clock):
    county = new_county(ALL_DEPARTMENTS)
    policy = policy_input("neixiang-2023.json")
    clock.travel_to(campaign_day(policy))
    set_policy(client, county.tokens["medical"], policy)
    people = [(register_person(client, county, date(1970, 1, 1), f"人{i}"), f"人{i}") for i in range(2)]
    rows = [(name, number, "张庄村", "2022-11-01", None) for number, name in people]
    valid = new_id_number(born=date(1970, 1, 1))
    rows.append(("错号", valid[:17] + ("1" if valid[17] != "1" else "2"), "张庄村", "2022-11-01", None))
    before = scrape(client.http)
    result = upload(client, county.tokens["civil_affairs"], 2023, "dibao", csv_list(rows))
    assert result["batch"]["rowsAccepted"] == 2 and result["batch"]["rowsRejected"] == 1
    after = scrape(client.http)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    rows_total = "zhengjiao_file_rows_total"
    assert delta(rows_total, operation="uploadSubsidyList", tenant=county.code, result="accepted") == 2
    assert delta(rows_total, operation="uploadSubsidyList", tenant=county.code, result="rejected") == 1
    assert delta("zhengjiao_files_total", operation="uploadSubsidyList", outcome="ok") == 1
    assert delta("zhengjiao_file_seconds_count", operation="uploadSubsidyList") == 1


def test_pool_and_labels_stay_bounded(client, county_a):
    number = new_id_number()
    payload = client.data(REGISTER, {"input": {"idNumber": number, "name": "李四", "unit": county_a.units["100201"]}},
                          county_a.tokens["collector"])
    assert payload["registerPerson"]["userErrors"] == []
    samples = scrape(client.http)
    size = value(samples, "zhengjiao_db_pool_connections", state="size")
    assert size >= 1
    assert value(samples, "zhengjiao_db_pool_connections", state="in_use") + value(
        samples, "zhengjiao_db_pool_connections", state="idle") == size
    for name, labels in samples:
        if name.startswith("zhengjiao_"):
            assert {key for key, _ in labels} <= ALLOWED_LABELS, (name, labels)
            text = str(labels)
            assert number not in text and number[:6] + "********" not in text
            assert "collector" not in text and "u:" not in text, (name, labels)


def _served_per_process(directory) -> dict[str, float]:
    """zhengjiao_graphql_requests_total of `{ __typename }`, per worker file."""
    from prometheus_client.mmap_dict import MmapedDict

    served = {}
    for path in directory.glob("counter_*.db"):
        served[path.stem] = sum(
            value for key, value, *_ in MmapedDict.read_all_values_from_file(str(path))
            if json.loads(key)[0] == "zhengjiao_graphql_requests" and json.loads(key)[2].get("operation") == "__typename"
        )
    return served


@pytest.fixture(scope="module")
def production_servers(settings, urls):
    """Two production servers on the test database: one with a metrics token, one without."""
    started = [start_server(replace(settings, env="production", metrics_token=token), urls) for token in ("s3cret-token", None)]
    yield [url for _, _, url in started]
    for server, thread, _ in started:
        server.should_exit = True
        thread.join(timeout=15)


def test_production_metrics_need_the_token_or_are_off(production_servers):
    with_token, without = production_servers
    with httpx.Client(base_url=with_token) as http:
        assert http.get("/metrics").status_code == 401
        assert http.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
        assert http.get("/metrics", headers={"authorization": "s3cret-token"}).status_code == 401
        assert "zhengjiao_graphql_requests_total" in http.get(
            "/metrics", headers={"authorization": "Bearer s3cret-token"}).text
    with httpx.Client(base_url=without) as http:
        assert http.get("/metrics").status_code == 404
        assert http.get("/metrics", headers={"authorization": "Bearer anything"}).status_code == 404


def test_several_workers_add_up(settings, tmp_path):
    """`serve --workers 2`: whichever worker answers the scrape, it counts every
    worker's requests."""
    if settings.database_url:
        pytest.skip("serves the embedded test database")
    port = _free_port()
    env = {**os.environ, "ZHENGJIAO_DATA_DIR": str(settings.data_dir), "ZHENGJIAO_DATABASE": TEST_DATABASE,
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}
    command = [sys.executable, "-m", "api.cli", "serve", "--no-migrate", "--workers", "2", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.time() < deadline and process.poll() is None, "workers did not come up"
            time.sleep(0.3)
        requests = 0

        def one(_):
            # a new connection each: the workers compete to accept it
            return httpx.post(url + "/graphql", json={"query": "{ __typename }"}, timeout=20).status_code

        # until both workers took some (the second may still be starting when the first
        # answers /readyz)
        while True:
            with ThreadPoolExecutor(8) as pool:
                assert set(pool.map(one, range(40))) == {200}
            requests += 40
            served = _served_per_process(tmp_path / "prom")
            if len([n for n in served.values() if n]) == 2 or time.time() > deadline:
                break
        assert sum(served.values()) == requests
        assert len([n for n in served.values() if n]) == 2, served  # both workers took some
        for _ in range(6):
            with httpx.Client(base_url=url) as http:
                samples = scrape(http)
            assert value(samples, "zhengjiao_graphql_requests_total", type="query", operation="__typename", outcome="ok") == requests
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
