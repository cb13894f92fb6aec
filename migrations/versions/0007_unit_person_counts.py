"""unit person counts: `persons` per unit, so list totals never count a county's persons

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("unit", sa.Column("persons", sa.Integer(), server_default="0", nullable=False))
    # The owner is under FORCE RLS too: count tenant by tenant with the tenant bound.
    op.execute(
        """
        DO $$
        DECLARE t bigint;
        BEGIN
          FOR t IN SELECT id FROM tenant LOOP
            PERFORM set_config('app.tenant_id', t::text, true);
            UPDATE unit u SET persons = c.n
              FROM (SELECT unit_id, count(*) AS n FROM person WHERE tenant_id = t GROUP BY unit_id) c
             WHERE u.tenant_id = t AND u.id = c.unit_id;
          END LOOP;
          PERFORM set_config('app.tenant_id', '', true);
        END $$
        """
    )


def downgrade() -> None:
    op.drop_column("unit", "persons")
