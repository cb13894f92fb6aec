"""One source for every closed list of names: its StrEnum. The database's CHECK
constraints, the GraphQL enums and the names SQL statements use must all agree with it."""
from __future__ import annotations

import ast
import re
from enum import StrEnum
from pathlib import Path

import psycopg
import pytest
from graphql import GraphQLEnumType

from domain.payments.rules import RecorderKind
from migrations.metadata import enum_checks
from schema.build import build_schema

ROOT = Path(__file__).resolve().parent.parent


def _definitions(owner_url: str) -> dict[tuple[str, str], str]:
    with psycopg.connect(owner_url) as conn:
        rows = conn.execute(
            """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
                 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                WHERE c.contype = 'c' AND n.nspname = 'public'"""
        ).fetchall()
    return {(table, name): definition for table, name, definition in rows}


def _normalised(owner_url: str, column: str, sql: str) -> str:
    """How PostgreSQL writes a CHECK expression back (IN becomes = ANY (ARRAY[…]))."""
    with psycopg.connect(owner_url) as conn:
        conn.execute(f"CREATE TEMP TABLE probe ({column} text, department_id bigint)")
        conn.execute(f"ALTER TABLE probe ADD CONSTRAINT probe_check CHECK ({sql})")
        definition = conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'probe_check'"
        ).fetchone()[0]
        conn.rollback()
    return definition


def test_every_enum_check_in_the_database_is_its_enum(urls):
    found = _definitions(urls.owner)
    checks = enum_checks()
    assert len(checks) >= 15
    for table, constraint in checks:
        column = constraint.info["column"]
        expected = _normalised(urls.owner, column, str(constraint.sqltext))
        assert found.get((table, constraint.name)) == expected, (table, constraint.name)


def test_every_list_check_in_the_database_comes_from_an_enum(urls):
    """A CHECK that lists names (= ANY (ARRAY[…])) must be one written from an enum."""
    marked = {(table, c.name) for table, c in enum_checks()}
    listed = {key for key, definition in _definitions(urls.owner).items() if "= ANY (ARRAY[" in definition}
    assert listed <= marked, sorted(listed - marked)


def _enums() -> dict[str, type[StrEnum]]:
    found: dict[str, type[StrEnum]] = {}
    for _table, constraint in enum_checks():
        found[constraint.info["enum"].__name__] = constraint.info["enum"]
    return found


@pytest.mark.parametrize(
    ("graphql_name", "enum_name"),
    [
        ("UnitKind", "UnitKind"), ("DepartmentCode", "DepartmentCode"), ("Role", "Role"),
        ("SubsidyRule", "SubsidyRule"), ("SubsidyMode", "SubsidyMode"), ("LateRule", "LateRule"),
        ("EnrollmentStatus", "EnrollmentStatus"), ("PaymentChannel", "PaymentChannel"),
        ("PaymentStatus", "PaymentStatus"), ("PaymentTiming", "Timing"), ("RefundReason", "RefundReason"),
        ("RecorderKind", "RecorderKind"),
        ("NewbornLateRule", "NewbornLateRule"), ("ExemptionBasis", "ExemptionBasis"),
        ("RefundPayback", "RefundPayback"),
    ],
)
def test_graphql_enums_are_the_enums(graphql_name, enum_name):
    schema = build_schema()._schema
    graphql_enum = schema.get_type(graphql_name)
    assert isinstance(graphql_enum, GraphQLEnumType)
    # RecorderKind has no column of its own (it lives in year_policy.channel_rules, JSON)
    enums = {**_enums(), "RecorderKind": RecorderKind}
    assert set(graphql_enum.values) == {member.value for member in enums[enum_name]}


_SQL_NAME = re.compile(r"'([A-Z][A-Z_]{2,})'")
# Row codes the set-wise file checks write in SQL (until error codes become an enum).
_ROW_CODES = {
    "CONFLICT_IN_FILE", "NAME_MISMATCH", "ALREADY_IMPORTED", "AMOUNT_MISMATCH", "EXTERNAL_ID_CONFLICT",
    "EXTERNAL_ID_REUSED_IN_FILE", "NOTHING_DUE", "NO_ENROLLMENT", "PERSON_NOT_FOUND", "RECEIPT_NO_USED", "REPEATED",
    "SAME_AS_BAD_ROW", "RECOGNIZED_AFTER_CUTOFF", "CHANNEL_CLOSED", "NEWBORN_EXEMPT", "EVENT_BEFORE_BIRTH",
}


def _sql_texts(path: Path) -> list[tuple[int, str]]:
    """String constants that read like SQL in a module."""
    texts = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if re.search(r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|CASE)\b", text):
                texts.append((node.lineno, text))
    return texts


def test_names_written_in_sql_belong_to_an_enum():
    """`'PAID'` in a statement is a value of some enum, so a typo or a renamed value
    cannot hide in SQL text."""
    names = {member.value for enum in _enums().values() for member in enum} | _ROW_CODES
    strays = []
    for package in ("domain", "schema", "api", "authz", "tenants"):
        for path in (ROOT / package).rglob("*.py"):
            for line, text in _sql_texts(path):
                strays += [f"{path.relative_to(ROOT)}:{line}: {name}" for name in _SQL_NAME.findall(text) if name not in names]
    assert not strays, strays
