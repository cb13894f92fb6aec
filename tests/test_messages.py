"""The message catalogue: every code worded in Chinese and English with the same
parameters, no sentence built in code, the language chosen per request."""
from __future__ import annotations

import ast
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from api import console
from tenants.messages import LOCALES, catalogue, configured_locale, negotiate, parameters, raw_params, text
from tenants.problems import ErrorCode
from tests.conftest import start_server
from tests.support import REGISTER, GraphQLClient

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for d in ("api", "authz", "domain", "schema", "tenants") for p in (ROOT / d).rglob("*.py")]


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_code_has_chinese_and_english_with_the_same_parameters(code):
    chinese, english = catalogue("zh_CN").get(code.value), catalogue("en").get(code.value)
    assert chinese and english, code
    assert parameters(chinese) == parameters(english), code
    assert any("\u4e00" <= c <= "\u9fff" for c in chinese), chinese


def test_every_entry_exists_in_both_languages_with_the_same_parameters():
    zh, en = catalogue("zh_CN"), catalogue("en")
    assert set(zh) == set(en)
    differing = {key: (zh[key], en[key]) for key in zh if parameters(zh[key]) != parameters(en[key])}
    assert differing == {}


def test_every_variant_belongs_to_a_code_and_every_term_to_a_closed_list():
    codes = {c.value for c in ErrorCode}
    for key in catalogue("zh_CN"):
        head = key.split(".")[0]
        assert head in codes or head in {"term", "cli", "report", "sheet"}, key


_MESSAGE_MAKERS = {"Problem", "RowProblem", "PublicError", "Rejected", "UserError", "RowError", "GraphQLError"}


