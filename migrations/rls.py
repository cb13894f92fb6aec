"""Row-level security and grants, written by every migration that adds a tenant table."""
from __future__ import annotations

from alembic import op

POLICY = "tenant_id = NULLIF(current_setting('app.tenant_id', true), '')::bigint"


def app_role() -> str:
    return op.get_context().config.attributes.get("app_role", "zhengjiao_app")


def protect_tenant_table(table: str, *, append_only: bool = False, verbs: str | None = None) -> None:
    """ENABLE + FORCE RLS with a fail-closed policy; grant the serving role its verbs
    (`verbs` may name columns: "SELECT, INSERT, UPDATE (status)")."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_isolation ON {table} USING ({POLICY}) WITH CHECK ({POLICY})")
    if verbs is None:
        verbs = "SELECT, INSERT" if append_only else "SELECT, INSERT, UPDATE, DELETE"
    op.execute(f'GRANT {verbs} ON {table} TO "{app_role()}"')


def grant_platform_table(table: str, verbs: str) -> None:
    op.execute(f'GRANT {verbs} ON {table} TO "{app_role()}"')


def grant_sequences() -> None:
    """Identity sequences: the serving role draws ids (unit trees are numbered up front)."""
    op.execute(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{app_role()}"')


def recreate_enum_checks(names: tuple[str, ...]) -> None:
    """Drop and add again the named CHECK constraints made from enums (tenants/kinds.py
    `enum_check`), as the models define them now: a closed list grew."""
    from sqlalchemy.schema import AddConstraint

    from migrations.metadata import enum_checks

    for table, constraint in enum_checks():
        if constraint.name in names:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {constraint.name}")
            op.execute(AddConstraint(constraint))
