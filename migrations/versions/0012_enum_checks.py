"""CHECK constraints of closed lists, derived from their enums

Until now each CHECK constraint that keeps a text column inside a closed list (channels,
statuses, reasons, roles …) was typed out by hand in the migration that made its table.
From here they are written from the one `StrEnum` of each list (tenants/kinds.py
`enum_check`): this migration re-creates every one of them from the enums, and
tests/test_enum_checks.py fails when the database and an enum part ways — then a new
migration like this one brings them together again.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.schema import AddConstraint

from migrations.metadata import enum_checks

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The enums are today's code: a column a later migration adds gets its check there.
    existing = {
        (table, column) for table, column in op.get_bind().execute(
            sa.text("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'")
        )
    }
    for table, constraint in enum_checks():
        if (table, constraint.info["column"]) not in existing:
            continue
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {constraint.name}")
        op.execute(AddConstraint(constraint))


def downgrade() -> None:
    pass  # the same constraints, written by hand: nothing to undo