def _literal_sentences(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants handed to an error's constructor that are not a variant name
    (values computed by other calls, `Decimal("0.00")`, are not looked into)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name in _MESSAGE_MAKERS:
            for argument in [*node.args, *(k.value for k in node.keywords)]:
                found.extend((node.lineno, value) for value in _sentences(argument))
    return found


def _sentences(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [] if node.value.replace("_", "").isalnum() and node.value.isascii() else [node.value]
    if isinstance(node, ast.JoinedStr):
        return [ast.unparse(node)]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [s for item in node.elts for s in _sentences(item)]
    if isinstance(node, ast.Dict):
        return [s for item in node.values for s in _sentences(item)]
    return []


def test_no_message_is_written_in_code():
    sentences = {
        f"{path.relative_to(ROOT)}:{line}": value
        for path in SOURCES
        for line, value in _literal_sentences(ast.parse(path.read_text(encoding="utf-8")))
    }
    assert sentences == {}


def test_no_problem_carries_a_message_attribute():
    offenders = [str(p.relative_to(ROOT)) for p in SOURCES if ".message}" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_negotiation():
    assert negotiate(None) == "zh_CN"
    assert negotiate("en-US,en;q=0.9") == "en"
    assert negotiate("fr-FR, en;q=0.5") == "en"
    assert negotiate("zh-CN,zh;q=0.9,en;q=0.8") == "zh_CN"
    assert negotiate("fr") == "zh_CN" and negotiate("fr", "en") == "en"
    assert negotiate("en;q=0, zh;q=0.1") == "zh_CN"
    assert (configured_locale(None), configured_locale("en"), configured_locale("zh-CN")) == ("zh_CN", "en", "zh_CN")
    assert set(LOCALES) == {"zh_CN", "en"}


def test_values_are_worded_in_the_readers_language():
    from domain.payments.rules import PaymentChannel

    amounts = {"expected": Decimal("400"), "amount": Decimal("350.5")}
    assert text("AMOUNT_MISMATCH", "zh_CN", amounts) == "应缴金额为 400.00 元，不是 350.50 元。"
    assert text("AMOUNT_MISMATCH", "en", amounts) == "The amount due is 400.00, not 350.50."
    assert text("term.PaymentChannel.WECHAT", "zh_CN") == "微信"
    channels = {"channels": [PaymentChannel.WECHAT, PaymentChannel.POS]}
    assert raw_params(channels) == [("channels", "WECHAT,POS")]


BAD_CHECK = {"input": {"idNumber": "360426199101010072", "name": "张三"}}


def _register_bad(client: GraphQLClient, county, headers: dict[str, str]) -> dict:
    variables = {"input": {**BAD_CHECK["input"], "unit": county.units["100201"]}}
    response = client.http.post(
        "/graphql", json={"query": REGISTER, "variables": variables},
        headers={"Authorization": f"Bearer {county.tokens['collector']}", **headers},
    )
    [error] = response.json()["data"]["registerPerson"]["userErrors"]
    return error


def test_accept_language_chooses_the_words_not_the_code(client, county_a):
    chinese = _register_bad(client, county_a, {})
    english = _register_bad(client, county_a, {"Accept-Language": "en-US,en;q=0.9"})
    assert chinese["code"] == english["code"] == "INVALID_ID_CHECKSUM"
    assert chinese["message"] == "身份证号码校验位不正确。"
    assert english["message"] == "The ID number's check character does not match."


def test_query_errors_and_params_are_localized_too(client, county_a):
    deep = "{ units { edges { node { " + "children { edges { node { " * 6 + "code" + " } } }" * 6 + " } } } }"
    token = {"Authorization": f"Bearer {county_a.tokens['admin']}"}
    zh = client.http.post("/graphql", json={"query": deep}, headers=token).json()["errors"][0]
    en = client.http.post("/graphql", json={"query": deep}, headers={**token, "Accept-Language": "en"}).json()["errors"][0]
    assert zh["extensions"] == en["extensions"]
    assert zh["extensions"]["code"] == "QUERY_TOO_DEEP" and zh["extensions"]["params"]["limit"] == "10"
    assert "层" in zh["message"] and "nested" in en["message"]


@pytest.fixture(scope="module")
def english_server(settings, urls):
    server, thread, url = start_server(replace(settings, locale="en"), urls)
    yield GraphQLClient(url)
    server.should_exit = True
    thread.join(timeout=10)


def test_zhengjiao_locale_sets_the_default(english_server, county_a):
    assert _register_bad(english_server, county_a, {})["message"] == "The ID number's check character does not match."
    chinese = _register_bad(english_server, county_a, {"Accept-Language": "zh-CN"})
    assert chinese["message"] == "身份证号码校验位不正确。"


def test_user_errors_carry_params_for_front_ends(client, county_a):
    body = client.data(
        "mutation($i: RegisterPersonInput!) { registerPerson(input: $i) { userErrors { code params { name value } } } }",
        {"i": {"idNumber": "36042619910101007", "name": "短号", "unit": county_a.units["100201"]}},
        county_a.tokens["collector"],
    )
    [error] = body["registerPerson"]["userErrors"]
    assert error["code"].startswith("INVALID_ID")
    assert all(set(p) == {"name", "value"} for p in error["params"])


def test_error_code_enum_lists_every_code_with_a_description(client, county_a):
    query = '{ __type(name: "ErrorCode") { enumValues { name description } } }'
    values = client.data(query, token=county_a.tokens["admin"])["__type"]["enumValues"]
    assert {v["name"] for v in values} == {c.value for c in ErrorCode}
    assert all(v["description"] for v in values)
    schema = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert "enum ErrorCode {" in schema and "code: ErrorCode!" in schema


def test_command_line_speaks_chinese_and_english(capsys, monkeypatch):
    monkeypatch.delenv("ZHENGJIAO_LOCALE", raising=False)
    console.complain("cli.unknown_tenant", code="999999")
    console.say("cli.migrated")
    captured = capsys.readouterr()
    assert captured.err == "错误：没有编码为 999999 的县。\n" and captured.out == "数据库已升级到最新版本。\n"
    monkeypatch.setenv("ZHENGJIAO_LOCALE", "en")
    console.complain("cli.unknown_tenant", code="999999")
    assert capsys.readouterr().err == "error: no county 999999 on this platform.\n"


def test_every_reason_a_case_is_not_reopened_is_worded():
    from domain.matching.rules import ReopenRefusal

    for refusal in ReopenRefusal:
        if refusal is ReopenRefusal.NOT_FOUND:  # worded as NOT_FOUND.DUPLICATE_CASE
            continue
        for locale in ("zh_CN", "en"):
            assert catalogue(locale).get(f"CASE_NOT_REOPENABLE.{refusal}"), (locale, refusal)
