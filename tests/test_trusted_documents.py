"""Trusted documents (persisted operations): a server that serves only the manifest's
documents, by hash or by their text; anything else refused before it is parsed."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from api.cli import main as cli
from api.trusted_documents import document_hash
from tests.conftest import start_server
from tests.support import LOGIN, PASSWORD, PERSONS, GraphQLClient

COUNT = "query Count { persons(first: 1) { totalCount } }"


@pytest.fixture(scope="module")
def trusted_server(settings, urls, tmp_path_factory):
    folder = tmp_path_factory.mktemp("trusted")
    files = []
    for name, document in (("login.graphql", LOGIN), ("persons.graphql", PERSONS)):
        (folder / name).write_text(document, encoding="utf-8")
        files.append(str(folder / name))
    manifest = folder / "manifest.json"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli(["trusted-documents", *files]) == 0
    manifest.write_text(out.getvalue(), encoding="utf-8")
    server, thread, url = start_server(replace(settings, trusted_documents=manifest, trusted_only=True), urls)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def by_hash(client: GraphQLClient, document: str, variables: dict, token: str | None = None):
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(document)}}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.http.post("/graphql", json={"variables": variables, "extensions": extensions}, headers=headers)


def test_known_documents_are_served_by_hash_or_by_text(trusted_server, county_a):
    client = GraphQLClient(trusted_server)
    login = by_hash(client, LOGIN, {"input": {"tenantCode": county_a.code, "username": "admin", "password": PASSWORD}})
    assert login.status_code == 200
    token = login.json()["data"]["login"]["token"]
    assert token
    page = by_hash(client, PERSONS, {"first": 1}, token)
    assert page.status_code == 200 and "totalCount" in page.json()["data"]["persons"]
    assert client.data(PERSONS, {"first": 1}, token)["persons"]["totalCount"] >= 0  # the same text, sent whole


def test_anything_else_is_refused_before_it_is_parsed(trusted_server, county_a):
    client = GraphQLClient(trusted_server)
    token = client.login(county_a.code, "admin", PASSWORD)
    refused = client.post(COUNT, {}, token)
    assert refused.status_code == 400
    [error] = refused.json()["errors"]
    assert error["extensions"]["code"] == "UNTRUSTED_DOCUMENT" and "已登记" in error["message"]
    # an unparseable, huge document costs nothing: it is never parsed
    assert client.post("{" * 5000, {}, token).json()["errors"][0]["extensions"]["code"] == "UNTRUSTED_DOCUMENT"
    unknown = by_hash(client, COUNT, {}, token)
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["extensions"]["code"] == "UNKNOWN_DOCUMENT"


def test_the_manifest_is_checked_when_loaded(tmp_path):
    from api.trusted_documents import TrustedDocuments

    bad = tmp_path / "manifest.json"
    bad.write_text(json.dumps({"0" * 64: COUNT}), encoding="utf-8")
    with pytest.raises(RuntimeError):
        TrustedDocuments.load(bad, only=True)
