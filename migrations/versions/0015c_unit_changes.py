"""unit changes (day two): retired units, merges that move payments and cash books

- `unit.retired` (+ when, + into which unit it was merged): a merged or emptied
  division is kept, never deleted, so old payments, refunds, snapshots and the audit
  trail still resolve it.
- A merge moves the persons' payments with them (their `unit_id`/`unit_path` are the
  scope copy of the person's unit) and the collectors' remittances (`unit_path`, the
  collector's scope): the serving role may now UPDATE those columns, and only those.

Revision ID: 0015c
Revises: 0015b
"""
import sqlalchemy as sa
from alembic import op

from migrations.rls import app_role

revision = "0015c"
down_revision = "0015b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("unit", sa.Column("retired", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("unit", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("unit", sa.Column("merged_into_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        "unit_merged_into_fkey", "unit", "unit", ["tenant_id", "merged_into_id"], ["tenant_id", "id"]
    )
    op.create_check_constraint("unit_merged_retired_check", "unit", "retired OR merged_into_id IS NULL")
    op.execute(f'GRANT UPDATE (unit_id, unit_path) ON payment TO "{app_role()}"')
    op.execute(f'GRANT UPDATE (unit_path) ON remittance TO "{app_role()}"')


def downgrade() -> None:
    op.execute(f'REVOKE UPDATE (unit_path) ON remittance FROM "{app_role()}"')
    op.execute(f'REVOKE UPDATE (unit_id, unit_path) ON payment FROM "{app_role()}"')
    op.drop_constraint("unit_merged_retired_check", "unit", type_="check")
    op.drop_constraint("unit_merged_into_fkey", "unit", type_="foreignkey")
    op.drop_column("unit", "merged_into_id")
    op.drop_column("unit", "retired_at")
    op.drop_column("unit", "retired")
