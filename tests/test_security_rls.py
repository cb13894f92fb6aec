"""The three tenancy locks, checked in the database itself."""
from __future__ import annotations

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from api.database import connection_options

TENANT_TABLES_SQL = """
SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind = 'r'
   AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
"""


@pytest.fixture(scope="module")
def owner(urls):
    with psycopg.connect(urls.owner, autocommit=True) as conn:
        yield conn


@pytest.fixture
def app_conn(urls, settings):
    with psycopg.connect(urls.app, options=connection_options(settings)) as conn:
        yield conn


def test_every_tenant_table_has_forced_rls_and_a_policy(owner):
    rows = owner.execute(TENANT_TABLES_SQL).fetchall()
    assert {r[0] for r in rows} >= {"unit", "department", "app_user", "person", "audit_log", "mutation_receipt"}
    for name, enabled, forced, policies in rows:
        assert enabled and forced and policies >= 1, f"{name}: rls={enabled} force={forced} policies={policies}"


def test_tenant_id_leads_every_key(owner):
    """tenant_id first in primary keys, unique constraints and foreign keys (Citus-ready)."""
    rows = owner.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, c.contype,
               (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = c.conkey[1])
          FROM pg_constraint c
          JOIN pg_attribute t ON t.attrelid = c.conrelid AND t.attname = 'tenant_id'
         WHERE c.contype IN ('p', 'u', 'f') AND c.connamespace = 'public'::regnamespace
        """
    ).fetchall()
    assert rows
    for table, name, kind, first in rows:
        if kind == "f" and first == "tenant_id":
            continue
        assert first == "tenant_id", f"{table}.{name} ({kind}) starts with {first}"


def test_serving_role_cannot_bypass_rls(owner, settings):
    row = owner.execute(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", (settings.app_role,)
    ).fetchone()
    assert row == (False, False)
    owned = owner.execute(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = %s", (settings.app_role,)
    ).fetchone()[0]
    assert owned == 0


def test_no_tenant_set_sees_nothing(app_conn, county_a):
    assert app_conn.execute("SELECT current_user").fetchone()[0] != "postgres"
    for table in ("unit", "department", "app_user", "person", "audit_log"):
        assert app_conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table


def test_wrong_tenant_cannot_write(app_conn, county_a, owner):
    tenant_a = owner.execute("SELECT id FROM tenant WHERE code = %s", (county_a.code,)).fetchone()[0]
    app_conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_a + 10_000),))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_conn.execute(
            "INSERT INTO department (tenant_id, code, name) VALUES (%s, 'HEALTH', '卫健委')", (tenant_a,)
        )


def test_pooled_connection_forgets_the_previous_tenant(urls, settings, county_a, county_b, owner):
    ids = dict(owner.execute("SELECT code, id FROM tenant WHERE code = ANY(%s)", ([county_a.code, county_b.code],)).fetchall())
    with ConnectionPool(urls.app, min_size=1, max_size=1, kwargs={"options": connection_options(settings)}) as pool:
        with pool.connection() as conn:
            pid_a = conn.info.backend_pid
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(ids[county_a.code]),))
            assert conn.execute("SELECT count(*) FROM unit").fetchone()[0] > 0
            codes = {r[0][:6] for r in conn.execute("SELECT code FROM unit")}
            assert codes == {county_a.code}
        with pool.connection() as conn:
            assert conn.info.backend_pid == pid_a  # the very same server connection
            assert conn.execute("SELECT count(*) FROM unit").fetchone()[0] == 0  # setting did not leak
            conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(ids[county_b.code]),))
            codes = {r[0][:6] for r in conn.execute("SELECT code FROM unit")}
            assert codes == {county_b.code}


def test_audit_log_is_append_only(app_conn, county_a, owner):
    tenant_a = owner.execute("SELECT id FROM tenant WHERE code = %s", (county_a.code,)).fetchone()[0]
    app_conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant_a),))
    assert app_conn.execute("SELECT count(*) FROM audit_log").fetchone()[0] > 0
    for statement in ("UPDATE audit_log SET outcome = 'ok'", "DELETE FROM audit_log"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app_conn.execute(statement)
        app_conn.rollback()
        app_conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant_a),))


def test_the_server_cannot_delete_enrolments_or_rewrite_payments(app_conn, county_a, owner):
    """Payments carry no key to their enrolment: enrolments stay (no DELETE for the
    serving role) and payments are only ever inserted, their money columns never changed."""
    tenant_a = owner.execute("SELECT id FROM tenant WHERE code = %s", (county_a.code,)).fetchone()[0]
    for statement in ("DELETE FROM enrollment", "DELETE FROM payment", "UPDATE payment SET amount = 1", "UPDATE payment SET person_id = 1"):
        app_conn.execute("SELECT set_config('app.tenant_id', %s, false)", (str(tenant_a),))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app_conn.execute(statement)
        app_conn.rollback()
