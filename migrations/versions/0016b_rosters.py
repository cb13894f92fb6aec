"""data matching: rosters from other departments and their findings

- roster_batch: one version of a roster (EMPLOYEE_INSURANCE, DECEASED, RESIDENT_ELSEWHERE)
  of a year; the newest of a kind and year is in force.
- roster_finding: a listed person registered in the county, in one version, with the life
  event (person_event) the version recorded.
- row_report_kind_check: the ROSTER kind.

Revision ID: 0016b
Revises: 0015c
"""
import sqlalchemy as sa
from alembic import op

from migrations.rls import grant_sequences, protect_tenant_table, recreate_enum_checks

revision = "0016b"
down_revision = "0015c"
branch_labels = None
depends_on = None

_ENUM_CHECKS = ("roster_batch_kind_check", "roster_finding_kind_check", "row_report_kind_check")



def upgrade() -> None:
    op.create_table(
        "roster_batch",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("checksum", sa.Text(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("rows_accepted", sa.Integer(), nullable=False),
        sa.Column("rows_rejected", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.Text(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenant.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "kind", "year", "version"),
    )
    op.create_table(
        "roster_finding",
        sa.Column("tenant_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=True),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "batch_id"], ["roster_batch.tenant_id", "roster_batch.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "person_id"], ["person.tenant_id", "person.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "batch_id", "person_id"),
    )
    op.create_index("roster_finding_person", "roster_finding", ["tenant_id", "person_id"])
    # A version is written once: findings are never changed, only superseded by the next.
    protect_tenant_table("roster_batch", append_only=True)
    protect_tenant_table("roster_finding", append_only=True)
    grant_sequences()
    recreate_enum_checks(_ENUM_CHECKS)


def downgrade() -> None:
    op.drop_table("roster_finding")
    op.drop_table("roster_batch")
