"""readiness: the serving role may read which migration the database is at

`GET /readyz` answers 200 only when the database is reachable *and* migrated to the
head this build carries; it asks on the serving connection, which owns nothing. The
table holds one revision id and nothing of any county, so a read grant is all it takes.

Revision ID: 0017b
Revises: 0017a
"""
from alembic import op

from migrations.rls import grant_platform_table

revision = "0017b"
down_revision = "0017a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    grant_platform_table("alembic_version", "SELECT")


def downgrade() -> None:
    from migrations.rls import app_role

    op.execute(f'REVOKE SELECT ON alembic_version FROM "{app_role()}"')
