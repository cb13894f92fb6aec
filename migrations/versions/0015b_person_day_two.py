"""day two of persons: life events, registration history, the EXCUSED status

- person_event: a life event (DECEASED, JOINED_EMPLOYEE_INSURANCE, MOVED_OUT_OF_REGION,
  ENLISTED) with its date and note; withdrawn, never deleted (the serving role may
  update only the withdrawal columns); one of a kind in force per person.
- person_change: registration history (name, phone, idNumber, unit), append-only.
- EXCUSED: enrollment's status check, and a tally column (enrollment_tally,
  progress_snapshot): a year a life event excuses from enrolling.

Revision ID: 0015b
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

from migrations.rls import app_role, grant_sequences, protect_tenant_table, recreate_enum_checks

revision = "0015b"
down_revision = "0015a"
branch_labels = None
depends_on = None

_ENUM_CHECKS = ("enrollment_status_check", "person_event_kind_check")



def _events() -> None:
    op.create_table(
        "person_event",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("withdrawn_by", sa.Text(), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("(withdrawn_at IS NULL) = (withdrawn_by IS NULL)", name="person_event_withdrawal_check"),
        sa.ForeignKeyConstraint(["tenant_id", "person_id"], ["person.tenant_id", "person.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index(
        "person_event_in_force", "person_event", ["tenant_id", "person_id", "kind"], unique=True,
        postgresql_where=sa.text("withdrawn_at IS NULL"),
    )
    protect_tenant_table("person_event", verbs="SELECT, INSERT, UPDATE (withdrawn_by, withdrawn_at)")


def _changes() -> None:
    op.create_table(
        "person_change",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("field", sa.Text(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("changed_by", sa.Text(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "person_id"], ["person.tenant_id", "person.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("person_change_person", "person_change", ["tenant_id", "person_id", "id"])
    protect_tenant_table("person_change", append_only=True)


def upgrade() -> None:
    _events()
    _changes()
    grant_sequences()
    op.add_column("enrollment_tally", sa.Column("excused", sa.Integer(), server_default="0", nullable=False))
    op.add_column("progress_snapshot", sa.Column("excused", sa.Integer(), server_default="0", nullable=False))
    recreate_enum_checks(_ENUM_CHECKS)


def downgrade() -> None:
    op.drop_column("progress_snapshot", "excused")
    op.drop_column("enrollment_tally", "excused")
    for table in ("person_change", "person_event"):
        op.execute(f'REVOKE ALL ON {table} FROM "{app_role()}"')
        op.drop_table(table)
    # (enrollment_status_check keeps the wider list: rows may use it)
