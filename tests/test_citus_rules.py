"""What distributing every tenant table on `tenant_id` with Citus needs, checked in the
schema and the code (docs/scaling.md). Keys are checked in tests/test_security_rls.py."""
from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent

# Triggers are the one rule the schema breaks today, on purpose and listed here: the
# cross-county duplicate check (migrations 0016a, 0016c) writes fingerprints from
# triggers. docs/scaling.md says what replaces them before the tables are distributed.
KNOWN_TRIGGERS = {
    ("enrollment", "enrollment_match_inserted"),
    ("enrollment", "enrollment_match_updated"),
    ("enrollment", "enrollment_match_deleted"),
    ("person", "person_match_renumbered"),
    ("unit", "unit_tree_version"),
    ("quota", "quota_tree_version"),
}

# Tables without tenant_id: reference tables (copied to every node) or the platform's own.
REFERENCE_TABLES = {"tenant", "platform_operator", "login_throttle", "match_key", "alembic_version"}


@pytest.fixture(scope="module")
def owner(urls):
    with psycopg.connect(urls.owner, autocommit=True) as conn:
        yield conn


def test_every_unique_index_of_a_tenant_table_holds_tenant_id(owner):
    rows = owner.execute(
        """SELECT c.relname, ic.relname FROM pg_index i
             JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
            WHERE i.indisunique AND c.relnamespace = 'public'::regnamespace
              AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id')
              AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                                AND a.attnum = ANY(i.indkey))"""
    ).fetchall()
    assert rows == []


def test_foreign_keys_stay_inside_a_tenant_or_point_at_reference_tables(owner):
    rows = owner.execute(
        """SELECT c.conrelid::regclass::text, c.confrelid::regclass::text, pg_get_constraintdef(c.oid)
             FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace"""
    ).fetchall()
    assert rows
    for table, target, definition in rows:
        keys = re.match(r"FOREIGN KEY \(([^)]*)\) REFERENCES \S+\(([^)]*)\)", definition)
        assert keys, definition
        local, remote = keys.group(1).split(", "), keys.group(2).split(", ")
        if target in REFERENCE_TABLES:
            continue
        assert local[0] == remote[0] == "tenant_id", f"{table} → {target}: {definition}"


def test_only_reference_tables_lack_tenant_id(owner):
    rows = owner.execute(
        """SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
              AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id')"""
    ).fetchall()
    assert {r[0] for r in rows} <= REFERENCE_TABLES


def test_no_enum_types_and_no_triggers_but_the_listed_ones(owner):
    assert owner.execute("SELECT typname FROM pg_type WHERE typtype = 'e'").fetchall() == []
    triggers = owner.execute(
        "SELECT tgrelid::regclass::text, tgname FROM pg_trigger WHERE NOT tgisinternal"
    ).fetchall()
    assert set(triggers) == KNOWN_TRIGGERS


def test_no_recursive_query_in_the_code():
    """The unit tree is a materialised path: subtrees are prefix ranges, never recursion."""
    found = [
        str(path.relative_to(ROOT))
        for package in ("api", "authz", "domain", "schema", "tenants", "migrations")
        for path in (ROOT / package).rglob("*.py")
        if re.search(r"with\s+recursive", path.read_text(encoding="utf-8"), re.IGNORECASE)
    ]
    assert found == []
