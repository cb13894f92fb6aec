"""login_throttle: failed-login counters per account and per client address

A platform table (no tenant_id, no row-level security): a client address belongs to no
county, and an operator's account neither. Rows are keyed by an HMAC of the account or
address under the application secret (`authz/throttle_store.py`), so the table holds
no username and no IP address. The serving role reads and writes it: counting a
failure is an INSERT … ON CONFLICT DO UPDATE, a success or an expired lock a DELETE.

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

from migrations.rls import grant_platform_table

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("subject IN ('account', 'address')", name="login_throttle_subject_check"),
        sa.CheckConstraint("failures >= 0", name="login_throttle_failures_check"),
        sa.PrimaryKeyConstraint("key"),
    )
    grant_platform_table("login_throttle", "SELECT, INSERT, UPDATE, DELETE")


def downgrade() -> None:
    op.drop_table("login_throttle")
