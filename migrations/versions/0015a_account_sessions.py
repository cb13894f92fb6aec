"""account sessions: deactivation, password resets and the last login of county users

`session_version` is carried in every token (`sv`) and compared when the caller is
loaded: bumping it refuses every token issued before, at once. `must_change_password`
is set by an administrator's reset and cleared by the user's own change. app_user is
protected already (0001); no new table, no new grant.

Revision ID: 0015a
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0015a"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("app_user", sa.Column("session_version", sa.Integer(), server_default="0", nullable=False))
    op.add_column("app_user", sa.Column("must_change_password", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("app_user", sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint("app_user_session_version_check", "app_user", "session_version >= 0")


def downgrade() -> None:
    op.drop_constraint("app_user_session_version_check", "app_user")
    op.drop_column("app_user", "last_login_at")
    op.drop_column("app_user", "must_change_password")
    op.drop_column("app_user", "session_version")
