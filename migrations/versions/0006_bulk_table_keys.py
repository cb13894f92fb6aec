"""bulk tables: drop the direct key to `tenant` where a composite key already leads there

person → unit, enrollment → person, subsidy_membership → subsidy_category and
subsidy_list_entry → subsidy_batch each carry `tenant_id` in a composite key to a row
that belongs to the tenant, so the single-column key to `tenant` only cost one more
index probe per row: 600,000 per year policy, 100,000 per list upload.

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("person", "enrollment", "subsidy_membership", "subsidy_list_entry")


def upgrade() -> None:
    for table in TABLES:
        op.drop_constraint(f"{table}_tenant_id_fkey", table, type_="foreignkey")


def downgrade() -> None:
    for table in TABLES:
        op.create_foreign_key(f"{table}_tenant_id_fkey", table, "tenant", ["tenant_id"], ["id"])
