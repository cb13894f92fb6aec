"""year_policy.channel_rules: which payment channels are open to which recorders, and when

A list of {channels, recordedBy, from, until} as in the policy files (灞桥: cash only at
schools; 内乡: the field channels until the concentrated period ends). The empty list,
every existing policy's value, opens every channel as before. The serving role's grant
on year_policy covers the new column.

Revision ID: 0013c
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013c"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("year_policy", sa.Column("channel_rules", JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")))


def downgrade() -> None:
    op.drop_column("year_policy", "channel_rules")
