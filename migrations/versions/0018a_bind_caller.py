"""the online path: bind the tenant and load the caller in one statement

Every request bound its transaction to the caller's county (`set_config`) and then read
the caller: two round trips before any work. `bind_caller` does both in one. It runs as
the caller (SECURITY INVOKER): the read of the account is filtered by row-level security
under the county it has just bound, like any other read of the request.

Revision ID: 0018a
Revises: 0017b
"""
from alembic import op

from migrations.rls import app_role

revision = "0018a"
down_revision = "0017b"
branch_labels = None
depends_on = None

_BIND_CALLER = """
CREATE FUNCTION bind_caller(p_tenant bigint, p_user bigint, p_session int)
RETURNS TABLE (id bigint, username text, role text, department text, scope_unit_id bigint, scope_path text,
               scope_kind text, tenant_code text, authz_version int, policy_version int,
               must_change_password boolean, session_version int)
LANGUAGE plpgsql AS $$
BEGIN
    -- Transaction-local, as tenants/session.py binds it: never carried to the next request.
    PERFORM set_config('app.tenant_id', p_tenant::text, true);
    RETURN QUERY
    SELECT u.id, u.username, u.role, d.code, u.scope_unit_id, coalesce(s.path, '/'), s.kind,
           t.code, t.authz_version, t.policy_version, u.must_change_password, u.session_version
      FROM public.app_user u
      JOIN public.tenant t ON t.id = u.tenant_id
      LEFT JOIN public.department d ON d.tenant_id = u.tenant_id AND d.id = u.department_id
      LEFT JOIN public.unit s ON s.tenant_id = u.tenant_id AND s.id = u.scope_unit_id
     WHERE u.tenant_id = p_tenant AND u.id = p_user AND u.active
       AND (p_session IS NULL OR u.session_version = p_session);
END $$
"""


def upgrade() -> None:
    op.execute(_BIND_CALLER)
    op.execute("REVOKE ALL ON FUNCTION bind_caller(bigint, bigint, int) FROM PUBLIC")
    op.execute(f'GRANT EXECUTE ON FUNCTION bind_caller(bigint, bigint, int) TO "{app_role()}"')


def downgrade() -> None:
    op.execute("DROP FUNCTION bind_caller(bigint, bigint, int)")
