"""JSON logs: every line of a request carries its id (the caller's X-Request-Id kept),
county, user and operation; the request's own line its duration; nothing of a person."""
from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from api.logs import incoming_request_id, make_handler
from tests.conftest import ROOT, TEST_DATABASE, _free_port
from tests.support import REGISTER, new_id_number


def wrong_check(number: str) -> str:
    return number[:17] + ("1" if number[17] != "1" else "2")


@pytest.fixture
def json_server(settings):
    """`zhengjiao serve` with ZHENGJIAO_LOG_FORMAT=json on the test database; yields its
    URL and a function that stops it and returns its log lines."""
    if settings.database_url:
        pytest.skip("serves the embedded test database")
    port = _free_port()
    env = {**os.environ, "ZHENGJIAO_DATA_DIR": str(settings.data_dir), "ZHENGJIAO_DATABASE": TEST_DATABASE,
           "ZHENGJIAO_LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "api.cli", "serve", "--no-migrate", "--port", str(port)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            if httpx.get(url + "/livez", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            assert time.time() < deadline and process.poll() is None, "serve did not start"
            time.sleep(0.2)

    def stop() -> list[str]:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        return err.decode().splitlines()

    yield url, stop
    if process.poll() is None:
        process.kill()
        process.wait()


def test_a_requests_lines_carry_its_id_county_user_and_operation(json_server, county_a):
    url, stop = json_server
    number = wrong_check(new_id_number())
    variables = {"input": {"idNumber": number, "name": "张三", "unit": county_a.units["100201"]}}
    headers = {"authorization": f"Bearer {county_a.tokens['collector']}", "x-request-id": "trace-abc-123"}
    response = httpx.post(url + "/graphql", json={"query": REGISTER, "variables": variables}, headers=headers)
    assert response.json()["data"]["registerPerson"]["userErrors"][0]["code"] == "INVALID_ID_CHECKSUM"
    assert response.headers["x-request-id"] == "trace-abc-123"
    # An id shaped like an ID number (or too long, or with spaces) is replaced, not kept.
    for unsafe in (new_id_number(), "x" * 65, "a b"):
        replaced = httpx.post(url + "/graphql", json={"query": "{ __typename }"}, headers={"x-request-id": unsafe})
        assert replaced.headers["x-request-id"] != unsafe
    lines = stop()

    records = [json.loads(line) for line in lines]  # every line is one JSON object
    mine = [r for r in records if r.get("request_id") == "trace-abc-123"]
    assert {r["logger"] for r in mine} == {"zhengjiao.mutations", "zhengjiao.access"}, mine
    user = next(r["user"] for r in mine)
    assert user.startswith("u:")
    for line in mine:
        assert line["tenant"] == county_a.code and line["user"] == user and line["operation"] == "registerPerson"
        assert line["time"] and line["level"] == "INFO"
    (access,) = [r for r in mine if r["logger"] == "zhengjiao.access"]
    assert access["method"] == "POST" and access["path"] == "/graphql" and access["status"] == 200
    assert access["outcome"] == "refused" and access["duration_ms"] > 0
    typename = [r for r in records if r["logger"] == "zhengjiao.access" and r.get("operation") == "__typename"]
    assert len(typename) == 3 and all(len(r["request_id"]) == 12 for r in typename)
    assert all("tenant" not in r for r in typename)  # anonymous: no county, no user
    assert number not in "\n".join(lines)


def test_json_lines_are_redacted_field_by_field():
    stream = io.StringIO()
    logger = logging.getLogger("zhengjiao.test_logs")
    logger.handlers[:] = [make_handler("json", stream)]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    number = new_id_number()
    try:
        logger.info("person %s not found; password=hunter2", number)
        logger.info("upload", extra={"idNumber": number, "password": "hunter2", "rows": [number], "file": {"first": number}})
        try:
            raise ValueError(f"duplicate key (id_number)=({number})")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.handlers[:] = []
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 3
    text = stream.getvalue()
    assert number not in text and "hunter2" not in text
    masked = number[:6] + "********"
    assert lines[0]["message"] == f'person {masked} not found; password="***"'
    assert lines[1]["idNumber"] == masked and lines[1]["password"] == "***"
    assert lines[1]["rows"] == [masked] and lines[1]["file"] == {"first": masked}
    assert masked in lines[2]["exc_info"] and "ValueError" in lines[2]["exc_info"]
    assert "request_id" not in lines[0]  # outside a request


def test_old_fifteen_digit_numbers_are_redacted_too():
    from api.logs import redact

    assert redact("old 411325850101123 new 41132519850101123X") == "old 411325******** new 411325********"
    # an amount in fen, a phone number, a 16-digit bank reference: not ID numbers
    assert redact("35000 13800138000 4113258501011234") == "35000 13800138000 4113258501011234"


def test_incoming_request_ids():
    assert incoming_request_id("4bf92f3577b34da6a3ce929d0e0e4736") == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert incoming_request_id("req_01:ab.cd-ef") == "req_01:ab.cd-ef"
    for unsafe in (None, "", "a b", "x" * 65, "id\n2", "{json}", new_id_number(), "411325" + "1" * 9):
        assert incoming_request_id(unsafe) is None, unsafe
