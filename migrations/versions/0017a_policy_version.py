"""the online path: a version of each county's year policies

`tenant.policy_version` moves with every `save_policy` (the one writer of year_policy,
subsidy_category and assessment_rules). It is read with the caller on every request,
so a process may keep a county's policies in memory and know at once, from the version,
when another process has changed them (schema/context.py `policy`).

Revision ID: 0017a
Revises: 0016c
"""
import sqlalchemy as sa
from alembic import op

revision = "0017a"
down_revision = "0016c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tenant", sa.Column("policy_version", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    op.drop_column("tenant", "policy_version")
